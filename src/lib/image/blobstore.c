#include "base/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/io.h"
#include "image/blobstore.h"
#include "image/paxcheck.h"

/* A member of a tar archive, found by the one pass at open. */
struct member {
	char *name;      /* without a leading "./" or "/", nor a trailing "/" */
	char type;       /* 'f' file, 'l' symlink, 'h' hard link, 'o' other */
	char *link;      /* 'l' and 'h': the target, as stored */
	uint64_t off;    /* 'f': where the data is in the plain tar */
	uint64_t size;
};

struct blobstore {
	char kind;
	char *path;
	int fd;               /* tar: the plain tar (the file, or a spool) */
	struct member *m;     /* tar: sorted by name, no two alike */
	size_t n;
};

struct blob_stream {
	int fd;                 /* layout folder: owned; tar: the store's */
	bool own_fd;
	uint64_t off, left;     /* tar: the member's bytes still to read */
	char *name;
};

/* At most this many members in an archive: an image holds a few per
 * layer; this bounds the index, not the images anyone builds. */
#define MEMBERS_MAX (1u << 20)

/* Member names are compared without a leading "./" or "/". */
static const char *plain(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	return name;
}

/* Resolve a symlink member's target relative to the member's folder. */
static char *link_target(const char *member, const char *target)
{
	const char *slash = strrchr(member, '/');
	size_t dlen = slash ? (size_t)(slash - member) : 0;
	char *out = malloc(dlen + strlen(target) + 2), *o;
	const char *t = target;

	if (!out)
		return NULL;
	memcpy(out, member, dlen);
	o = out + dlen;
	*o = '\0';
	while (*t) {
		if (!strncmp(t, "../", 3)) {
			char *s = strrchr(out, '/');

			o = s ? s : out;
			*o = '\0';
			t += 3;
		} else if (!strncmp(t, "./", 2)) {
			t += 2;
		} else {
			size_t n = strcspn(t, "/");

			if (o != out)
				*o++ = '/';
			memcpy(o, t, n);
			o += n;
			*o = '\0';
			t += n + (t[n] == '/');
		}
	}
	return out;
}

/* Is the archive compressed? gzip, zstd, xz, bzip2 by their magic. */
static bool compressed(int fd)
{
	uint8_t b[6] = { 0 };
	ssize_t n = io_pread_full(fd, b, sizeof(b), 0);

	if (n < 2)
		return false;
	return (b[0] == 0x1f && b[1] == 0x8b) ||
	       (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4)) ||
	       (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6)) ||
	       (n >= 3 && !memcmp(b, "BZh", 3));
}

/* docker load takes `docker save | gzip` too. Such an archive is
 * decompressed once, into an unlinked temporary file, and read from there
 * like a plain one: finding each blob by decompressing from the start
 * cost a pass over the whole archive per blob. No filter that would run
 * an external program. */
static int spool(struct blobstore *bs, const char *tmpdir, struct ek_error *err)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *e;
	static uint8_t buf[1 << 16];
	uint64_t at = 0;
	la_ssize_t n;
	int out, r;

	if (!ar)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	archive_read_support_format_raw(ar);
	archive_read_support_filter_gzip(ar);
	archive_read_support_filter_zstd(ar);
	archive_read_support_filter_xz(ar);
	archive_read_support_filter_bzip2(ar);
	out = io_tmpfile(tmpdir && *tmpdir ? tmpdir : "/tmp", err);
	r = out < 0 ? err->code : 0;
	if (r == 0 && (archive_read_open_fd(ar, bs->fd, sizeof(buf)) != ARCHIVE_OK ||
		       archive_read_next_header(ar, &e) != ARCHIVE_OK))
		r = ek_fail(err, EK_EFORMAT, "'%s': %s", bs->path,
			    archive_error_string(ar) ? archive_error_string(ar)
						     : "empty");
	while (r == 0 && (n = archive_read_data(ar, buf, sizeof(buf))) != 0) {
		if (n < 0)
			r = ek_fail(err, EK_EFORMAT, "'%s': %s", bs->path,
				    archive_error_string(ar));
		else if (io_pwrite_full(out, buf, (size_t)n, at) < 0)
			r = ek_fail_errno(err, EK_EIO, errno, "temporary copy "
					  "of '%s'", bs->path);
		at += n > 0 ? (uint64_t)n : 0;
	}
	archive_read_free(ar);
	if (r) {
		if (out >= 0)
			close(out);
		return r;
	}
	close(bs->fd);
	bs->fd = out;
	return 0;
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name,
		      ((const struct member *)b)->name);
}

static int add_member(struct blobstore *bs, size_t *alloc,
		      struct archive *ar, struct archive_entry *e,
		      struct ek_error *err)
{
	const char *name = archive_entry_pathname(e);
	struct member *m;
	size_t len;

	if (!name)
		return ek_fail(err, EK_EFORMAT, "'%s': a member without a name",
			       bs->path);
	if (bs->n == MEMBERS_MAX)
		return ek_fail(err, EK_ELIMIT, "'%s': more than %u members",
			       bs->path, MEMBERS_MAX);
	m = ek_grow(bs->m, bs->n, alloc, sizeof(*m), 64);
	if (!m)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	bs->m = m;
	m = &bs->m[bs->n];
	memset(m, 0, sizeof(*m));
	if (!(m->name = strdup(plain(name))))
		return ek_fail(err, EK_ENOMEM, "out of memory");
	bs->n++;
	len = strlen(m->name);
	while (len > 0 && m->name[len - 1] == '/')
		m->name[--len] = '\0';
	if (archive_entry_hardlink(e)) {
		m->type = 'h';
		m->link = strdup(plain(archive_entry_hardlink(e)));
	} else if (archive_entry_filetype(e) == AE_IFLNK) {
		m->type = 'l';
		m->link = strdup(archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
	} else if (archive_entry_filetype(e) == AE_IFREG) {
		/* a sparse member's data is not one run of bytes */
		if (archive_entry_sparse_count(e) > 0)
			return ek_fail(err, EK_EFORMAT, "'%s': '%s' is a sparse "
				       "member", bs->path, m->name);
		m->type = 'f';
		m->off = (uint64_t)archive_filter_bytes(ar, 0);
		m->size = (uint64_t)archive_entry_size(e);
	} else {
		m->type = 'o';
	}
	if ((m->type == 'h' || m->type == 'l') && !m->link)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	return 0;
}

/* The index pass reads the plain tar through here, so that paxcheck sees
 * its headers; file data is skipped with lseek. */
struct idx_reader {
	int fd;
	uint64_t size;
	struct paxcheck pc;
	uint8_t buf[1 << 16];
};

static la_ssize_t idx_read(struct archive *a, void *ctx, const void **out)
{
	struct idx_reader *x = ctx;
	ssize_t n = io_read_full(x->fd, x->buf, sizeof(x->buf));

	if (n < 0) {
		archive_set_error(a, errno, "read: %s", strerror(errno));
		return -1;
	}
	*out = x->buf;
	paxcheck_feed(&x->pc, x->buf, (size_t)n);
	return n;
}

static la_int64_t idx_skip(struct archive *a, void *ctx, la_int64_t want)
{
	struct idx_reader *x = ctx;
	off_t at = lseek(x->fd, 0, SEEK_CUR);
	uint64_t n = (uint64_t)want;

	(void)a;
	if (at < 0 || want <= 0 || (uint64_t)at >= x->size)
		return 0;
	if (n > x->size - (uint64_t)at)
		n = x->size - (uint64_t)at;
	if (lseek(x->fd, (off_t)n, SEEK_CUR) < 0)
		return 0;
	paxcheck_skip(&x->pc, n);
	return (la_int64_t)n;
}

static int check_member(struct blobstore *bs, const struct member *m,
			uint64_t size, struct ek_error *err)
{
	if (m->type == 'f' && (m->off > size || m->size > size - m->off))
		return ek_fail(err, EK_EFORMAT, "'%s': '%s' is cut short",
			       bs->path, m->name);
	return 0;
}

/* One pass over the headers: every member, where its data is. Two
 * members of one name are refused: tar x and docker load keep the last,
 * a reader that stops at the first sees another image. A libarchive
 * warning (a header it read only in part) is an error too, and so is a
 * pax name holding a NUL (paxcheck.h). */
static int index_tar(struct blobstore *bs, struct ek_error *err)
{
	struct archive *ar = archive_read_new();
	struct idx_reader *x = calloc(1, sizeof(*x));
	struct archive_entry *e;
	size_t alloc = 0;
	int r = 0, ar_r = ARCHIVE_OK;
	struct stat st;

	if (!ar || !x || paxcheck_init(&x->pc, err)) {
		if (ar)
			archive_read_free(ar);
		if (x)
			paxcheck_release(&x->pc);
		free(x);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	x->fd = bs->fd;
	archive_read_support_format_tar(ar);
	archive_read_support_filter_none(ar);
	if (lseek(bs->fd, 0, SEEK_SET) < 0 || fstat(bs->fd, &st) < 0)
		r = ek_fail_errno(err, EK_EIO, errno, "'%s'", bs->path);
	x->size = (uint64_t)st.st_size;
	if (r == 0 && (archive_read_set_callback_data(ar, x) ||
		       archive_read_set_read_callback(ar, idx_read) ||
		       archive_read_set_skip_callback(ar, idx_skip) ||
		       archive_read_open1(ar) != ARCHIVE_OK))
		r = ek_fail(err, EK_EFORMAT, "'%s': %s", bs->path,
			    archive_error_string(ar) ? archive_error_string(ar)
						     : "not a tar archive");
	while (r == 0 && (ar_r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
		r = paxcheck_entry(&x->pc, (uint64_t)archive_read_header_position(ar),
				   bs->path, err);
		if (r == 0)
			r = add_member(bs, &alloc, ar, e, err);
		if (r == 0)
			r = check_member(bs, &bs->m[bs->n - 1], x->size, err);
	}
	if (r == 0 && ar_r != ARCHIVE_EOF)
		r = ek_fail(err, EK_EFORMAT, "'%s': %s", bs->path,
			    archive_error_string(ar) ? archive_error_string(ar)
						     : "not a tar archive");
	archive_read_free(ar);
	paxcheck_release(&x->pc);
	free(x);
	if (r)
		return r;
	qsort(bs->m, bs->n, sizeof(*bs->m), cmp_member);
	for (size_t i = 1; i < bs->n; i++)
		if (!strcmp(bs->m[i - 1].name, bs->m[i].name))
			return ek_fail(err, EK_EFORMAT, "'%s': two members named "
				       "'%s' (tools that keep the first and tools "
				       "that keep the last see two images)",
				       bs->path, bs->m[i].name);
	return 0;
}

int blobstore_open(char kind, const char *path, const char *tmpdir,
		   struct blobstore **ret, struct ek_error *err)
{
	struct blobstore *bs;
	struct stat st;
	int r = 0;

	if (stat(path, &st) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	if (kind == 'd' && !S_ISDIR(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': not an OCI layout folder", path);
	if (kind == 't' && !S_ISREG(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': not an archive file", path);
	bs = calloc(1, sizeof(*bs));
	if (!bs || !(bs->path = strdup(path))) {
		free(bs);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	bs->kind = kind;
	bs->fd = -1;
	if (kind == 't') {
		bs->fd = io_open_input(path, 0, NULL, err);
		r = bs->fd < 0 ? err->code : 0;
		if (r == 0 && compressed(bs->fd))
			r = spool(bs, tmpdir, err);
		if (r == 0)
			r = index_tar(bs, err);
	}
	if (r) {
		blobstore_free(bs);
		return r;
	}
	*ret = bs;
	return 0;
}

void blobstore_free(struct blobstore *bs)
{
	if (!bs)
		return;
	for (size_t i = 0; i < bs->n; i++) {
		free(bs->m[i].name);
		free(bs->m[i].link);
	}
	free(bs->m);
	if (bs->fd >= 0)
		close(bs->fd);
	free(bs->path);
	free(bs);
}

const char *blobstore_path(const struct blobstore *bs)
{
	return bs->path;
}

static const struct member *find(const struct blobstore *bs, const char *name)
{
	struct member key = { .name = (char *)name };

	return bsearch(&key, bs->m, bs->n, sizeof(*bs->m), cmp_member);
}

/* The member's data, following up to 8 symlinks or hard links. */
static int tar_seek(struct blobstore *bs, const char *name, uint64_t *off,
		    uint64_t *size, struct ek_error *err)
{
	char *want = strdup(plain(name));

	for (int hops = 0; want && hops < 8; hops++) {
		const struct member *m = find(bs, want);
		char *next;

		if (!m || m->type == 'o') {
			ek_fail(err, EK_EFORMAT, "'%s': no member '%s'%s", bs->path,
				want, m ? " that is a file" : "");
			free(want);
			return err->code;
		}
		if (m->type == 'f') {
			free(want);
			*off = m->off;
			*size = m->size;
			return 0;
		}
		/* a symlink's target is relative to its folder, a hard
		 * link's is a member name */
		next = m->type == 'h' ? strdup(m->link) : link_target(want, m->link);
		free(want);
		want = next;
	}
	if (!want)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	free(want);
	return ek_fail(err, EK_EFORMAT, "'%s': '%s': too many symlinks",
		       bs->path, name);
}

static int dir_open(struct blobstore *bs, const char *name, int *fd,
		    uint64_t *size, struct ek_error *err)
{
	char *p;
	struct stat st = { 0 };

	if (strstr(name, "..") || name[0] == '/')
		return ek_fail(err, EK_EUNSAFE, "'%s': member name '%s' leaves "
			       "the layout", bs->path, name);
	if (asprintf(&p, "%s/%s", bs->path, plain(name)) < 0)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	/* O_NONBLOCK: a FIFO put there must not hang the build */
	*fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (*fd < 0 || fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (*fd >= 0 && !S_ISREG(st.st_mode))
			ek_fail(err, EK_EFORMAT, "'%s': not a regular file", p);
		else
			ek_fail_errno(err, EK_EIO, errno, "'%s'", p);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		free(p);
		return err->code;
	}
	fcntl(*fd, F_SETFL, 0);
	free(p);
	*size = (uint64_t)st.st_size;
	return 0;
}

int blob_open(struct blobstore *bs, const char *name,
	      struct blob_stream **ret, uint64_t *size_ret,
	      struct ek_error *err)
{
	struct blob_stream *s = calloc(1, sizeof(*s));
	uint64_t size = 0;
	int r;

	if (!s || !(s->name = strdup(name))) {
		free(s);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	s->fd = -1;
	if (bs->kind == 'd') {
		r = dir_open(bs, name, &s->fd, &size, err);
		s->own_fd = true;
	} else {
		r = tar_seek(bs, name, &s->off, &size, err);
		s->fd = bs->fd;
		s->left = size;
	}
	if (r) {
		blob_close(s);
		return r;
	}
	if (size_ret)
		*size_ret = size;
	*ret = s;
	return 0;
}

int blob_read(struct blob_stream *s, void *buf, size_t cap, size_t *got,
	      struct ek_error *err)
{
	ssize_t n;

	if (!s->own_fd) {
		if (cap > s->left)
			cap = (size_t)s->left;
		n = io_pread_full(s->fd, buf, cap, s->off);
		if (n >= 0 && (size_t)n < cap)
			return ek_fail(err, EK_EFORMAT, "'%s': cut short", s->name);
		if (n >= 0) {
			s->off += (uint64_t)n;
			s->left -= (uint64_t)n;
		}
	} else {
		n = io_read_full(s->fd, buf, cap);
	}
	if (n < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", s->name);
	*got = (size_t)n;
	return 0;
}

void blob_close(struct blob_stream *s)
{
	if (!s)
		return;
	if (s->own_fd && s->fd >= 0)
		close(s->fd);
	free(s->name);
	free(s);
}

int blobstore_exists(struct blobstore *bs, const char *name)
{
	struct blob_stream *s;
	struct ek_error e;

	if (blob_open(bs, name, &s, NULL, &e))
		return 0;
	blob_close(s);
	return 1;
}

int blob_read_all(struct blobstore *bs, const char *name, size_t max,
		  char **buf_ret, size_t *len_ret, struct ek_error *err)
{
	struct blob_stream *s;
	uint64_t size;
	size_t got = 0, n;
	char *buf;
	int r = blob_open(bs, name, &s, &size, err);

	if (r)
		return r;
	if (size > max) {
		blob_close(s);
		return ek_fail(err, EK_ELIMIT, "'%s': '%s' is larger than %zu "
			       "bytes", bs->path, name, max);
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		blob_close(s);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	while ((r = blob_read(s, buf + got, (size_t)size - got, &n, err)) == 0 &&
	       n > 0 && got < size)
		got += n;
	blob_close(s);
	if (r == 0 && got != size)
		r = ek_fail(err, EK_EFORMAT, "'%s': '%s' is shorter than its "
			    "size", bs->path, name);
	if (r) {
		free(buf);
		return r;
	}
	buf[got] = '\0';
	*buf_ret = buf;
	*len_ret = got;
	return 0;
}

static int hex_of(const uint8_t *d, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return 0;
}

int blob_verify(struct blobstore *bs, const char *name, const char *digest,
		int64_t size, struct ek_error *err)
{
	const EVP_MD *md = !strncmp(digest, "sha256:", 7) ? EVP_sha256()
			 : !strncmp(digest, "sha512:", 7) ? EVP_sha512() : NULL;
	EVP_MD_CTX *ctx;
	struct blob_stream *s;
	uint8_t buf[1 << 16], d[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned dl;
	uint64_t total = 0;
	size_t n;
	int r;

	if (!md)
		return ek_fail(err, EK_EFORMAT, "'%s': blob '%s': unsupported "
			       "digest '%.80s'", bs->path, name, digest);
	if ((r = blob_open(bs, name, &s, NULL, err)))
		return r;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL))
		r = ek_fail_ssl(err, EK_ECRYPTO, "digest unavailable");
	while (r == 0 && (r = blob_read(s, buf, sizeof(buf), &n, err)) == 0 && n) {
		EVP_DigestUpdate(ctx, buf, n);
		total += n;
	}
	blob_close(s);
	if (r == 0) {
		EVP_DigestFinal_ex(ctx, d, &dl);
		hex_of(d, dl, hex);
		if (strcmp(hex, digest + 7))
			r = ek_fail(err, EK_EMISMATCH, "'%s': blob '%s' does not "
				    "match its digest %s", bs->path, name, digest);
		else if (size >= 0 && total != (uint64_t)size)
			r = ek_fail(err, EK_EMISMATCH, "'%s': blob '%s' is %llu "
				    "bytes, its descriptor says %lld", bs->path,
				    name, (unsigned long long)total, (long long)size);
	}
	EVP_MD_CTX_free(ctx);
	return r;
}
