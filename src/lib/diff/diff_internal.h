/* diff_internal.h: what the files of src/lib/diff share. */
#ifndef EIFKIT_LIB_DIFF_INTERNAL_H
#define EIFKIT_LIB_DIFF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "diff/diff.h"

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
