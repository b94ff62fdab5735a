/* tree.h: the root filesystem as a sorted list of entries (DESIGN.md,
 * "tree"). Every input kind (folders, single files, container layers)
 * becomes a tree; the ramdisk layouts and the cpio writer take it from
 * there. Paths are relative, '/'-separated, without leading or trailing
 * '/', with no empty, "." or ".." components. */
#ifndef EIFKIT_LIB_TREE_H
#define EIFKIT_LIB_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

#define TREE_PATH_MAX 4095 /* bytes of a name in the archive, NUL excluded */
#define TREE_FILE_MAX 0xFFFFFFFFULL /* newc's 8-hex-digit size field */
#define TREE_MTIME_MAX 0xFFFFFFFFULL /* and mtime field */

enum tree_type { TREE_REG, TREE_DIR, TREE_LNK, TREE_CHR, TREE_BLK, TREE_FIFO };

struct tree_entry {
	char *path;            /* owned */
	enum tree_type type;
	uint32_t mode;         /* permission bits, setuid/setgid/sticky (07777) */
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t rdev_major, rdev_minor;
	uint64_t size;         /* regular files */
	char *link;            /* symlink target, owned */
	char *src;             /* regular files: the content's host path, for
	                          messages (owned); the file is opened by
	                          src + src_rel beneath the folder src_dir
	                          (tree_open_beneath), which the tree holds,
	                          and must be the one the scan saw
	                          (src_dev, src_ino) ... */
	int src_dir;
	uint32_t src_rel;
	uint64_t src_dev, src_ino;
	uint8_t *data;         /* ... or the content itself (owned) ... */
	int stage_fd;          /* ... or bytes at stage_off of this file, */
	uint64_t stage_off;    /*   (a container layer's staged content, */
	                       /*   not owned) when stage_fd > 0 */
	uint32_t link_group;   /* hard links share a non-zero group */
	uint64_t seq;          /* insertion order: later inputs win */
	uint64_t hide_seq;     /* set by tree_finish: entries below this path
	                          added before hide_seq are hidden (a
	                          non-directory replaced the directory they
	                          were in), even if a directory came back */
};

struct tree_dir {
	int fd;
	uint64_t dev, ino;
};

struct tree {
	struct tree_entry *e;
	size_t n, alloc;
	uint64_t next_seq;
	uint32_t next_group;
	/* the folders content is read beneath (src_dir), open until
	 * tree_release */
	struct tree_dir *dirs;
	size_t ndirs, dirs_alloc;
};

void tree_init(struct tree *t);
/* Free the entries and close the held folders. */
void tree_release(struct tree *t);

/* Hold the folder fd (O_PATH is enough) until tree_release: the tree owns
 * fd from now on, even on failure. *ret is the fd entries name as their
 * src_dir: fd, or the one already held for the same folder (fd is closed
 * then, so that a thousand --file arguments from one folder cost one). */
int tree_hold_dir(struct tree *t, int fd, int *ret, struct ek_error *err);

/* Open rel, a relative path below the folder dir, with flags (O_RDONLY,
 * O_CLOEXEC, ...), never leaving dir: no component may be a symlink,
 * ".." or empty, so a folder renamed and replaced by a symlink while
 * eifkit runs cannot lead outside. Uses openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) where the kernel has it, else one openat with
 * O_NOFOLLOW per component; *walk (the caller's, false at first) is set
 * once openat2 is found missing or forbidden (seccomp), and forces the
 * walk. Returns the fd, or -1 with errno: ELOOP or ENOTDIR when a symlink
 * or a non-folder is on the way, EXDEV for a path that would leave dir. */
int tree_open_beneath(int dir, const char *rel, int flags, bool *walk);

/* Read up to len bytes of a regular file's content at off, from wherever
 * the entry keeps it (its data, a stage file, or its host file beneath
 * the held folder, which must still be the file the scan saw). Returns
 * the number of bytes read (short at the end) or a negative error. For
 * looking into a few files (the app checks), not for streaming. */
ssize_t tree_entry_pread(const struct tree_entry *e, void *buf, size_t len,
			 uint64_t off, struct ek_error *err);

/* Check and normalise a path given by a user or an archive: strip leading
 * "/" and "./", collapse "//" and trailing "/"; refuse "..", "." inside,
 * NUL, empty results and names over TREE_PATH_MAX. *ret is malloc'd. */
int tree_path_normalise(const char *in, char **ret, struct ek_error *err);

/* Append an entry (fields copied; path/link/src/data ownership moves to
 * the tree on success). */
int tree_add(struct tree *t, struct tree_entry *e, struct ek_error *err);

/* Free what an entry owns (for entries taken out of a tree). */
void tree_entry_release(struct tree_entry *e);

/* A fresh hard-link group number. */
uint32_t tree_new_group(struct tree *t);

/* Make the tree final: sort by path bytes, keep the last entry added for
 * each path, drop entries that a later non-directory at one of their
 * ancestors' paths hid (an overlay replaced that directory; a directory
 * added there later again does not bring them back), refuse entries below
 * a non-directory added before them, add missing parent directories
 * (0755, 0:0, mtime given), and turn hard-link groups with a single
 * remaining member back into plain files. */
int tree_finish(struct tree *t, int64_t dir_mtime, struct ek_error *err);

/* Remove from a finished tree every entry that drop(e, ctx) picks and
 * everything below it (drop is not asked about those), keeping the tree
 * finished: a hard-link group left with one member is a plain file
 * again. Parents stay. Returns the number of entries drop picked, or -1
 * when out of memory (the tree is then unchanged). */
long tree_remove(struct tree *t,
		 bool (*drop)(const struct tree_entry *e, void *ctx),
		 void *ctx);

/* Find an entry by (normalised) path in a finished tree, or NULL. */
struct tree_entry *tree_find(const struct tree *t, const char *path);

#endif
