/* layer.h: apply container image layers (tar, tar+gzip, tar+zstd) to a
 * tree, in order, with OCI whiteouts.
 *
 * File contents are copied once into a stage file: an unlinked temporary
 * file (O_TMPFILE), so nothing is ever visible outside eifkit and nothing
 * is left behind on any exit path, errors and signals included. Tree
 * entries point into it; the cpio writer reads them from there.
 *
 * Holes of sparse files stay holes in the stage file.
 *
 * Hostile layers: names are normalised (a leading "/" or "./" dropped);
 * ".." anywhere, a hard link to a path the image does not hold, data
 * shorter than the header says, and a name below a symlink or a file (as
 * it was when the entry came, in this layer or a lower one) are errors
 * that name the layer and the entry; duplicate entries keep the last one.
 * A hard link takes its target's mode, owner and mtime (one inode).
 * Whatever other tools could read another way is refused: any libarchive
 * warning, a pax name with a NUL (paxcheck.h), a whiteout name the image
 * spec does not define (".wh.", ".wh..", ".wh...", ".wh..wh.X" but the
 * opaque marker), bytes that are not what the media type says. */
#ifndef EIFKIT_LIB_LAYER_H
#define EIFKIT_LIB_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "image/blobstore.h"
#include "image/oci.h"
#include "ramdisk/tree.h"

struct stage {
	int fd;
	uint64_t size;
};

int stage_open(struct stage *st, const char *dir, struct ek_error *err);
void stage_close(struct stage *st);

struct layer_opts {
	bool keep_mtimes;        /* else mtime below */
	int64_t mtime;
	unsigned long xattr_files; /* out: entries whose xattrs were dropped */
	char xattr_first[3][256];  /* out: the first few, "/path" */
};

/* A layer's bytes, from wherever they come (a blob, or a fuzzer's
 * input). read fills up to cap bytes, fewer only at the end (0 there). */
struct layer_src {
	int (*read)(void *ctx, void *buf, size_t cap, size_t *got,
		    struct ek_error *err);
	void *ctx;
	const char *name;       /* for messages */
	const char *media_type; /* NULL: plain, gzip or zstd, as the bytes say */
};

/* Apply one layer to t. The media type's compression (+gzip, .gzip,
 * +zstd, else plain tar) must be what the bytes are (gzip 1f 8b, zstd
 * 28 b5 2f fd, anything else plain); only that one is decompressed.
 * Any libarchive warning is an error. */
int layer_apply_src(struct tree *t, struct stage *st,
		    const struct layer_src *src, struct layer_opts *o,
		    struct ek_error *err);

/* Verify the layer blob against its digest, then apply it to t. */
int layer_apply(struct tree *t, struct stage *st, struct blobstore *bs,
		const struct oci_layer *l, struct layer_opts *o,
		struct ek_error *err);

#endif
