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

struct blobstore {
	char kind;
	char *path;
};

struct blob_stream {
	int fd;                 /* layout folder */
	struct archive *ar;     /* tar archive, positioned at the member */
	char *name;
};

int blobstore_open(char kind, const char *path, struct blobstore **ret,
		   struct ek_error *err)
{
	struct blobstore *bs;
	struct stat st;

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
	*ret = bs;
	return 0;
}

void blobstore_free(struct blobstore *bs)
{
	if (!bs)
		return;
	free(bs->path);
	free(bs);
}

const char *blobstore_path(const struct blobstore *bs)
{
	return bs->path;
}

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

static struct archive *open_tar(const char *path, struct ek_error *err)
{
	struct archive *ar = archive_read_new();

	if (!ar) {
		ek_fail(err, EK_ENOMEM, "out of memory");
		return NULL;
	}
	archive_read_support_format_tar(ar);
	archive_read_support_filter_none(ar);
	/* docker load takes `docker save | gzip` too; each member is then
	 * found by decompressing from the start (slower, still a stream).
	 * No filter that would run an external program. */
	archive_read_support_filter_gzip(ar);
	archive_read_support_filter_zstd(ar);
	archive_read_support_filter_xz(ar);
	archive_read_support_filter_bzip2(ar);
	if (archive_read_open_filename(ar, path, 1 << 16) != ARCHIVE_OK) {
		ek_fail(err, EK_EFORMAT, "'%s': %s", path,
			archive_error_string(ar));
		archive_read_free(ar);
		return NULL;
	}
	return ar;
}

/* Position a fresh reader at member name, following up to 8 symlinks
 * or hard links. */
static int tar_seek(struct blobstore *bs, const char *name,
		    struct archive **ret, uint64_t *size, struct ek_error *err)
{
	char *want = strdup(plain(name));

	for (int hops = 0; want && hops < 8; hops++) {
		struct archive *ar = open_tar(bs->path, err);
		struct archive_entry *e;
		int r;

		if (!ar) {
			free(want);
			return err->code;
		}
		while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
			if (strcmp(plain(archive_entry_pathname(e)), want))
				continue;
			if (archive_entry_filetype(e) == AE_IFLNK ||
			    archive_entry_hardlink(e)) {
				/* a symlink's target is relative to its
				 * folder, a hard link's is a member name */
				const char *hl = archive_entry_hardlink(e);
				char *next = hl ? strdup(plain(hl))
						: link_target(want,
							archive_entry_symlink(e));

				free(want);
				want = next;
				break;
			}
			free(want);
			*ret = ar;
			*size = (uint64_t)archive_entry_size(e);
			return 0;
		}
		if (r != ARCHIVE_OK) {
			if (r == ARCHIVE_EOF)
				ek_fail(err, EK_EFORMAT, "'%s': no member '%s'",
					bs->path, want);
			else
				ek_fail(err, EK_EFORMAT, "'%s': %s", bs->path,
					archive_error_string(ar));
			archive_read_free(ar);
			free(want);
			return err->code;
		}
		archive_read_free(ar);
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
	if (bs->kind == 'd')
		r = dir_open(bs, name, &s->fd, &size, err);
	else
		r = tar_seek(bs, name, &s->ar, &size, err);
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

	if (s->ar) {
		n = archive_read_data(s->ar, buf, cap);
		if (n < 0)
			return ek_fail(err, EK_EFORMAT, "'%s': %s", s->name,
				       archive_error_string(s->ar));
	} else {
		n = io_read_full(s->fd, buf, cap);
		if (n < 0)
			return ek_fail_errno(err, EK_EIO, errno, "'%s'", s->name);
	}
	*got = (size_t)n;
	return 0;
}

void blob_close(struct blob_stream *s)
{
	if (!s)
		return;
	if (s->ar)
		archive_read_free(s->ar);
	if (s->fd >= 0)
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
