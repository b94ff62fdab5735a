/* cpio.h: a streaming cpio "newc" writer (AWS-BUILD-AND-INIT.md 3.1,
 * PEERS.md 5 and 6).
 *
 * Headers are written the way linuxkit (and so nitro-cli) writes them:
 * magic 070701, lowercase hex, inode numbers counted from ino_start in
 * archive order (the trailer included), device 3/1, nlink 2 for
 * directories, symlink size = target length (no NUL), the archive padded
 * with zeros to a multiple of 512. Hard links share the first member's
 * inode number, nlink = number of members, and the data travels with the
 * first member (later members have size 0), which the kernel and GNU cpio
 * both accept. The stream is produced on demand (cpio_writer_read), so a
 * ramdisk goes straight into the EIF writer with no temporary file. */
#ifndef EIFKIT_LIB_CPIO_H
#define EIFKIT_LIB_CPIO_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "ramdisk/tree.h"

#define CPIO_INO_START 721
#define CPIO_PAD 512

/* One archive entry: its name is prefix + e->path (prefix may be ""). */
struct cpio_member {
	const char *prefix;
	const struct tree_entry *e;
};

struct cpio_writer;

/* members (borrowed until cpio_writer_free) in archive order. groups is
 * one more than the largest link_group used. */
int cpio_writer_new(const struct cpio_member *members, size_t n,
		    uint32_t groups, struct cpio_writer **ret,
		    struct ek_error *err);
/* Fill buf with up to cap bytes of the archive; *got = 0 at the end.
 * Matches struct eif_source's read callback. */
int cpio_writer_read(void *writer, uint8_t *buf, size_t cap, size_t *got,
		     struct ek_error *err);
/* Host files read so far whose extended attributes the archive leaves
 * out (newc has no place for them), and the first few of them by their
 * paths in the tree ("/usr/bin/ping"; NULL past the count). */
#define CPIO_XATTR_FIRST 3
unsigned long cpio_writer_xattrs(const struct cpio_writer *w,
				 const char *first[CPIO_XATTR_FIRST]);
/* Bytes produced so far. */
uint64_t cpio_writer_offset(const struct cpio_writer *w);
void cpio_writer_free(struct cpio_writer *w); /* NULL is fine */

#endif
