#include "base/internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/io.h"
#include "ramdisk/cpio_write.h"
#include "ramdisk/newc.h"

#define SHOW_MAX 256 /* a member's name in a message */
#define SEQUENTIAL_MIN (1u << 20) /* files this large get POSIX_FADV_SEQUENTIAL */

enum phase { P_HEADER, P_DATA, P_PAD, P_TRAILER, P_END_PAD, P_DONE };

struct link_state {
	uint32_t ino;   /* of the first member; 0 until it is written */
	uint32_t count; /* members in the archive */
};

struct cpio_writer {
	const struct cpio_member *m;
	size_t n, i;
	enum phase phase;
	uint64_t off;            /* bytes produced */
	uint32_t ino;            /* next inode number */
	/* the header + name of the current entry, being copied out */
	uint8_t *hdr;
	size_t hdr_len, hdr_pos, hdr_alloc;
	/* the current entry's data */
	int fd;
	int fd_owned;            /* opened here (else a stage file's fd) */
	uint64_t fd_off;         /* where the data starts in a stage file */
	const uint8_t *mem;
	uint64_t data_len, data_pos;
	const char *data_name;
	bool walk;               /* tree_open_beneath without openat2 */
	bool at_eof;             /* the last read showed the end of the file */
	/* host files read that had extended attributes, the first few by
	 * their paths in the tree */
	unsigned long xattr_files;
	char xattr_first[CPIO_XATTR_FIRST][256];
	struct link_state *links;
	uint32_t groups;
	char scratch[SHOW_MAX];    /* for a message */
};

static const uint32_t type_bits[] = {
	[TREE_REG] = S_IFREG, [TREE_DIR] = S_IFDIR, [TREE_LNK] = S_IFLNK,
	[TREE_CHR] = S_IFCHR, [TREE_BLK] = S_IFBLK, [TREE_FIFO] = S_IFIFO,
};

/* prefix + name for a message in buf[SHOW_MAX], the middle of a long name
 * cut out. */
static const char *show(const char *prefix, const char *name, char *buf)
{
	size_t plen = strnlen(prefix, 32), nlen = strlen(name), o = plen;

	memcpy(buf, prefix, plen);
	if (nlen < 200) {
		memcpy(buf + o, name, nlen);
		o += nlen;
	} else {
		memcpy(buf + o, name, 100);
		memcpy(buf + o + 100, "...", 3);
		memcpy(buf + o + 103, name + nlen - 60, 60);
		o += 163;
	}
	buf[o] = '\0';
	return buf;
}

/* What newc (and the kernel reading it) cannot hold, refused before a
 * byte is written. Errors name the file on the host where there is one. */
static int check_member(const struct cpio_member *m, struct ek_error *err)
{
	const struct tree_entry *e = m->e;
	size_t len = strlen(m->prefix) + strlen(e->path);
	char buf[SHOW_MAX];
	const char *name = show(m->prefix, e->path, buf);

	if (len > TREE_PATH_MAX)
		return ek_fail(err, EK_ELIMIT, "'%s': a name of %zu bytes, longer "
			       "than the %d bytes newc and the kernel take", name,
			       len, TREE_PATH_MAX);
	if (!*m->prefix && !strcmp(e->path, CPIO_TRAILER))
		return ek_fail(err, EK_EFORMAT, "'TRAILER!!!': a member with "
			       "this name would end the archive");
	if (e->mtime < 0 || e->mtime > (int64_t)TREE_MTIME_MAX)
		return ek_fail(err, EK_EFORMAT, "'%s': mtime %lld is outside "
			       "what newc holds (0 to %llu)", name,
			       (long long)e->mtime,
			       (unsigned long long)TREE_MTIME_MAX);
	if (e->type == TREE_REG && e->size > TREE_FILE_MAX)
		return ek_fail(err, EK_ELIMIT, "'%s': 4 GiB or larger, which "
			       "newc cannot hold", e->src ? e->src : name);
	if (e->type == TREE_LNK && strlen(e->link) > TREE_PATH_MAX)
		return ek_fail(err, EK_ELIMIT, "'%s': symlink target longer than "
			       "%d bytes", name, TREE_PATH_MAX);
	return 0;
}

int cpio_writer_new(const struct cpio_member *members, size_t n,
		    uint32_t groups, struct cpio_writer **ret,
		    struct ek_error *err)
{
	struct cpio_writer *w;

	for (size_t i = 0; i < n; i++) {
		int r = check_member(&members[i], err);

		if (r)
			return r;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	w->links = calloc(groups ? groups : 1, sizeof(*w->links));
	if (!w->links) {
		free(w);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	w->m = members;
	w->n = n;
	w->groups = groups;
	w->ino = CPIO_INO_START;
	w->fd = -1;
	for (size_t i = 0; i < n; i++) {
		uint32_t g = members[i].e->link_group;

		if (g && g < groups)
			w->links[g].count++;
	}
	*ret = w;
	return 0;
}

void cpio_writer_free(struct cpio_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0 && w->fd_owned)
		close(w->fd);
	free(w->hdr);
	free(w->links);
	free(w);
}

uint64_t cpio_writer_offset(const struct cpio_writer *w)
{
	return w->off;
}

static size_t pad4(uint64_t n)
{
	return (size_t)((4 - (n & 3)) & 3);
}

/* Format header + name + padding into w->hdr. */
static int set_header(struct cpio_writer *w, const char *prefix,
		      const char *name, uint32_t ino, uint32_t mode,
		      const struct tree_entry *e, uint32_t nlink,
		      uint64_t filesize, struct ek_error *err)
{
	size_t plen = strlen(prefix), nlen = strlen(name);
	size_t namesize = plen + nlen + 1;
	size_t total = CPIO_HDR_LEN + namesize + pad4(CPIO_HDR_LEN + namesize);
	int64_t mtime = e ? e->mtime : 0;

	/* checked by check_member: kept here so no header can be wrong */
	if (namesize - 1 > TREE_PATH_MAX || mtime < 0 ||
	    mtime > (int64_t)TREE_MTIME_MAX || filesize > TREE_FILE_MAX)
		return ek_fail(err, EK_ELIMIT, "'%s': does not fit a newc header",
			       show(prefix, name, w->scratch));
	if (total > w->hdr_alloc) {
		uint8_t *p = realloc(w->hdr, total);

		if (!p)
			return ek_fail(err, EK_ENOMEM, "out of memory");
		w->hdr = p;
		w->hdr_alloc = total;
	}
	snprintf((char *)w->hdr, CPIO_HDR_LEN + 1,
		 CPIO_MAGIC                    /* magic */
		 "%08x%08x%08x%08x%08x"        /* ino mode uid gid nlink */
		 "%08x%08x"                    /* mtime filesize */
		 "%08x%08x%08x%08x"            /* devmajor devminor rdevmajor rdevminor */
		 "%08x%08x",                   /* namesize check */
		 ino, mode, e ? e->uid : 0, e ? e->gid : 0, nlink,
		 (uint32_t)mtime, (uint32_t)filesize, 3u, 1u,
		 e ? e->rdev_major : 0, e ? e->rdev_minor : 0,
		 (uint32_t)namesize, 0u);
	memcpy(w->hdr + CPIO_HDR_LEN, prefix, plen);
	memcpy(w->hdr + CPIO_HDR_LEN + plen, name, nlen);
	memset(w->hdr + CPIO_HDR_LEN + plen + nlen, 0, total - CPIO_HDR_LEN - plen - nlen);
	w->hdr_len = total;
	w->hdr_pos = 0;
	return 0;
}

/* Open a file of the host beneath the folder the scan held, so that no
 * folder renamed since (and replaced by a symlink) can lead elsewhere. It
 * must still be the regular file (device, inode) of the size the scan
 * saw. O_NONBLOCK: a FIFO put in its place must not block the open. */
static int open_src(struct cpio_writer *w, const struct tree_entry *e,
		    struct ek_error *err)
{
	struct stat st;

	w->fd_owned = 1;
	w->fd = tree_open_beneath(e->src_dir, e->src + e->src_rel,
				  O_RDONLY | O_CLOEXEC | O_NONBLOCK, &w->walk);
	if (w->fd < 0 && (errno == ELOOP || errno == ENOTDIR || errno == EXDEV))
		return ek_fail(err, EK_EIO, "'%s': changed after it was scanned "
			       "(a symlink or a non-folder is on its path now)",
			       e->src);
	if (w->fd < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", e->src);
	if (fstat(w->fd, &st) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", e->src);
	if (!S_ISREG(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': not a regular file any more "
			       "(it changed after it was scanned)", e->src);
	if ((uint64_t)st.st_dev != e->src_dev ||
	    (uint64_t)st.st_ino != e->src_ino)
		return ek_fail(err, EK_EIO, "'%s': changed after it was scanned "
			       "(another file is there now)", e->src);
	if ((uint64_t)st.st_size != e->size)
		return ek_fail(err, EK_EIO, "'%s': changed size after it was "
			       "scanned (%llu bytes, now %llu)", e->src,
			       (unsigned long long)e->size,
			       (unsigned long long)st.st_size);
	/* Counted here, on the descriptor read anyway, not in the scan: one
	 * syscall without a path lookup, and only for files the ramdisk
	 * holds (not the excluded ones). */
	if (flistxattr(w->fd, NULL, 0) > 0) {
		if (w->xattr_files < CPIO_XATTR_FIRST)
			snprintf(w->xattr_first[w->xattr_files],
				 sizeof(w->xattr_first[0]), "/%s", e->path);
		w->xattr_files++;
	}
	/* A larger readahead window for a large file; for the many small
	 * ones the default window already holds the whole file and the hint
	 * would be one more syscall each. */
	if (e->size >= SEQUENTIAL_MIN)
		posix_fadvise(w->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

static int open_data(struct cpio_writer *w, const struct tree_entry *e,
		     struct ek_error *err)
{
	w->mem = NULL;
	w->data_name = e->src ? e->src : e->path;
	if (e->type == TREE_LNK) {
		w->mem = (const uint8_t *)e->link;
		return 0;
	}
	/* not a file, the bytes in memory, or a hard link's later member */
	if (e->type != TREE_REG || e->data || (w->data_len == 0 && e->size)) {
		w->mem = e->data;
		return 0;
	}
	if (e->stage_fd > 0) {
		w->fd = e->stage_fd;
		w->fd_owned = 0;
		w->fd_off = e->stage_off;
		return 0;
	}
	if (!e->src)
		return 0; /* an empty file of the layout's own */
	return open_src(w, e, err);
}

/* Prepare the header (and data source) of member i. */
static int start_member(struct cpio_writer *w, struct ek_error *err)
{
	const struct cpio_member *m = &w->m[w->i];
	const struct tree_entry *e = m->e;
	uint32_t ino, nlink = e->type == TREE_DIR ? 2 : 1;
	uint64_t size = 0;
	int ret;

	if (e->type == TREE_REG)
		size = e->size;
	else if (e->type == TREE_LNK)
		size = strlen(e->link);
	if (e->type == TREE_REG && e->link_group && e->link_group < w->groups) {
		struct link_state *l = &w->links[e->link_group];

		nlink = l->count;
		if (l->ino)
			ino = l->ino, size = 0; /* data went with the first */
		else
			ino = l->ino = w->ino++;
	} else {
		ino = w->ino++;
	}
	ret = set_header(w, m->prefix, e->path, ino,
			 type_bits[e->type] | (e->mode & 07777), e, nlink,
			 size, err);
	w->data_len = size;
	w->data_pos = 0;
	return ret ? ret : open_data(w, e, err);
}

/* read() once, EINTR aside. */
static ssize_t read_once(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* want bytes of the current file into buf, which has room for cap. The
 * read that ends a host file asks for one byte more when the buffer has
 * room: a short count then shows the end of the file (as the kernel cuts
 * a read of a regular file at its size), and a file that grew shows at
 * once; only otherwise does finish_file need a read of its own. */
static int read_file(struct cpio_writer *w, uint8_t *buf, size_t want,
		     size_t cap, size_t *got, struct ek_error *err)
{
	ssize_t n;

	if (!w->fd_owned)
		n = io_pread_full(w->fd, buf, want, w->fd_off + w->data_pos);
	else if (want < cap && w->data_pos + want == w->data_len) {
		n = read_once(w->fd, buf, want + 1);
		if (n > (ssize_t)want)
			return ek_fail(err, EK_EIO, "'%s': changed size while "
				       "being read (it grew)", w->data_name);
		if (n == (ssize_t)want)
			w->at_eof = true;
		else if (n >= 0) { /* short: read the rest, then check */
			ssize_t m = io_read_full(w->fd, buf + n, want - (size_t)n);

			n = m < 0 ? m : n + m;
		}
	} else
		n = io_read_full(w->fd, buf, want);
	if (n < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", w->data_name);
	if ((size_t)n < want)
		return ek_fail(err, EK_EIO, "'%s': changed size while being read "
			       "(it shrank)", w->data_name);
	*got = (size_t)n;
	return 0;
}

static int finish_file(struct cpio_writer *w, struct ek_error *err)
{
	uint8_t b;
	ssize_t n = 0;

	if (w->fd < 0)
		return 0;
	if (!w->fd_owned) { /* a stage file: its bytes cannot change */
		w->fd = -1;
		return 0;
	}
	if (!w->at_eof)
		n = io_read_full(w->fd, &b, 1);
	close(w->fd);
	w->fd = -1;
	w->at_eof = false;
	if (n != 0)
		return ek_fail(err, EK_EIO, "'%s': changed size while being read "
			       "(it grew)", w->data_name);
	return 0;
}

/* Copy data bytes of the current entry. */
static int emit_data(struct cpio_writer *w, uint8_t *buf, size_t cap,
		     size_t *got, struct ek_error *err)
{
	uint64_t left = w->data_len - w->data_pos;
	size_t want = left < cap ? (size_t)left : cap;
	int ret = 0;

	if (w->fd >= 0)
		ret = read_file(w, buf, want, cap, got, err);
	else {
		memcpy(buf, w->mem + w->data_pos, want);
		*got = want;
	}
	w->data_pos += *got;
	return ret;
}

/* One step of the state machine; returns bytes placed in buf. */
static int step(struct cpio_writer *w, uint8_t *buf, size_t cap, size_t *got,
		struct ek_error *err)
{
	static const uint8_t zeros[CPIO_PAD];
	size_t n = 0;
	int ret = 0;

	switch (w->phase) {
	case P_HEADER:
		if (w->hdr_pos == w->hdr_len) {
			if (w->i == w->n) {
				w->phase = P_TRAILER;
				return 0;
			}
			if ((ret = start_member(w, err)))
				return ret;
		}
		n = w->hdr_len - w->hdr_pos < cap ? w->hdr_len - w->hdr_pos : cap;
		memcpy(buf, w->hdr + w->hdr_pos, n);
		w->hdr_pos += n;
		if (w->hdr_pos == w->hdr_len)
			w->phase = P_DATA;
		break;
	case P_DATA:
		if (w->data_pos < w->data_len)
			ret = emit_data(w, buf, cap, &n, err);
		if (ret == 0 && w->data_pos == w->data_len) {
			ret = finish_file(w, err);
			w->phase = P_PAD;
		}
		break;
	case P_PAD:
		n = pad4(w->off); /* data ends 4-aligned */
		n = n < cap ? n : cap;
		memcpy(buf, zeros, n);
		if (pad4(w->off + n) == 0) {
			w->i++;
			w->phase = P_HEADER;
			w->hdr_pos = w->hdr_len = 0;
		}
		break;
	case P_TRAILER:
		if (w->hdr_pos == w->hdr_len && w->hdr_len == 0) {
			ret = set_header(w, "", CPIO_TRAILER, w->ino++, 0, NULL, 1,
					 0, err);
			if (ret)
				return ret;
		}
		n = w->hdr_len - w->hdr_pos < cap ? w->hdr_len - w->hdr_pos : cap;
		memcpy(buf, w->hdr + w->hdr_pos, n);
		w->hdr_pos += n;
		if (w->hdr_pos == w->hdr_len)
			w->phase = P_END_PAD;
		break;
	case P_END_PAD:
		n = (size_t)((CPIO_PAD - w->off % CPIO_PAD) % CPIO_PAD);
		n = n < cap ? n : cap;
		memcpy(buf, zeros, n);
		if ((w->off + n) % CPIO_PAD == 0)
			w->phase = P_DONE;
		break;
	case P_DONE:
		break;
	}
	w->off += n;
	*got = n;
	return ret;
}

int cpio_writer_read(void *writer, uint8_t *buf, size_t cap, size_t *got,
		     struct ek_error *err)
{
	struct cpio_writer *w = writer;
	size_t done = 0;

	while (done < cap && w->phase != P_DONE) {
		size_t n = 0;
		int ret = step(w, buf + done, cap - done, &n, err);

		if (ret)
			return ret;
		done += n;
	}
	*got = done;
	return 0;
}

unsigned long cpio_writer_xattrs(const struct cpio_writer *w,
				 const char *first[CPIO_XATTR_FIRST])
{
	for (int i = 0; i < CPIO_XATTR_FIRST; i++)
		first[i] = (unsigned long)i < w->xattr_files ? w->xattr_first[i]
							     : NULL;
	return w->xattr_files;
}
