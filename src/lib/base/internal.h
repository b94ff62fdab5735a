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

#endif
