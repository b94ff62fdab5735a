/* diff.h: why two EIFs, or two cpio archives, differ (eifkit diff,
 * docs/eifkit-diff.md).
 *
 * Both files go through the strict readers (eif_read_fd, cpio_reader).
 * Every ramdisk is walked entry by entry: an entry keeps its header
 * fields, its name and link target and a SHA-256 of its data, never the
 * data itself (only the small cmd, env and workdir files init reads are
 * kept whole), so memory grows with the number of entries, not with
 * their size. Entries are paired by path; the k-th entry of one name in
 * one archive pairs with the k-th of that name in the other.
 *
 * The layer above eif and ramdisk: it uses both, and base. */
#ifndef EIFKIT_LIB_DIFF_H
#define EIFKIT_LIB_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "eif/eif.h"
#include "eif/metadata.h"
#include "eif/sign.h"

#define DIFF_SHA_LEN 32             /* entry content: SHA-256 */
#define DIFF_SEC_SHA_LEN 48         /* sections: SHA-384 */
#define DIFF_APP_MAX (64u << 10)    /* cmd, env, workdir kept up to this */
#define DIFF_MAX_ENTRIES (4u << 20) /* entries in one file, both together */

/* One cpio entry, as the kernel would unpack it. */
struct diff_entry {
	const char *name;            /* NUL-terminated, in the side's arena */
	const char *link;            /* symlink target, or NULL */
	const uint8_t *app;          /* top-level cmd/env/workdir data, or NULL */
	uint32_t name_len, link_len, app_len;
	uint32_t pos;                /* place in the ramdisk, from 0 */
	uint32_t mode, uid, gid, nlink, mtime, size;
	uint32_t rdevmajor, rdevminor, ino, devmajor, devminor, archive;
	int32_t group;               /* pos of its hard-link group's first
	                                entry when the group has >= 2, or -1 */
	uint8_t sha[DIFF_SHA_LEN];   /* of the data (regular files) */
};

struct diff_arena;

/* The entries of one ramdisk (or cpio file), in archive order. */
struct diff_side {
	struct diff_entry *e;
	size_t n, alloc;
	struct diff_arena *arena;
	uint32_t *by_name;           /* indexes sorted by (name, pos) */
	const char *compressed;      /* compressed data from comp_off to the
	                                end ("gzip", ...), or NULL */
	uint64_t comp_off, comp_len;
	uint8_t comp_sha[DIFF_SHA_LEN];
};

enum diff_field {
	DF_TYPE = 1 << 0,
	DF_MODE = 1 << 1,     /* permission bits (07777) */
	DF_UID = 1 << 2,
	DF_GID = 1 << 3,
	DF_MTIME = 1 << 4,
	DF_SIZE = 1 << 5,
	DF_CONTENT = 1 << 6,
	DF_TARGET = 1 << 7,   /* symlink target */
	DF_RDEV = 1 << 8,     /* device numbers of a device node */
	DF_LINK = 1 << 9,     /* hard-link group (by the first name in it) */
	DF_NLINK = 1 << 10,
	DF_INO = 1 << 11,     /* only when nothing else differs: */
	DF_DEV = 1 << 12,     /*   raw inode and device of the archive */
	DF_MOVED = 1 << 13,   /* in another place relative to the others */
};
#define DF_NFIELDS 14
/* "type", "mode", ... in enum order (DF_TYPE is bit 0). */
extern const char *const diff_field_names[DF_NFIELDS];

/* a NULL: added; b NULL: removed; else fields says what differs. */
struct diff_change {
	const struct diff_entry *a, *b;
	uint32_t fields;
};

enum diff_app_bits { DIFF_APP_ARGV = 1, DIFF_APP_ENV = 2, DIFF_APP_WORKDIR = 4 };

struct diff_ramdisk {
	unsigned index;              /* ramdisk number (0 for a cpio file) */
	int sec_a, sec_b;            /* EIF section index, -1: absent */
	const char *label;           /* "system", "user" or NULL */
	struct diff_side a, b;
	bool walked;                 /* entries compared (bytes differ) */
	struct diff_change *ch;      /* in path order */
	size_t nch;
	size_t added, removed, changed, moved;
	bool compressed_differs;
	bool encoding_only;          /* bytes differ, entries do not */
	unsigned app;                /* enum diff_app_bits */
	const struct diff_entry *app_a[3], *app_b[3]; /* cmd, env, workdir */
};

/* A metadata key that differs; values are compact JSON (strings as
 * their text), NULL when the key is absent. */
struct diff_kv {
	char *key;                   /* may hold NUL (JSON "\u0000") */
	char *a, *b;
	size_t key_len, a_len, b_len;
};

enum diff_header_bits {
	DH_VERSION = 1 << 0,
	DH_ARCH = 1 << 1,
	DH_MEM = 1 << 2,
	DH_CPUS = 1 << 3,
	DH_NSEC = 1 << 4,
	DH_RESERVED = 1 << 5,
	DH_UNUSED = 1 << 6,
	DH_CRC = 1 << 7,
};

enum diff_sig_bits {
	DS_ADDED = 1 << 0,
	DS_REMOVED = 1 << 1,
	DS_CERT = 1 << 2,            /* another certificate: PCR8 */
	DS_BYTES = 1 << 3,           /* same certificate, other signature */
};

struct diff_file {
	const char *path;
	int fd;
	uint64_t size;
	struct eif_image img;        /* EIFs only */
	uint8_t sha[EIF_MAX_SECTIONS][DIFF_SEC_SHA_LEN];
	struct eif_metadata meta;
	bool have_meta, have_sig;
	struct sig_info sig;
	char *subject;               /* RFC 2253, of the signing certificate */
	uint8_t fingerprint[DIFF_SHA_LEN]; /* SHA-256 of its DER */
};

struct diff_result {
	bool is_eif;
	struct diff_file a, b;
	bool identical;
	unsigned pcrs;               /* bit n: PCRn differs (0, 1, 2, 8) */
	unsigned header;             /* enum diff_header_bits */
	bool order;                  /* the section types' sequence differs */
	bool kernel, cmdline, metadata;
	unsigned sig;                /* enum diff_sig_bits */
	struct diff_kv *kv;
	size_t nkv, kv_alloc;
	struct diff_ramdisk *rd;
	unsigned nrd;
};

/* Compare two EIFs or two cpio files (told apart by the EIF magic; one
 * of each is EK_EINVAL). Errors: EK_EIO and EK_EFORMAT naming the file,
 * EK_ELIMIT past DIFF_MAX_ENTRIES, EK_ENOMEM. *ret is freed with
 * diff_free, also after an error (NULL is fine). */
int diff_files(const char *path_a, const char *path_b,
	       struct diff_result **ret, struct ek_error *err);
void diff_free(struct diff_result *r);

/* PCRs each part of an EIF moves: bit n for PCRn. */
unsigned diff_section_pcrs(uint16_t type, unsigned ramdisk_index);

/* ---- reports (diff_report.c, diff_json.c) ---- */

/* Where a report goes: returns 0, or a negative ek_code with err set. */
typedef int (*diff_out_fn)(void *ctx, const char *s, size_t len,
			   struct ek_error *err);

/* The first line of the report, without its newline: "PCR0 and PCR2
 * differ: ramdisk 1 (user): 3 changed, 1 added; metadata: BuildTime". */
void diff_summary(const struct diff_result *r, struct strbuf *sb);
/* The summary, then the details; at most max_entries entry lines per
 * ramdisk. Every string from the inputs is escaped (base/text.h). */
int diff_write_text(const struct diff_result *r, size_t max_entries,
		    diff_out_fn out, void *ctx, struct ek_error *err);
/* The same as one JSON object, every entry included (schema in
 * docs/eifkit-diff.md). */
int diff_write_json(const struct diff_result *r, diff_out_fn out, void *ctx,
		    struct ek_error *err);

#endif
