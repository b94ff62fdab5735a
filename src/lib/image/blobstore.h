/* blobstore.h: read the files of a container image wherever they are: in
 * an OCI image layout folder, or as members of a tar archive (an OCI
 * archive, or what `docker save` writes). Names are relative paths such as
 * "index.json" or "blobs/sha256/<hex>"; a tar member's leading "./" is
 * ignored and symlink and hard-link members are followed (skopeo writes
 * layer.tar as a symlink). An archive is read once, at open, for where
 * its members are (two members of one name are refused, and so is any
 * header libarchive reads only in part); each member is then read in
 * place. A compressed archive (gzip, zstd, xz, bzip2) is decompressed
 * once into an unlinked temporary file in tmpdir and read from there, so
 * it takes as much room there as it holds. */
#ifndef EIFKIT_LIB_BLOBSTORE_H
#define EIFKIT_LIB_BLOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct blobstore;
struct blob_stream;

/* kind: 'd' for a layout folder, 't' for a tar archive. tmpdir: where
 * a compressed archive is decompressed to (NULL: /tmp). */
int blobstore_open(char kind, const char *path, const char *tmpdir,
		   struct blobstore **ret, struct ek_error *err);
void blobstore_free(struct blobstore *bs);
const char *blobstore_path(const struct blobstore *bs);

/* Does the member exist? */
int blobstore_exists(struct blobstore *bs, const char *name);

/* Open a member for reading; *size_ret gets its size. */
int blob_open(struct blobstore *bs, const char *name,
	      struct blob_stream **ret, uint64_t *size_ret,
	      struct ek_error *err);
/* Read up to cap bytes; 0 at the end. */
int blob_read(struct blob_stream *s, void *buf, size_t cap, size_t *got,
	      struct ek_error *err);
void blob_close(struct blob_stream *s);

/* Read a whole member of at most max bytes (NUL-terminated, malloc'd). */
int blob_read_all(struct blobstore *bs, const char *name, size_t max,
		  char **buf_ret, size_t *len_ret, struct ek_error *err);

/* Check a member against "sha256:<hex>" or "sha512:<hex>" and, if
 * size >= 0, its size; EK_EMISMATCH names the blob. */
int blob_verify(struct blobstore *bs, const char *name, const char *digest,
		int64_t size, struct ek_error *err);

#endif
