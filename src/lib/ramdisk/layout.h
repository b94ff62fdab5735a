/* layout.h: the two ramdisks of an enclave image (DESIGN.md "Ramdisk
 * layouts") and a plain one, as cpio streams ready for the EIF writer.
 *
 * system: dev (dir 0755), init (0755), nsm.ko (0755, if given), all 0:0
 *         with mtime 1492533000 - byte-identical to nitro-cli's.
 * user:   rootfs (dir 0755, 0:0), the tree under rootfs/ with
 *         rootfs/{dev,proc,run,sys,tmp,var} present, then cmd, env and
 *         (if set) workdir, 0644, at the top.
 * plain:  the tree as it is. */
#ifndef EIFKIT_LIB_LAYOUT_H
#define EIFKIT_LIB_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "ramdisk/cpio_write.h"
#include "ramdisk/tree.h"

#define LAYOUT_SYSTEM_MTIME 1492533000 /* linuxkit's defaultModTime */

/* What init runs: cmd is argv, one per line; env is KEY=VALUE, one per
 * line; workdir (optional) one line. Values holding '\n' are refused. */
struct app_config {
	const char *const *argv;
	size_t argc;
	const char *const *env;
	size_t envc;
	const char *workdir;
};

struct ramdisk {
	struct tree own;             /* entries the layout adds */
	struct cpio_member *members;
	size_t n;
	uint32_t groups;
	struct cpio_writer *w;
};

/* init_path (required) and nsm_path (may be NULL) are files. */
int ramdisk_system(struct ramdisk *rd, const char *init_path,
		   const char *nsm_path, struct ek_error *err);
/* t is a finished tree (tree_finish), borrowed until ramdisk_release. */
int ramdisk_user(struct ramdisk *rd, const struct tree *t,
		 const struct app_config *app, int64_t mtime,
		 struct ek_error *err);
int ramdisk_plain(struct ramdisk *rd, const struct tree *t,
		  struct ek_error *err);
/* The stream: pass cpio_writer_read and rd->w to the EIF writer, or
 * read it directly. */
int ramdisk_open(struct ramdisk *rd, struct ek_error *err);
void ramdisk_release(struct ramdisk *rd);

/* The cmd/env/workdir file contents (malloc'd, caller frees). */
int layout_lines(const char *what, const char *const *items, size_t n,
		 int need_eq, uint8_t **ret, size_t *len_ret,
		 struct ek_error *err);

#endif
