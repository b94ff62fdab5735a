/* newc.h: the cpio "newc" format's constants, for the writer and the
 * reader (cpio(5); the kernel's Documentation/driver-api/early-userspace/
 * buffer-format.rst and usr/gen_init_cpio.c). */
#ifndef EIFKIT_LIB_NEWC_H
#define EIFKIT_LIB_NEWC_H

#define CPIO_MAGIC     "070701"  /* newc */
#define CPIO_MAGIC_CRC "070702"  /* newc with a data checksum */
#define CPIO_MAGIC_LEN 6
#define CPIO_NFIELDS   13        /* 8 hex digits each, after the magic */
#define CPIO_HDR_LEN   110       /* 6-byte magic + 13 fields of 8 hex digits */
#define CPIO_ALIGN     4         /* names and data are padded to it */
#define CPIO_TRAILER   "TRAILER!!!"
#define CPIO_NAME_MAX  4096      /* namesize, NUL included: the kernel's PATH_MAX */
#define CPIO_LINK_MAX  4096      /* symlink filesize: the kernel skips longer */

/* File type bits of the mode field (cpio(5); POSIX <cpio.h> C_IS*). */
#define CPIO_IFMT   0170000
#define CPIO_IFSOCK 0140000
#define CPIO_IFLNK  0120000
#define CPIO_IFREG  0100000
#define CPIO_IFBLK  0060000
#define CPIO_IFDIR  0040000
#define CPIO_IFCHR  0020000
#define CPIO_IFIFO  0010000

#endif
