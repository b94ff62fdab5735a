/* eif.h: the EIF container (EIF-FORMAT.md): header layout, a streaming
 * writer and a validating reader.
 *
 * File layout (section 1): a 548-byte big-endian header, then for each
 * section a 12-byte section header and its data, contiguous, no padding.
 * section_offsets[i] points at section i's 12-byte header. The CRC32 at
 * byte 544 covers every other byte of the file (section 6). */
#ifndef EIFKIT_LIB_EIF_H
#define EIFKIT_LIB_EIF_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "eif/measure.h"

#define EIF_MAGIC "\x2e\x65\x69\x66"   /* ".eif" */
#define EIF_HDR_SIZE 548               /* section 2 */
#define EIF_CRC_OFFSET 544
#define EIF_SEC_HDR_SIZE 12            /* section 3 */
#define EIF_MAX_SECTIONS 32
#define EIF_VERSION 4
#define EIF_DEFAULT_MEM 1073741824ULL  /* section 10, fixed by AWS */
#define EIF_DEFAULT_CPUS 2ULL
#define EIF_FLAG_ARM64 0x1
#define EIF_METADATA_MAX (16u << 20)   /* our cap on a metadata section */
#define EIF_SIGNATURE_MAX 32768        /* section 3.1 */

enum eif_section_type {
	EIF_SEC_KERNEL = 1,
	EIF_SEC_CMDLINE = 2,
	EIF_SEC_RAMDISK = 3,
	EIF_SEC_SIGNATURE = 4,
	EIF_SEC_METADATA = 5,
};

struct eif_header {
	uint8_t magic[4];
	uint16_t version;
	uint16_t flags;
	uint64_t default_mem;
	uint64_t default_cpus;
	uint16_t reserved;
	uint16_t num_sections;
	uint64_t section_offsets[EIF_MAX_SECTIONS];
	uint64_t section_sizes[EIF_MAX_SECTIONS];
	uint32_t unused;
	uint32_t crc32;
};

void eif_header_encode(const struct eif_header *h, uint8_t out[EIF_HDR_SIZE]);
void eif_header_decode(const uint8_t in[EIF_HDR_SIZE], struct eif_header *h);
void eif_sec_hdr_encode(uint16_t type, uint64_t size,
			uint8_t out[EIF_SEC_HDR_SIZE]);
const char *eif_section_name(uint16_t type); /* "kernel", ... or "invalid" */

/* ---- writer ---- */

/* Where a section's bytes come from. */
struct eif_source {
	const char *name;        /* for messages: a path or "metadata" */
	const uint8_t *mem;      /* bytes in memory (when fd < 0 and !read) */
	size_t mem_len;
	int fd;                  /* or a file: from off, len bytes, or to end */
	uint64_t off;            /*   of file when len == EIF_LEN_TO_EOF; a */
	uint64_t len;            /*   regular file must keep this size */
	int whole_file;          /* fd is a whole file: fail if it grows */
	/* or a generator: fill buf with up to cap bytes, *got = 0 at the end */
	int (*read)(void *ctx, uint8_t *buf, size_t cap, size_t *got,
		    struct ek_error *err);
	void *ctx;
};
#define EIF_LEN_TO_EOF UINT64_MAX
/* The most a section read from a pipe may hold: a pipe has no size to
 * check in advance, and /dev/zero-like input must not fill the disk. */
#define EIF_STREAM_MAX (16ULL << 30)

void eif_source_mem(struct eif_source *s, const char *name, const void *p,
		    size_t len);
void eif_source_fd(struct eif_source *s, const char *name, int fd,
		   uint64_t off, uint64_t len);
/* A whole input file of the given size (EIF_LEN_TO_EOF for pipes): an
 * error if it shrinks or grows while it is read. */
void eif_source_file(struct eif_source *s, const char *name, int fd,
		     uint64_t size);

struct eif_wsection {
	uint16_t type;
	struct eif_source src;
};

struct ek_signer;

struct eif_write_opts {
	uint16_t flags;                  /* EIF_FLAG_ARM64 or 0 */
	const struct ek_signer *signer;  /* NULL: unsigned */
	/* NULL, or called by the writing thread after each chunk with the
	 * bytes of the file written so far: for a progress display, which
	 * is the caller's (the library prints nothing). */
	void (*progress)(void *ctx, uint64_t done);
	void *progress_ctx;
};

struct eif_write_result {
	uint8_t pcr[3][PCR_LEN];
	bool is_signed;
	uint8_t pcr8[PCR_LEN];
	uint64_t file_size;
};

/* Write an EIF with the sections in the given order (a signature section
 * is appended when opts->signer is set) into fd, an empty file opened for
 * writing (pwrite: from offset 0); name is for messages. The caller
 * makes the file visible (io_outfile_commit) once everything else has
 * succeeded too, or discards it. Every source is read once. Fails with
 * EK_ELIMIT for more than 32 sections or a pipe longer than
 * EIF_STREAM_MAX; res is filled only on success. */
int eif_write(int fd, const char *name, const struct eif_wsection *secs,
	      unsigned n, const struct eif_write_opts *opts,
	      struct eif_write_result *res, struct ek_error *err);

/* ---- reader ---- */

struct eif_section {
	uint16_t type;
	uint64_t offset; /* of the 12-byte section header */
	uint64_t size;   /* of the data */
};

struct eif_image {
	const char *name;
	int fd;
	bool own_fd;            /* opened by eif_open: closed by release */
	struct eif_header hdr;
	struct eif_section sec[EIF_MAX_SECTIONS];
	unsigned nsec;
	uint64_t file_size;
	int kernel, cmdline, metadata, signature; /* section index or -1 */
	unsigned nramdisks;
	/* filled when read with hashing */
	bool crc_ok;
	uint32_t crc_computed;
	uint8_t pcr[3][PCR_LEN];
	uint8_t *metadata_buf;  /* NUL-terminated copy, or NULL */
	size_t metadata_len;
	uint8_t *signature_buf; /* copy, or NULL */
	size_t signature_len;
};

enum eif_read_flags {
	EIF_READ_NOHASH = 1 << 0, /* layout only: no CRC, no PCRs */
};

/* Open and check an EIF (EIF-FORMAT.md 14 and 15.14): magic, version
 * 2..4, num_sections <= 32, each offset equal to the running position,
 * sizes agreeing with the section headers, types 1..5, section flags 0,
 * exactly one kernel and one cmdline, at least one ramdisk and every
 * ramdisk after the kernel, at most one signature and metadata section,
 * metadata present for version 4, no trailing bytes, no overflow. Then
 * stream every section once for the CRC and PCRs. A bad CRC is not an
 * error (crc_ok = false). Release with eif_image_release. */
int eif_open(const char *path, struct eif_image *img, unsigned flags,
	     struct ek_error *err);
/* The same on an open file (not closed by release; name for messages). */
int eif_read_fd(int fd, const char *name, struct eif_image *img,
		unsigned flags, struct ek_error *err);
void eif_image_release(struct eif_image *img);

#endif
