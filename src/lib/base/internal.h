/* internal.h: included first by every library source file.
 *
 * The one place where feature-test macros are set, so that every
 * translation unit sees the same system headers. */
#ifndef EIFKIT_LIB_INTERNAL_H
#define EIFKIT_LIB_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* O_TMPFILE-free code, but pipe2/getrandom etc. */
#endif
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Room for element n of an array of elem-byte elements with *alloc
 * allocated: base itself while n < *alloc, else base grown (doubled, or
 * first elements at first) with *alloc updated. NULL when memory or
 * size_t runs out; base and *alloc are then as they were. As git's
 * ALLOC_GROW, in one checked place. */
void *ek_grow(void *base, size_t n, size_t *alloc, size_t elem, size_t first);

#endif
