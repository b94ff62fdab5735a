/* cpio_read.c: walk cpio newc archives that may have been crafted.
 *
 * The layout is the kernel's (Documentation/driver-api/early-userspace/
 * buffer-format.rst, and init/initramfs.c for what it really does):
 *
 *   initramfs := ("\0" | cpio_archive | compressed_archive)*
 *   entry     := header(110) name NUL pad-to-4 data [pad-to-4 if more]
 *
 * Every header starts at a multiple of 4 from the start of the range and
 * after every entry the kernel skips any number of NULs, so NUL runs may
 * sit between entries as well as between archives. Alignment, the
 * kernel's choice, is counted from the start of the range. */
#include "base/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/codec.h"
#include "base/io.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "ramdisk/cpio_read.h"
#include "ramdisk/tree.h"


/* Header field order after the magic (cpio(5), "New ASCII Format"). */
enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE,
       F_DEVMAJOR, F_DEVMINOR, F_RDEVMAJOR, F_RDEVMINOR, F_NAMESIZE,
       F_CHECK };

static const char *const field_names[CPIO_NFIELDS] = {
	"ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
	"devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check",
};

/* ---- escaping (shared by listings and error messages) ---- */

/* ---- small helpers ---- */

const char *cpio_compression(const uint8_t *p, size_t len)
{
	static const struct { uint8_t m[2]; const char *name; } magics[] = {
		{ { 0x1f, 0x8b }, "gzip" }, { { 0x1f, 0x9e }, "gzip" },
		{ { 0x42, 0x5a }, "bzip2" }, { { 0x5d, 0x00 }, "lzma" },
		{ { 0xfd, 0x37 }, "xz" }, { { 0x89, 0x4c }, "lzo" },
		{ { 0x02, 0x21 }, "lz4" }, { { 0x28, 0xb5 }, "zstd" },
	};

	if (len < 2)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(magics); i++)
		if (p[0] == magics[i].m[0] && p[1] == magics[i].m[1])
			return magics[i].name;
	return NULL;
}

void cpio_mode_string(uint32_t mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	char t;

	switch (mode & CPIO_IFMT) {
	case CPIO_IFREG: t = '-'; break;
	case CPIO_IFDIR: t = 'd'; break;
	case CPIO_IFLNK: t = 'l'; break;
	case CPIO_IFCHR: t = 'c'; break;
	case CPIO_IFBLK: t = 'b'; break;
	case CPIO_IFIFO: t = 'p'; break;
	case CPIO_IFSOCK: t = 's'; break;
	default: t = '?'; break;
	}
	out[0] = t;
	for (int i = 0; i < 9; i++)
		out[1 + i] = mode & (0400u >> i) ? rwx[i] : '-';
	if (mode & 04000)
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (mode & 02000)
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (mode & 01000)
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = '\0';
}

/* Exactly 8 hex digits, either case: the kernel's simple_strtoul would
 * stop at the first other byte and read a shorter number. */
static bool hex8(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		int d = codec_hex_value(p[i]);

		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

/* Bytes from x up to the next multiple of 4 counted from the range. */
static uint64_t pad4(const struct cpio_reader *r, uint64_t x)
{
	return (4 - ((x - r->start) & 3)) & 3;
}

/* ---- reading ---- */

/* "'NAME': [WHAT: ]offset N: reason", EK_EFORMAT. */
static int bad(const struct cpio_reader *r, struct ek_error *err, uint64_t off,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(const struct cpio_reader *r, struct ek_error *err, uint64_t off,
	       const char *fmt, ...)
{
	char reason[EK_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return ek_fail(err, EK_EFORMAT, "'%s': %s%soffset %llu: %s", r->name,
		       r->what ? r->what : "", r->what ? ": " : "",
		       (unsigned long long)off, reason);
}

/* Read len bytes at off; the caller has checked that they are inside the
 * range, so a short read means the file shrank under us. */
static int read_at(const struct cpio_reader *r, void *buf, size_t len,
		   uint64_t off, struct ek_error *err)
{
	ssize_t n = io_pread_full(r->fd, buf, len, off);

	if (n < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s': offset %llu",
				     r->name, (unsigned long long)off);
	if ((size_t)n != len)
		return ek_fail(err, EK_EIO, "'%s': offset %llu: the file ended "
			       "early (did it change while being read?)",
			       r->name, (unsigned long long)off);
	return 0;
}

/* Advance r->pos over NULs, to the first other byte or the end. Most
 * calls stop at once, at the next header: the first read is small, and
 * reads grow to the whole buffer only over a long run of NULs. */
static int skip_nuls(struct cpio_reader *r, struct ek_error *err)
{
	size_t chunk = 256;

	while (r->pos < r->end) {
		uint64_t left = r->end - r->pos;
		size_t n = left < chunk ? (size_t)left : chunk;
		size_t i = 0;
		int ret = read_at(r, r->buf, n, r->pos, err);

		if (ret)
			return ret;
		while (i < n && r->buf[i] == 0)
			i++;
		r->pos += i;
		if (i < n)
			break;
		if (chunk < sizeof(r->buf))
			chunk *= 2;
	}
	return 0;
}

/* After NULs the kernel takes a '0' at a multiple of 4 as a header and
 * anything else as compressed data. Returns 1 with a header at r->pos,
 * 0 at the end or at compressed data (r->compressed set). */
static int find_header(struct cpio_reader *r, struct ek_error *err)
{
	uint8_t head[2];
	size_t n;
	int ret = skip_nuls(r, err);

	if (ret || r->pos == r->end)
		return ret;
	n = r->end - r->pos < 2 ? 1 : 2;
	ret = read_at(r, head, n, r->pos, err);
	if (ret)
		return ret;
	if (head[0] == '0' && pad4(r, r->pos) == 0)
		return 1;
	r->compressed = cpio_compression(head, n);
	if (r->compressed) {
		r->compressed_offset = r->pos;
		return 0;
	}
	if (head[0] == '0')
		return bad(r, err, r->pos, "a header must start at a multiple "
			   "of 4 bytes from offset %llu",
			   (unsigned long long)r->start);
	if (r->pos == r->start)
		return bad(r, err, r->pos, "not a cpio newc archive, nor "
			   "compressed data the kernel knows");
	return bad(r, err, r->pos, "junk where a cpio header, NUL padding or "
		   "compressed data should be");
}

static int check_magic(const struct cpio_reader *r, const uint8_t *h,
		       uint64_t off, struct cpio_entry *e, struct ek_error *err)
{
	char shown[64];

	if (!memcmp(h, CPIO_MAGIC, CPIO_MAGIC_LEN) ||
	    !memcmp(h, CPIO_MAGIC_CRC, CPIO_MAGIC_LEN)) {
		e->csum = h[5] == '2';
		return 0;
	}
	if (!memcmp(h, "070707", CPIO_MAGIC_LEN))
		return bad(r, err, off, "old portable cpio format (070707); the "
			   "kernel reads only newc (cpio -H newc)");
	text_escape_fixed(shown, sizeof(shown), (const char *)h, CPIO_MAGIC_LEN, 0);
	return bad(r, err, off, "bad magic \"%s\" (a newc header starts with "
		   "070701 or 070702)", shown);
}

/* Magic and the 13 fields; *namesize_ret gets the name size, checked. */
static int parse_header(const struct cpio_reader *r, const uint8_t *h,
			uint64_t off, struct cpio_entry *e,
			uint32_t *namesize_ret, struct ek_error *err)
{
	uint32_t v[CPIO_NFIELDS];
	int ret = check_magic(r, h, off, e, err);

	if (ret)
		return ret;
	for (int i = 0; i < CPIO_NFIELDS; i++) {
		const uint8_t *p = h + CPIO_MAGIC_LEN + 8 * i;
		char shown[64];

		if (hex8(p, &v[i]))
			continue;
		text_escape_fixed(shown, sizeof(shown), (const char *)p, 8, 0);
		return bad(r, err, off + CPIO_MAGIC_LEN + 8 * (uint64_t)i,
			   "%s field \"%s\" is not 8 hex digits", field_names[i],
			   shown);
	}
	if (v[F_MODE] > 0177777)
		return bad(r, err, off, "mode 0%06o has bits above 0177777",
			   v[F_MODE]);
	if (v[F_NAMESIZE] == 0)
		return bad(r, err, off, "namesize 0 (it counts the name's NUL)");
	if (v[F_NAMESIZE] > CPIO_NAME_MAX)
		return bad(r, err, off, "namesize %u is over %d (the kernel "
			   "skips such entries)", v[F_NAMESIZE], CPIO_NAME_MAX);
	e->ino = v[F_INO];
	e->mode = v[F_MODE];
	e->uid = v[F_UID];
	e->gid = v[F_GID];
	e->nlink = v[F_NLINK];
	e->mtime = v[F_MTIME];
	e->filesize = v[F_FILESIZE];
	e->devmajor = v[F_DEVMAJOR];
	e->devminor = v[F_DEVMINOR];
	e->rdevmajor = v[F_RDEVMAJOR];
	e->rdevminor = v[F_RDEVMINOR];
	e->check = v[F_CHECK];
	*namesize_ret = v[F_NAMESIZE];
	return 0;
}

/* buf holds namesize bytes of name and pad bytes of padding at off. */
static int check_name(const struct cpio_reader *r, const uint8_t *buf,
		      uint32_t namesize, uint64_t pad, uint64_t off,
		      struct cpio_entry *e, struct ek_error *err)
{
	const uint8_t *nul = memchr(buf, 0, namesize);

	if (!nul)
		return bad(r, err, off + namesize - 1, "the name (namesize %u) "
			   "does not end with a NUL", namesize);
	if ((size_t)(nul - buf) != namesize - 1)
		return bad(r, err, off + (uint64_t)(nul - buf), "NUL inside the "
			   "name (namesize %u)", namesize);
	for (uint64_t i = 0; i < pad; i++)
		if (buf[namesize + i] != 0)
			return bad(r, err, off + namesize + i, "padding byte "
				   "after the name is not NUL");
	memcpy(e->name, buf, namesize);
	e->name_len = namesize - 1;
	return 0;
}

static const char *type_word(uint32_t mode)
{
	switch (mode & CPIO_IFMT) {
	case CPIO_IFDIR: return "directory";
	case CPIO_IFCHR: return "character device";
	case CPIO_IFBLK: return "block device";
	case CPIO_IFIFO: return "FIFO";
	case CPIO_IFSOCK: return "socket";
	}
	return NULL;
}

/* What the entry is and whether it may carry filesize bytes. Returns 2
 * for the trailer, 0 otherwise. The kernel knows the trailer by its name
 * alone. */
static int check_type(const struct cpio_reader *r, const struct cpio_entry *e,
		      struct ek_error *err)
{
	uint32_t t = e->mode & CPIO_IFMT;
	const char *word = type_word(e->mode);
	char shown[128];

	if (e->name_len == strlen(CPIO_TRAILER) &&
	    !memcmp(e->name, CPIO_TRAILER, e->name_len)) {
		if (e->filesize)
			return bad(r, err, e->hdr_offset, "%s with %u bytes of "
				   "data", CPIO_TRAILER, e->filesize);
		return 2;
	}
	if (t == CPIO_IFREG || (t == CPIO_IFLNK && e->filesize <= CPIO_LINK_MAX) ||
	    (word && e->filesize == 0))
		return 0;
	text_escape_fixed(shown, sizeof(shown), e->name, e->name_len, 0);
	if (t == CPIO_IFLNK)
		return bad(r, err, e->hdr_offset, "'%s': symlink target of %u "
			   "bytes (the kernel skips over %d)", shown,
			   e->filesize, CPIO_LINK_MAX);
	if (!word)
		return bad(r, err, e->hdr_offset, "'%s': unknown file type in "
			   "mode 0%06o", shown, e->mode);
	return bad(r, err, e->hdr_offset, "'%s': a %s with %u bytes of data "
		   "(the kernel skips such entries)", shown, word, e->filesize);
}

/* The symlink target; one trailing NUL (gen_init_cpio writes one) is not
 * part of it. */
static int read_link(const struct cpio_reader *r, struct cpio_entry *e,
		     struct ek_error *err)
{
	int ret = read_at(r, e->link, e->filesize, e->data_offset, err);

	if (ret)
		return ret;
	e->link[e->filesize] = '\0';
	e->link_len = e->filesize;
	if (e->link_len && e->link[e->link_len - 1] == '\0')
		e->link_len--;
	return 0;
}

/* 070702: the check field is the sum of the data bytes, modulo 2^32. The
 * kernel checks it for regular files only, and so do we. */
static int verify_sum(struct cpio_reader *r, const struct cpio_entry *e,
		      struct ek_error *err)
{
	uint64_t off = e->data_offset;
	uint32_t left = e->filesize, sum = 0;

	while (left > 0) {
		size_t n = left < sizeof(r->buf) ? left : sizeof(r->buf);
		int ret = read_at(r, r->buf, n, off, err);

		if (ret)
			return ret;
		for (size_t i = 0; i < n; i++)
			sum += r->buf[i];
		off += n;
		left -= (uint32_t)n;
	}
	if (sum != e->check) {
		char shown[128];

		text_escape_fixed(shown, sizeof(shown), e->name, e->name_len, 0);
		return bad(r, err, e->hdr_offset, "'%s': data checksum "
			   "0x%08x, the header says 0x%08x", shown, sum,
			   e->check);
	}
	return 0;
}

/* The padding after the data, up to a multiple of 4 or the end of the
 * range (nothing needs aligning after the last entry), must be NULs. */
static int skip_data_pad(struct cpio_reader *r, struct ek_error *err)
{
	uint64_t pad = pad4(r, r->pos);
	uint8_t b[3];
	int ret;

	if (pad > r->end - r->pos)
		pad = r->end - r->pos;
	ret = read_at(r, b, (size_t)pad, r->pos, err);
	for (uint64_t i = 0; !ret && i < pad; i++)
		if (b[i] != 0)
			return bad(r, err, r->pos + i, "padding byte after the "
				   "data is not NUL");
	r->pos += pad;
	return ret;
}

/* Header and name at r->pos, in the range. */
static int read_head(struct cpio_reader *r, struct cpio_entry *e,
		     struct ek_error *err)
{
	uint64_t off = r->pos, name_off = off + CPIO_HDR_LEN, pad, need;
	uint32_t namesize = 0;
	int ret;

	if (r->end - off < CPIO_HDR_LEN)
		return bad(r, err, off, "header cut short: %llu of %d bytes",
			   (unsigned long long)(r->end - off), CPIO_HDR_LEN);
	ret = read_at(r, r->buf, CPIO_HDR_LEN, off, err);
	if (!ret)
		ret = parse_header(r, r->buf, off, e, &namesize, err);
	if (ret)
		return ret;
	pad = pad4(r, name_off + namesize);
	need = namesize + pad;
	if (r->end - name_off < need)
		return bad(r, err, name_off, "name and its padding (%llu bytes) "
			   "cut short by the end of the data",
			   (unsigned long long)need);
	ret = read_at(r, r->buf, (size_t)need, name_off, err);
	if (!ret)
		ret = check_name(r, r->buf, namesize, pad, name_off, e, err);
	e->hdr_offset = off;
	e->data_offset = name_off + need;
	return ret;
}

/* One entry at r->pos: 1, or 2 for a trailer, or an error. */
static int read_entry(struct cpio_reader *r, struct cpio_entry *e,
		      struct ek_error *err)
{
	uint32_t t;
	int kind, ret = read_head(r, e, err);

	if (ret)
		return ret;
	e->link[0] = '\0';
	e->link_len = 0;
	e->archive = r->trailers;
	if (e->filesize > r->end - e->data_offset)
		return bad(r, err, e->hdr_offset, "%u bytes of data run past the "
			   "end (%llu bytes left)", e->filesize,
			   (unsigned long long)(r->end - e->data_offset));
	kind = check_type(r, e, err);
	if (kind < 0)
		return kind;
	t = e->mode & CPIO_IFMT;
	if (kind == 0 && t == CPIO_IFLNK)
		ret = read_link(r, e, err);
	else if (kind == 0 && t == CPIO_IFREG && e->csum)
		ret = verify_sum(r, e, err);
	if (ret)
		return ret;
	r->pos = e->data_offset + e->filesize;
	ret = skip_data_pad(r, err);
	if (ret)
		return ret;
	if (kind == 2) {
		r->trailers++;
		return 2;
	}
	return 1;
}

int cpio_reader_init(struct cpio_reader *r, int fd, uint64_t off,
		     uint64_t len, const char *name, struct ek_error *err)
{
	r->fd = fd;
	r->name = name;
	r->what = NULL;
	r->start = r->end = r->pos = 0;
	r->trailers = 0;
	r->compressed = NULL;
	r->compressed_offset = 0;
	r->failed = 0;
	/* pread takes an off_t: the whole range must fit in one */
	if (off > INT64_MAX || len > (uint64_t)INT64_MAX - off) {
		r->failed = EK_EINVAL;
		return ek_fail(err, EK_EINVAL, "'%s': a range of %llu bytes at "
			       "offset %llu is not a file range", name,
			       (unsigned long long)len, (unsigned long long)off);
	}
	r->start = r->pos = off;
	r->end = off + len;
	return 0;
}

int cpio_reader_next(struct cpio_reader *r, struct cpio_entry *e,
		     struct ek_error *err)
{
	int ret;

	if (r->failed)
		return ek_fail(err, r->failed, "'%s': reading stopped at an "
			       "earlier error", r->name);
	do {
		ret = find_header(r, err);
		if (ret == 1)
			ret = read_entry(r, e, err);
	} while (ret == 2);
	if (ret < 0)
		r->failed = ret;
	return ret;
}

/* (archive, ino) of a hard-link member and the entry that has its data */
struct link_data {
	unsigned archive;
	uint32_t ino;
	uint64_t off, size;
};

static int tree_type(uint32_t mode, enum tree_type *type)
{
	switch (mode & CPIO_IFMT) {
	case CPIO_IFREG: *type = TREE_REG; return 0;
	case CPIO_IFDIR: *type = TREE_DIR; return 0;
	case CPIO_IFLNK: *type = TREE_LNK; return 0;
	case CPIO_IFCHR: *type = TREE_CHR; return 0;
	case CPIO_IFBLK: *type = TREE_BLK; return 0;
	case CPIO_IFIFO: *type = TREE_FIFO; return 0;
	default: return -1; /* sockets: the kernel makes them, nothing runs them */
	}
}

int cpio_read_tree(struct tree *t, int fd, uint64_t off, uint64_t len,
		   const char *name, const char *what, const char **compressed,
		   struct ek_error *err)
{
	struct cpio_reader *r = malloc(sizeof(*r));
	struct cpio_entry *e = malloc(sizeof(*e));
	struct link_data *ld = NULL;
	size_t nld = 0, ald = 0;
	size_t first = t->n;
	int ret = r && e ? cpio_reader_init(r, fd, off, len, name, err)
			 : ek_fail(err, EK_ENOMEM, "out of memory");

	if (ret == 0)
		r->what = what;
	while (ret == 0 && (ret = cpio_reader_next(r, e, err)) == 1) {
		struct tree_entry te;

		ret = 0;
		memset(&te, 0, sizeof(te));
		if (!strcmp(e->name, ".") || tree_type(e->mode, &te.type))
			continue;
		if (tree_path_normalise(e->name, &te.path, err)) {
			ret = -1;
			break;
		}
		te.mode = e->mode & 07777;
		te.uid = e->uid;
		te.gid = e->gid;
		te.mtime = e->mtime;
		te.rdev_major = e->rdevmajor;
		te.rdev_minor = e->rdevminor;
		if (te.type == TREE_LNK && !(te.link = strdup(e->link)))
			ret = ek_fail(err, EK_ENOMEM, "out of memory");
		if (te.type == TREE_REG) {
			te.size = e->filesize;
			te.stage_fd = fd;
			te.stage_off = e->data_offset;
			/* the inode, to find the data of a hard link later */
			te.link_group = e->nlink > 1 ? e->ino : 0;
			if (ret == 0 && e->nlink > 1 && e->filesize) {
				struct link_data *n = ek_grow(ld, nld, &ald,
							      sizeof(*n), 16);

				if (!n) {
					ret = ek_fail(err, EK_ENOMEM, "out of memory");
					break;
				}
				ld = n;
				ld[nld++] = (struct link_data){ e->archive, e->ino,
					e->data_offset, e->filesize };
			}
		}
		if (ret == 0)
			ret = tree_add(t, &te, err);
		if (ret) {
			free(te.path);
			free(te.link);
		}
	}
	if (ret == 0 && compressed)
		*compressed = r->compressed;
	/* hard-link members without data share the data of the one with it
	 * (same inode number: the archive is one cpio, trailers aside) */
	for (size_t i = first; ret == 0 && i < t->n; i++) {
		struct tree_entry *te = &t->e[i];

		if (te->type != TREE_REG || !te->link_group)
			continue;
		for (size_t k = 0; te->size == 0 && k < nld; k++)
			if (ld[k].ino == te->link_group) {
				te->stage_off = ld[k].off;
				te->size = ld[k].size;
			}
		te->link_group = 0;
	}
	free(ld);
	free(r);
	free(e);
	return ret < 0 ? ret : 0;
}
