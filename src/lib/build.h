/* treeopts.h: the options build and ramdisk share to describe a root
 * filesystem and the app (--rootfs, --file, --env, --env-file,
 * --entrypoint, --workdir, --keep-owners, --keep-mtimes, -- COMMAND). */
#ifndef EIFKIT_CLI_TREEOPTS_H
#define EIFKIT_CLI_TREEOPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "image/layer.h"
#include "image/oci.h"
#include "ramdisk/layout.h"
#include "ramdisk/scan.h"
#include "ramdisk/tree.h"

enum {
	TO_ROOTFS = 1000, TO_FILE, TO_ENV, TO_ENV_FILE, TO_ENTRYPOINT,
	TO_WORKDIR, TO_KEEP_OWNERS, TO_KEEP_MTIMES, TO_OCI, TO_OCI_ARCHIVE,
	TO_DOCKER_ARCHIVE, TO_NITRO_COMPAT,
};

#define TREEOPTS_LONG                                                        \
	{ "rootfs", required_argument, NULL, TO_ROOTFS },                   \
	{ "file", required_argument, NULL, TO_FILE },                       \
	{ "env", required_argument, NULL, TO_ENV },                         \
	{ "env-file", required_argument, NULL, TO_ENV_FILE },               \
	{ "entrypoint", required_argument, NULL, TO_ENTRYPOINT },           \
	{ "workdir", required_argument, NULL, TO_WORKDIR },                 \
	{ "keep-owners", no_argument, NULL, TO_KEEP_OWNERS },               \
	{ "keep-mtimes", no_argument, NULL, TO_KEEP_MTIMES },               \
	{ "oci", required_argument, NULL, TO_OCI },                         \
	{ "oci-archive", required_argument, NULL, TO_OCI_ARCHIVE },         \
	{ "docker-archive", required_argument, NULL, TO_DOCKER_ARCHIVE },   \
	{ "nitro-cli-compat", no_argument, NULL, TO_NITRO_COMPAT }

/* Inputs in the order given; later ones overlay earlier ones. */
struct treeopts {
	const char **inputs;   /* "d:DIR", "f:SPEC", or an image: "o:DIR[:REF]",
	                          "a:TAR[:REF]" (OCI archive), "k:TAR[:REF]"
	                          (docker save) */
	size_t ninputs;
	const char **env;      /* --env, in order */
	size_t nenv;
	const char *env_file, *entrypoint, *workdir;
	char **cmd;            /* words after -- */
	size_t ncmd;
	bool keep_owners, keep_mtimes, nitro_compat;
	const char *goarch;    /* set by the caller: "amd64" or "arm64" */
	/* built */
	bool have_image;
	struct oci_image image;
	struct stage stage;
	struct layer_opts lopts;
	struct tree tree;
	char **argv_built, **env_built;
	size_t argc_built, envc_built;
	char *env_file_buf;
	struct scan_opts scan;
};

int treeopts_init(struct treeopts *o, int argc);
void treeopts_release(struct treeopts *o);
/* 1 if c was one of ours (handled), 0 if not. */
int treeopts_option(struct treeopts *o, int c, char *arg);
/* Scan the inputs into o->tree (finished) and build the app config. */
int treeopts_build(struct treeopts *o, struct app_config *app,
		   struct ek_error *err);

#endif
