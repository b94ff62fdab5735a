/* treeopts.h: the options build and ramdisk share to describe a root
 * filesystem and the app (--rootfs, --file, an image, --env, --env-file,
 * --entrypoint, --workdir, --keep-owners, --keep-mtimes, -- COMMAND),
 * parsed into a build plan (build.h). */
#ifndef EIFKIT_CLI_TREEOPTS_H
#define EIFKIT_CLI_TREEOPTS_H

#include <getopt.h>

#include "build.h"

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

struct treeopts {
	struct build_plan plan;    /* arrays below, argv strings */
	struct build_input *inputs;
	const char **env;
};

/* Room for argc options; -1 when out of memory. */
int treeopts_init(struct treeopts *o, int argc);
void treeopts_release(struct treeopts *o);
/* 1 if c was one of ours (handled), 0 if not. arg is borrowed. */
int treeopts_option(struct treeopts *o, int c, const char *arg);
/* Fill what comes from the environment (SOURCE_DATE_EPOCH, TMPDIR). */
int treeopts_environment(struct treeopts *o, struct ek_error *err);
/* Warnings about what the build dropped or cannot honour (sockets,
 * extended attributes, the image's User), on stderr. */
void treeopts_warn(const struct build_result *res, const char *cmd);

#endif
