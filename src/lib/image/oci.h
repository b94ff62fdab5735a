/* oci.h: find the image to build in an OCI layout, an OCI archive or a
 * docker save archive, check every blob against its digest before it is
 * parsed, and read its config (the OCI image spec's index, manifest and
 * config; docker's manifest.json). */
#ifndef EIFKIT_LIB_OCI_H
#define EIFKIT_LIB_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/blobstore.h"

struct oci_layer {
	char *name;      /* member name in the store */
	char *digest;    /* what the member's bytes must hash to */
	int64_t size;    /* -1: not known (docker's manifest.json) */
	char *media_type;
};

struct oci_strings {
	char **v;
	size_t n;
	bool present;    /* the key was in the config (null counts as absent) */
};

struct oci_image {
	char *ref;               /* the name that selected it, if any */
	char *manifest_digest;   /* NULL for docker's legacy form */
	char *config_digest;
	struct oci_layer *layers;
	size_t nlayers;
	struct oci_strings entrypoint, cmd, env;
	char *workdir, *user, *arch, *os, *variant;
};

enum oci_kind { OCI_LAYOUT, OCI_ARCHIVE, DOCKER_ARCHIVE };

/* Pick the image: by ref (the org.opencontainers.image.ref.name or
 * io.containerd.image.name annotation, or a docker RepoTag), then by
 * platform (linux/goarch, goarch "amd64" or "arm64", variant v8 if any),
 * through nested indexes. One manifest under several refs is one image.
 * Zero or several matches are an error that lists what the store holds
 * (refs and platforms). Descriptors must have a size; every blob is
 * checked against its digest and size before it is parsed. A docker
 * archive with an OCI layout inside also gets its manifest digest. */
int oci_resolve(struct blobstore *bs, enum oci_kind kind, const char *ref,
		const char *goarch, struct oci_image *img,
		struct ek_error *err);
void oci_image_release(struct oci_image *img);

#endif
