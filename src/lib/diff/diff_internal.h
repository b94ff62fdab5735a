/* diff_internal.h: what the files of src/lib/diff share. */
#ifndef EIFKIT_LIB_DIFF_INTERNAL_H
#define EIFKIT_LIB_DIFF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "diff/diff.h"

#include <openssl/evp.h>

#define DIFF_READ_CHUNK (256u << 10)

/* The md digest of len bytes at off of fd, read through buf
 * (DIFF_READ_CHUNK bytes); a short read names the file. */
int diff_digest_range(const EVP_MD *md, int fd, const char *name,
		      uint64_t off, uint64_t len, uint8_t *buf, uint8_t *out,
		      struct ek_error *err);

/* Walk [off, off + len) of fd into s (zeroed by the caller); name and
 * what ("ramdisk 1", or NULL) label messages. *total counts the entries
 * of the whole file, against DIFF_MAX_ENTRIES. */
int diff_side_read(struct diff_side *s, int fd, const char *name,
		   const char *what, uint64_t off, uint64_t len,
		   size_t *total, struct ek_error *err);
void diff_side_release(struct diff_side *s);

/* Pair d->a and d->b by path and fill d's changes and counts. */
int diff_ramdisk_compare(struct diff_ramdisk *d, struct ek_error *err);

#endif
