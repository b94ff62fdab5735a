#include "base/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "image/layer.h"
#include "image/paxcheck.h"

int stage_open(struct stage *st, const char *dir, struct ek_error *err)
{
	int fd = io_tmpfile(dir ? dir : "/tmp", err);

	st->size = 0;
	if (fd < 0)
		return fd;
	if (fd < 3) { /* entries use 0 for "no stage" */
		int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		close(fd);
		fd = high;
	}
	st->fd = fd;
	return fd < 0 ? ek_fail_errno(err, EK_EIO, errno, "dup") : 0;
}

void stage_close(struct stage *st)
{
	if (st->fd > 0)
		close(st->fd);
	st->fd = -1;
}

/* The tar reader pulls the plain tar: straight from the source, or for
 * gzip and zstd from a second libarchive reader (format "raw") that
 * decompresses it. Either way the plain bytes pass through here, where
 * paxcheck keeps what it needs. The source's first block is read before
 * anything is opened (to check the magic bytes against the media type)
 * and handed out as the first block. */
struct pull {
	const struct layer_src *src;
	struct ek_error *err;
	struct archive *inner;  /* the decompressor, or NULL */
	bool inner_eof;
	struct paxcheck pc;
	uint8_t raw[1 << 16];   /* from the source */
	uint8_t plain[1 << 16]; /* from the decompressor */
	size_t primed;          /* bytes of raw read but not yet handed out */
	int failed;
	bool at_eof;            /* the plain stream has ended */
};

static la_ssize_t src_read(struct archive *a, void *ctx, const void **out)
{
	struct pull *p = ctx;
	size_t got;

	(void)a;
	*out = p->raw;
	if (p->primed) {
		got = p->primed;
		p->primed = 0;
		return (la_ssize_t)got;
	}
	if (p->src->read(p->src->ctx, p->raw, sizeof(p->raw), &got, p->err)) {
		p->failed = 1;
		return -1;
	}
	return (la_ssize_t)got;
}

static la_ssize_t plain_read(struct archive *a, void *ctx, const void **out)
{
	struct pull *p = ctx;
	la_ssize_t n;

	if (!p->inner) {
		n = src_read(a, ctx, out);
	} else if (p->inner_eof) {
		n = 0;
	} else {
		*out = p->plain;
		n = archive_read_data(p->inner, p->plain, sizeof(p->plain));
		if (n < 0 && !p->failed) {
			ek_fail(p->err, EK_EFORMAT, "'%s': %s", p->src->name,
				archive_error_string(p->inner)
					? archive_error_string(p->inner)
					: "cannot decompress");
			p->failed = 1;
		}
	}
	if (n < 0)
		return -1;
	p->at_eof = n == 0;
	paxcheck_feed(&p->pc, *out, (size_t)n);
	return n;
}

struct whiteouts {
	char **path;  /* sorted after the layer is read */
	size_t n, alloc;
};

struct apply {
	struct tree *t;
	struct stage *st;
	struct layer_opts *o;
	const char *layer;       /* for messages */
	uint64_t first_seq;      /* entries from here on are this layer's */
	bool data_complete;      /* the last entry's data was all there */
	struct whiteouts wo;     /* ".wh.x" removes x; opaque dirs end in "/" */
};

#define LFAIL(code, ...) ek_fail(err, code, __VA_ARGS__)

static const char *ar_error(struct archive *ar);

static int wo_add(struct whiteouts *w, const char *dir, size_t dlen,
		  const char *name, const char *suffix)
{
	char *p;

	if (w->n == w->alloc) {
		size_t na = w->alloc ? 2 * w->alloc : 16;
		char **np = realloc(w->path, na * sizeof(*np));

		if (!np)
			return -1;
		w->path = np;
		w->alloc = na;
	}
	if (asprintf(&p, "%.*s%s%s%s", (int)dlen, dir, dlen && *name ? "/" : "",
		     name, suffix) < 0)
		return -1;
	w->path[w->n++] = p;
	return 0;
}

/* Normalise a tar name: drop leading "/" and "./", "//" and a trailing
 * "/"; refuse "..". An empty result (the root itself) gives *out = NULL. */
static int norm_name(struct apply *a, const char *in, char **out,
		     struct ek_error *err)
{
	int r;

	*out = NULL;
	if (!in)
		return LFAIL(EK_EFORMAT, "'%s': an entry without a name", a->layer);
	if (strspn(in, "./") == strlen(in) && !strstr(in, ".."))
		return 0; /* ".", "./", "/": the root */
	r = tree_path_normalise(in, out, err);
	if (r)
		ek_error_prefix(err, "'%s'", a->layer);
	return r;
}

/* ".wh.NAME" and ".wh..wh..opq": remember, do not add. 1 if it was one.
 * The image spec's layer.md: a whiteout is ".wh." and the base name of
 * what it removes, and names starting ".wh..wh." are reserved, only the
 * opaque marker being defined. So ".wh.", ".wh..", ".wh..." (which would
 * name the folder holding them or its parent) and any other ".wh..wh.X"
 * are not whiteouts of anything: refused, not ignored, since a tool that
 * reads them otherwise sees another tree. */
static int whiteout(struct apply *a, const char *path, struct ek_error *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *victim = base + 4;
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	int r;

	if (strncmp(base, ".wh.", 4))
		return 0;
	if (!strcmp(base, ".wh..wh..opq"))
		r = wo_add(&a->wo, path, dlen, "", "/");
	else if (*victim && strcmp(victim, ".") && strcmp(victim, "..") &&
		 strncmp(victim, ".wh.", 4))
		r = wo_add(&a->wo, path, dlen, victim, "");
	else
		return LFAIL(EK_EFORMAT, "'%s': bad whiteout '%s' (the image "
			     "spec defines \".wh.NAME\" and \".wh..wh..opq\" "
			     "only)", a->layer, path);
	return r ? LFAIL(EK_ENOMEM, "out of memory") : 1;
}

/* The newest entry with this path (a hard link's target). */
static struct tree_entry *newest(struct tree *t, const char *path)
{
	for (size_t i = t->n; i-- > 0;)
		if (!strcmp(t->e[i].path, path))
			return &t->e[i];
	return NULL;
}

static int hard_link(struct apply *a, struct archive_entry *ae,
		     struct tree_entry *e, struct ek_error *err)
{
	struct tree_entry *target;
	char *tp;
	int r = norm_name(a, archive_entry_hardlink(ae), &tp, err);

	if (r)
		return r;
	target = tp ? newest(a->t, tp) : NULL;
	if (!target || target->type != TREE_REG) {
		r = LFAIL(EK_EFORMAT, "'%s': '%s' is a hard link to '%s', which "
			  "is not a file of the image", a->layer, e->path,
			  tp ? tp : "/");
		free(tp);
		return r;
	}
	free(tp);
	if (!target->link_group)
		target->link_group = tree_new_group(a->t);
	/* one inode: every name has the target's attributes, whatever the
	 * link's own header says (umoci unpacks it so too) */
	e->mode = target->mode;
	e->uid = target->uid;
	e->gid = target->gid;
	e->mtime = target->mtime;
	e->type = TREE_REG;
	e->link_group = target->link_group;
	e->size = target->size;
	e->stage_fd = target->stage_fd;
	e->stage_off = target->stage_off;
	return 0;
}

static int stage_write(struct apply *a, const void *buf, size_t n,
		       struct ek_error *err)
{
	if (io_pwrite_full(a->st->fd, buf, n, a->st->size) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "stage file");
	a->st->size += n;
	return 0;
}

/* A sparse file's hole: left a hole in the stage file too (the next
 * write lands past it; a hole at the end is made by extending the file),
 * so a sparse 1 GiB file costs no 1 GiB of disk or writes. */
static void stage_hole(struct apply *a, uint64_t n, bool *pending)
{
	a->st->size += n;
	*pending = n > 0 || *pending;
}

/* Copy a regular file's data to the end of the stage file. Blocks are
 * taken one at a time (archive_read_data would ask for more than the
 * declared size, see read_entries); holes of sparse files stay holes. */
static int stage_data(struct apply *a, struct archive *ar,
		      struct tree_entry *e, int64_t size, struct ek_error *err)
{
	uint64_t done = 0;
	bool hole = false;   /* the stage file ends before st->size */
	int r = 0;

	if (size < 0 || (uint64_t)size > TREE_FILE_MAX)
		return LFAIL(EK_ELIMIT, "'%s': '%s' is 4 GiB or larger, which "
			     "newc cannot hold", a->layer, e->path);
	e->stage_fd = a->st->fd;
	e->stage_off = a->st->size;
	e->size = (uint64_t)size;
	while (r == 0 && done < (uint64_t)size) {
		const void *buf;
		size_t n;
		la_int64_t off;
		int ar_r = archive_read_data_block(ar, &buf, &n, &off);

		if (ar_r == ARCHIVE_EOF)
			break;
		/* a warning here is data libarchive could not read as the
		 * header said: an error like any other */
		if (ar_r != ARCHIVE_OK || off < 0 || (uint64_t)off < done ||
		    (uint64_t)off > (uint64_t)size || n > (uint64_t)size - (uint64_t)off)
			return LFAIL(EK_EFORMAT, "'%s': '%s': %s", a->layer, e->path,
				     ar_r != ARCHIVE_OK ? ar_error(ar)
							: "data outside the file");
		stage_hole(a, (uint64_t)off - done, &hole);
		if (n > 0) {
			r = stage_write(a, buf, n, err);
			hole = false;
		}
		done = (uint64_t)off + n;
	}
	if (r == 0 && done < (uint64_t)size)
		stage_hole(a, (uint64_t)size - done, &hole); /* trailing hole */
	if (r == 0 && hole && ftruncate(a->st->fd, (off_t)a->st->size) < 0)
		r = ek_fail_errno(err, EK_EIO, errno, "stage file");
	if (r)
		return r;
	a->data_complete = true;
	return 0;
}

static int set_kind(struct apply *a, struct archive *ar,
		    struct archive_entry *ae, struct tree_entry *e,
		    struct ek_error *err)
{
	if (archive_entry_hardlink(ae))
		return hard_link(a, ae, e, err);
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		e->type = TREE_REG;
		return stage_data(a, ar, e, archive_entry_size(ae), err);
	case AE_IFDIR: e->type = TREE_DIR; return 0;
	case AE_IFIFO: e->type = TREE_FIFO; return 0;
	case AE_IFCHR: e->type = TREE_CHR; break;
	case AE_IFBLK: e->type = TREE_BLK; break;
	case AE_IFLNK:
		e->type = TREE_LNK;
		e->link = strdup(archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "");
		return e->link ? 0 : LFAIL(EK_ENOMEM, "out of memory");
	default:
		return LFAIL(EK_EFORMAT, "'%s': '%s' has a type a ramdisk cannot "
			     "hold", a->layer, e->path);
	}
	e->rdev_major = (uint32_t)archive_entry_rdevmajor(ae);
	e->rdev_minor = (uint32_t)archive_entry_rdevminor(ae);
	return 0;
}

static int one_entry(struct apply *a, struct archive *ar,
		     struct archive_entry *ae, struct ek_error *err)
{
	struct tree_entry e;
	int r;

	memset(&e, 0, sizeof(e));
	a->data_complete = false;
	r = norm_name(a, archive_entry_pathname(ae), &e.path, err);
	if (r || !e.path)
		return r;
	r = whiteout(a, e.path, err);
	if (r) {
		free(e.path);
		return r < 0 ? r : 0;
	}
	if (archive_entry_uid(ae) < 0 || archive_entry_uid(ae) > UINT32_MAX ||
	    archive_entry_gid(ae) < 0 || archive_entry_gid(ae) > UINT32_MAX)
		r = LFAIL(EK_EFORMAT, "'%s': '%s': uid or gid out of range",
			  a->layer, e.path);
	e.mode = archive_entry_perm(ae) & 07777;
	e.uid = (uint32_t)archive_entry_uid(ae);
	e.gid = (uint32_t)archive_entry_gid(ae);
	e.mtime = a->o->keep_mtimes ? archive_entry_mtime(ae) : a->o->mtime;
	if (archive_entry_xattr_count(ae) > 0 &&
	    a->o->xattr_files < ARRAY_SIZE(a->o->xattr_first))
		snprintf(a->o->xattr_first[a->o->xattr_files],
			 sizeof(a->o->xattr_first[0]), "/%s", e.path);
	if (archive_entry_xattr_count(ae) > 0)
		a->o->xattr_files++;
	if (r == 0)
		r = set_kind(a, ar, ae, &e, err);
	if (r == 0)
		r = tree_add(a->t, &e, err);
	if (r)
		tree_entry_release(&e);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool wo_has(const struct whiteouts *w, const char *s)
{
	return bsearch(&s, w->path, w->n, sizeof(char *), cmp_str) != NULL;
}

/* Is path removed by one of the layer's whiteouts? "X" removes X and
 * everything below it; "D/" (opaque D) removes everything below D. */
static bool whited_out(const struct whiteouts *w, const char *path)
{
	char buf[TREE_PATH_MAX + 2];
	size_t len = strlen(path);

	if (wo_has(w, "/")) /* the root made opaque */
		return true;
	if (len > TREE_PATH_MAX)
		return false;
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(buf, path, i);
		buf[i] = '\0';
		if (wo_has(w, buf))
			return true;
		if (i == len)
			break;
		buf[i] = '/';
		buf[i + 1] = '\0';
		if (wo_has(w, buf))
			return true;
	}
	return false;
}

/* Remove what the whiteouts hide from the layers below this one. */
static void apply_whiteouts(struct apply *a)
{
	struct tree *t = a->t;
	size_t o = 0;

	if (!a->wo.n)
		return;
	qsort(a->wo.path, a->wo.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].seq < a->first_seq && whited_out(&a->wo, t->e[i].path)) {
			tree_entry_release(&t->e[i]);
			continue;
		}
		t->e[o++] = t->e[i];
	}
	t->n = o;
}

/* Path order, then insertion order. */
static int cmp_path_seq(const void *x, const void *y)
{
	const struct tree_entry *a = *(const struct tree_entry *const *)x;
	const struct tree_entry *b = *(const struct tree_entry *const *)y;
	int c = strcmp(a->path, b->path);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* In v (sorted by cmp_path_seq), the entry for the first plen bytes of
 * path that was the newest just before seq, or NULL. */
static const struct tree_entry *entry_before(struct tree_entry **v, size_t n,
					     const char *path, size_t plen,
					     uint64_t seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) { /* first entry not before (path, seq) */
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(v[mid]->path, path, plen);

		if (c == 0)
			c = v[mid]->path[plen] ? 1 : v[mid]->seq < seq ? -1 : 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || strncmp(v[lo - 1]->path, path, plen) ||
	    v[lo - 1]->path[plen])
		return NULL;
	return v[lo - 1];
}

/* A name of this layer must not reach through a symlink (or a file):
 * what its parent folder was when the entry came must be a folder or
 * nothing. The whole tree is searched, so a symlink of a lower layer
 * counts; whiteouts of this layer have been applied. */
static int check_parents(struct apply *a, struct ek_error *err)
{
	struct tree *t = a->t;
	struct tree_entry **v;
	int r = 0;

	if (t->n == 0 || t->e[t->n - 1].seq < a->first_seq)
		return 0;
	v = malloc(t->n * sizeof(*v));
	if (!v)
		return LFAIL(EK_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->n; i++)
		v[i] = &t->e[i];
	qsort(v, t->n, sizeof(*v), cmp_path_seq);
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		const struct tree_entry *e = &t->e[i], *up;
		const char *s;

		if (e->seq < a->first_seq)
			continue;
		for (s = strchr(e->path, '/'); s && r == 0; s = strchr(s + 1, '/')) {
			up = entry_before(v, t->n, e->path, (size_t)(s - e->path),
					  e->seq);
			if (!up || up->type == TREE_DIR)
				continue;
			if (up->type == TREE_LNK)
				r = LFAIL(EK_EUNSAFE, "'%s': '%s' reaches through "
					  "'%s', a symlink to '%s'", a->layer,
					  e->path, up->path, up->link);
			else
				r = LFAIL(EK_EFORMAT, "'%s': '%s' is below '%s', "
					  "which is not a directory", a->layer,
					  e->path, up->path);
		}
	}
	free(v);
	return r;
}

/* libarchive's message, never NULL. */
static const char *ar_error(struct archive *ar)
{
	const char *s = archive_error_string(ar);

	return s ? s : "unreadable archive";
}

/* ARCHIVE_WARN is not success: libarchive warns where it dropped part of
 * a header (a pax path it would not take, a pax value with a NUL, a name
 * it could not convert) and goes on with what is left, so the entry would
 * land at another name than the one other tools see. No warning of the
 * tar reader is harmless for a layer; all are errors. */
static int read_entries(struct apply *a, struct archive *ar, struct pull *p,
			struct ek_error *err)
{
	struct archive_entry *ae;
	int r;

	while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK) {
		int ret = paxcheck_entry(&p->pc, (uint64_t)
					 archive_read_header_position(ar),
					 a->layer, err);

		if (ret == 0)
			ret = one_entry(a, ar, ae, err);

		if (ret)
			return ret;
	}
	if (r == ARCHIVE_EOF)
		return 0;
	if (p->failed)
		return err->code;
	if (r == ARCHIVE_WARN)
		return LFAIL(EK_EFORMAT, "'%s': entry '%.200s': %s", a->layer,
			     archive_entry_pathname(ae) ? archive_entry_pathname(ae)
							: "", ar_error(ar));
	/* Debian's umoci 0.4.7 ends a layer right after the last file's data,
	 * without the padding or the end-of-archive blocks, and Go's tar
	 * reader accepts that. So do we, but only there: the last entry is
	 * complete and the input simply ends. */
	if (a->data_complete && p->at_eof && archive_error_string(ar) &&
	    !strncmp(archive_error_string(ar), "Truncated input file", 20))
		return 0;
	return LFAIL(EK_EFORMAT, "'%s': %s", a->layer, ar_error(ar));
}

enum comp { COMP_TAR, COMP_GZIP, COMP_ZSTD, COMP_ANY };
static const char *const comp_name[] = { "tar", "gzip", "zstd", "any" };

/* What the media type promises; NULL (docker save's manifest.json has
 * none) allows any of the three. */
static enum comp comp_of_type(const char *mt)
{
	size_t n = mt ? strlen(mt) : 0;

	if (!mt)
		return COMP_ANY;
	if (n > 5 && (!strcmp(mt + n - 5, "+gzip") || !strcmp(mt + n - 5, ".gzip")))
		return COMP_GZIP;
	if (n > 5 && !strcmp(mt + n - 5, "+zstd"))
		return COMP_ZSTD;
	return COMP_TAR;
}

/* What the bytes are: gzip 1f 8b, zstd 28 b5 2f fd, anything else is
 * read as a plain tar (and fails there if it is not one). */
static enum comp comp_of_bytes(const uint8_t *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return COMP_GZIP;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return COMP_ZSTD;
	return COMP_TAR;
}

/* Fill the first block and check it against the media type; libarchive
 * is then given only the filter the media type names, so a blob labelled
 * as one thing is never read as another. */
static int prime(struct pull *p, const char *mt, enum comp *c,
		 struct ek_error *err)
{
	enum comp want = comp_of_type(mt);
	size_t got;

	if (p->src->read(p->src->ctx, p->raw, sizeof(p->raw), &got, err))
		return err->code;
	p->primed = got;
	*c = comp_of_bytes(p->raw, got);
	if (want != COMP_ANY && want != *c)
		return LFAIL(EK_EFORMAT, "'%s': the media type '%s' says %s, the "
			     "data is %s", p->src->name, mt, comp_name[want],
			     comp_name[*c]);
	return 0;
}

/* The decompressor: libarchive's "raw" format with the one filter. */
static int open_inner(struct pull *p, enum comp c, struct ek_error *err)
{
	struct archive_entry *ae;
	int r;

	if (!(p->inner = archive_read_new()))
		return LFAIL(EK_ENOMEM, "out of memory");
	archive_read_support_format_raw(p->inner);
	if (c == COMP_GZIP)
		archive_read_support_filter_gzip(p->inner);
	else
		archive_read_support_filter_zstd(p->inner);
	r = archive_read_open(p->inner, p, NULL, src_read, NULL);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(p->inner, &ae);
	if (r == ARCHIVE_EOF) /* nothing at all inside */
		p->inner_eof = true;
	else if (r != ARCHIVE_OK)
		return p->failed ? err->code
				 : LFAIL(EK_EFORMAT, "'%s': %s", p->src->name,
					 ar_error(p->inner));
	return 0;
}

static int open_archive(struct pull *p, struct archive **ret,
			struct ek_error *err)
{
	struct archive *ar;
	enum comp c = COMP_TAR;
	int r = prime(p, p->src->media_type, &c, err);

	if (r == 0)
		r = paxcheck_init(&p->pc, err);
	if (r == 0 && c != COMP_TAR)
		r = open_inner(p, c, err);
	if (r)
		return r;
	if (!(ar = archive_read_new()))
		return LFAIL(EK_ENOMEM, "out of memory");
	*ret = ar;
	archive_read_support_format_tar(ar);
	archive_read_support_filter_none(ar);
	if (archive_read_open(ar, p, NULL, plain_read, NULL) == ARCHIVE_OK)
		return 0;
	return p->failed ? err->code
			 : LFAIL(EK_EFORMAT, "'%s': %s", p->src->name, ar_error(ar));
}

int layer_apply_src(struct tree *t, struct stage *st,
		    const struct layer_src *src, struct layer_opts *o,
		    struct ek_error *err)
{
	struct apply a = { .t = t, .st = st, .o = o, .layer = src->name };
	struct archive *ar = NULL;
	struct pull *p = calloc(1, sizeof(*p));
	int r = p ? 0 : LFAIL(EK_ENOMEM, "out of memory");

	/* pax names are UTF-8 and libarchive converts them to the locale's
	 * charset, warning where it cannot (any non-ASCII name under "C").
	 * Read with this thread alone in C.UTF-8 (uselocale, restored
	 * below; nothing process-wide), so the conversion is the identity
	 * and a warning means a name that is not UTF-8. */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;

	a.first_seq = t->next_seq;
	if (r == 0 && !utf8)
		r = ek_fail_errno(err, EK_ENOMEM, errno, "locale C.UTF-8");
	if (r == 0) {
		p->src = src;
		p->err = err;
		r = open_archive(p, &ar, err);
	}
	if (r == 0)
		r = read_entries(&a, ar, p, err);
	if (r == 0) {
		apply_whiteouts(&a);
		r = check_parents(&a, err);
	}
	if (ar)
		archive_read_free(ar);
	if (p && p->inner)
		archive_read_free(p->inner);
	if (p)
		paxcheck_release(&p->pc);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	free(p);
	for (size_t i = 0; i < a.wo.n; i++)
		free(a.wo.path[i]);
	free(a.wo.path);
	return r;
}

static int blob_src_read(void *ctx, void *buf, size_t cap, size_t *got,
			 struct ek_error *err)
{
	return blob_read(ctx, buf, cap, got, err);
}

int layer_apply(struct tree *t, struct stage *st, struct blobstore *bs,
		const struct oci_layer *l, struct layer_opts *o,
		struct ek_error *err)
{
	struct blob_stream *s = NULL;
	struct layer_src src = { .read = blob_src_read, .name = l->name,
				 .media_type = l->media_type };
	int r = blob_verify(bs, l->name, l->digest, l->size, err);

	if (r == 0)
		r = blob_open(bs, l->name, &s, NULL, err);
	if (r == 0) {
		src.ctx = s;
		r = layer_apply_src(t, st, &src, o, err);
	}
	blob_close(s);
	return r;
}
