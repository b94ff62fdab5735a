#include "base/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "image/layer.h"

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

/* libarchive pulls the compressed layer through the blob store. */
struct pull {
	struct blob_stream *s;
	struct ek_error *err;
	uint8_t buf[1 << 16];
	int failed;
	bool at_eof;
};

static la_ssize_t pull_read(struct archive *a, void *ctx, const void **out)
{
	struct pull *p = ctx;
	size_t got;

	(void)a;
	if (blob_read(p->s, p->buf, sizeof(p->buf), &got, p->err)) {
		p->failed = 1;
		return -1;
	}
	*out = p->buf;
	p->at_eof = got == 0;
	return (la_ssize_t)got;
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

/* ".wh.NAME" and ".wh..wh..opq": remember, do not add. 1 if it was one. */
static int whiteout(struct apply *a, const char *path, struct ek_error *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	int r;

	if (strncmp(base, ".wh.", 4))
		return 0;
	if (!strcmp(base, ".wh..wh..opq"))
		r = wo_add(&a->wo, path, dlen, "", "/");
	else if (base[4])
		r = wo_add(&a->wo, path, dlen, base + 4, "");
	else
		return LFAIL(EK_EFORMAT, "'%s': bad whiteout '%s'", a->layer, path);
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
		if (ar_r < ARCHIVE_WARN || off < 0 || (uint64_t)off < done ||
		    (uint64_t)off > (uint64_t)size || n > (uint64_t)size - (uint64_t)off)
			return LFAIL(EK_EFORMAT, "'%s': '%s': %s", a->layer, e->path,
				     ar_r < ARCHIVE_WARN ? archive_error_string(ar)
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

static int read_entries(struct apply *a, struct archive *ar, struct pull *p,
			struct ek_error *err)
{
	struct archive_entry *ae;
	int r;

	while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		int ret = one_entry(a, ar, ae, err);

		if (ret)
			return ret;
	}
	if (r == ARCHIVE_EOF)
		return 0;
	if (p->failed)
		return err->code;
	/* Debian's umoci 0.4.7 ends a layer right after the last file's data,
	 * without the padding or the end-of-archive blocks, and Go's tar
	 * reader accepts that. So do we, but only there: the last entry is
	 * complete and the input simply ends. */
	if (a->data_complete && p->at_eof && archive_error_string(ar) &&
	    !strncmp(archive_error_string(ar), "Truncated input file", 20))
		return 0;
	return LFAIL(EK_EFORMAT, "'%s': %s", a->layer, archive_error_string(ar));
}

int layer_apply(struct tree *t, struct stage *st, struct blobstore *bs,
		const struct oci_layer *l, struct layer_opts *o,
		struct ek_error *err)
{
	struct apply a = { .t = t, .st = st, .o = o, .layer = l->name };
	struct archive *ar = NULL;
	struct pull *p = calloc(1, sizeof(*p));
	int r = p ? blob_verify(bs, l->name, l->digest, l->size, err)
		  : LFAIL(EK_ENOMEM, "out of memory");

	a.first_seq = t->next_seq;
	if (r == 0) {
		p->err = err;
		r = blob_open(bs, l->name, &p->s, NULL, err);
	}
	if (r == 0 && !(ar = archive_read_new()))
		r = LFAIL(EK_ENOMEM, "out of memory");
	if (r == 0) {
		archive_read_support_format_tar(ar);
		archive_read_support_filter_gzip(ar);
		archive_read_support_filter_zstd(ar);
		archive_read_support_filter_none(ar);
		if (archive_read_open(ar, p, NULL, pull_read, NULL) != ARCHIVE_OK)
			r = p->failed ? err->code
				      : LFAIL(EK_EFORMAT, "'%s': %s", l->name,
					      archive_error_string(ar));
	}
	if (r == 0)
		r = read_entries(&a, ar, p, err);
	if (r == 0) {
		apply_whiteouts(&a);
		r = check_parents(&a, err);
	}
	if (ar)
		archive_read_free(ar);
	if (p)
		blob_close(p->s);
	free(p);
	for (size_t i = 0; i < a.wo.n; i++)
		free(a.wo.path[i]);
	free(a.wo.path);
	return r;
}
