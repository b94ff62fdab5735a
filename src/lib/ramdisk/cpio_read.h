/* cpio_read.h: a streaming reader for cpio "newc" archives that may have
 * been crafted (AWS-BUILD-AND-INIT.md 3.1, PEERS.md 6).
 *
 * The reader walks a byte range of a file descriptor with pread and one
 * fixed buffer: the archive is never loaded into memory, and the file
 * offset of the descriptor is left alone. The range is what the kernel
 * calls an initramfs, "initramfs := (\0 | cpio_archive)*": several
 * archives may follow each other with NUL padding between them (the
 * kernel skips NULs after any entry, so runs of NULs may sit between
 * entries too). Every entry of every archive is returned in order; the
 * TRAILER!!! entries are consumed, not returned. An archive need not end
 * with a trailer: the end of the range ends it.
 *
 * What is checked (anything else is an EK_EFORMAT error that gives the
 * file offset of the problem): magic 070701, or 070702 with the data
 * checksum of regular files verified (the kernel checks no other type);
 * every header field 8 hex digits (either case); a known file type and no
 * mode bits above 0177777; 1 <= namesize <= CPIO_NAME_MAX with the only
 * NUL at name[namesize - 1]; the name's padding present; the data inside
 * the range; no data for directories, devices, FIFOs, sockets or the
 * trailer; symlink targets of at most CPIO_LINK_MAX bytes; padding bytes
 * are NUL; every header at a multiple of 4 from the start of the range
 * (the kernel counts alignment from the start of its buffer). Between
 * entries only NULs may follow, then a header, or compressed data (the
 * kernel would decompress it: the walk stops there, see r->compressed).
 *
 * Names are returned as stored: they are not normalised or confined. A
 * caller that creates files from them must do that itself; the data of
 * an entry is the filesize bytes at data_offset in the file.
 *
 * A struct cpio_reader holds a 64 KiB buffer and a struct cpio_entry
 * 8 KiB of name and target: neither belongs on a small stack. */
#ifndef EIFKIT_LIB_CPIO_READ_H
#define EIFKIT_LIB_CPIO_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "ramdisk/newc.h"

struct strbuf;

#define CPIO_BUF_SIZE 65536

struct cpio_entry {
	char name[CPIO_NAME_MAX];     /* NUL-terminated */
	size_t name_len;              /* namesize - 1 */
	uint32_t ino, mode, uid, gid, nlink, mtime, filesize;
	uint32_t devmajor, devminor, rdevmajor, rdevminor;
	uint32_t check;               /* 070702: sum of the data bytes */
	bool csum;                    /* magic was 070702 */
	/* Symlinks: the filesize bytes of the target, NUL-terminated. One
	 * trailing NUL (gen_init_cpio stores one) is not counted in link_len;
	 * a NUL elsewhere stays in (the kernel would cut the target there). */
	char link[CPIO_LINK_MAX + 1];
	size_t link_len;
	uint64_t hdr_offset;          /* file offset of the 110-byte header */
	uint64_t data_offset;         /* file offset of the filesize data bytes */
	unsigned archive;             /* trailers before it in the range: the
	                                 kernel's hard-link table resets at each */
};

struct cpio_reader {
	int fd;
	uint64_t start, end;   /* the range: file offsets [start, end) */
	uint64_t pos;          /* file offset of the next unread byte */
	const char *name;      /* the file, for messages */
	const char *what;      /* optional, e.g. "ramdisk 1": after the name */
	unsigned trailers;     /* TRAILER!!! entries passed so far */
	int failed;            /* the error returned: next() fails again */
	/* Set when the walk ended at compressed data instead of the end of
	 * the range (the kernel would decompress from there): */
	const char *compressed;    /* "gzip", "xz", ... or NULL */
	uint64_t compressed_offset;
	uint8_t buf[CPIO_BUF_SIZE];
};

/* Read the range [off, off + len) of fd; name (and r->what, NULL here)
 * only label messages and are borrowed. Fails with EK_EINVAL when the
 * range does not fit in a file offset. Nothing to release. */
int cpio_reader_init(struct cpio_reader *r, int fd, uint64_t off,
		     uint64_t len, const char *name, struct ek_error *err);

/* The next entry: 1 and *e filled, 0 at the end of the range (or where
 * compressed data starts: r->compressed is then set), or a negative
 * ek_code (EK_EFORMAT "'NAME': offset N: reason", EK_EIO) with err
 * filled. After an error, every later call returns the same code. */
int cpio_reader_next(struct cpio_reader *r, struct cpio_entry *e,
		     struct ek_error *err);

struct tree;
/* Add the entries of the archive at [off, off + len) of fd to t, as the
 * kernel would unpack them: a later entry replaces an earlier one of the
 * same path, hard-link members share the data one of them carries. A
 * regular file's content stays in fd (stage_fd, stage_off): fd must stay
 * open, and be above 0, while t is used. "." and the trailer are not
 * entries. A compressed tail is not read: *compressed names it (or is
 * NULL). The caller finishes t (tree_finish). */
int cpio_read_tree(struct tree *t, int fd, uint64_t off, uint64_t len,
		   const char *name, const char *what, const char **compressed,
		   struct ek_error *err);

/* The kernel's name for compressed data starting with p (it looks at two
 * bytes: lib/decompress.c), or NULL. */
const char *cpio_compression(const uint8_t *p, size_t len);

/* "drwxr-xr-x" and the like for a full st_mode, as ls -l writes it
 * (setuid 's'/'S', sticky 't'/'T'; '?' for an unknown type). */
void cpio_mode_string(uint32_t mode, char out[11]);


#endif
