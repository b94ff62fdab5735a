/* treeopts.h: the options build and ramdisk share to describe a root
 * filesystem and the app (--rootfs, --file, an image, --env, --env-file,
 * --entrypoint, --workdir, --keep-owners, --mtime, --keep-mtimes,
 * --exclude, --exclude-volatile, --explain-repro, -- COMMAND),
 * parsed into a build plan (build.h). */
#ifndef EIFKIT_CLI_TREEOPTS_H
#define EIFKIT_CLI_TREEOPTS_H

#include <getopt.h>

#include "build.h"
#include "ramdisk/cpio_write.h"

enum {
	TO_ROOTFS = 1000, TO_FILE, TO_ENV, TO_ENV_FILE, TO_ENTRYPOINT,
	TO_WORKDIR, TO_KEEP_OWNERS, TO_KEEP_MTIMES, TO_OCI, TO_OCI_ARCHIVE,
	TO_DOCKER_ARCHIVE, TO_NITRO_COMPAT, TO_MTIME, TO_EXCLUDE,
	TO_EXCLUDE_VOLATILE, TO_EXPLAIN_REPRO,
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
	{ "nitro-cli-compat", no_argument, NULL, TO_NITRO_COMPAT },         \
	{ "mtime", required_argument, NULL, TO_MTIME },                     \
	{ "exclude", required_argument, NULL, TO_EXCLUDE },                 \
	{ "exclude-volatile", no_argument, NULL, TO_EXCLUDE_VOLATILE },     \
	{ "explain-repro", no_argument, NULL, TO_EXPLAIN_REPRO }

/* The help lines of the options above that build and ramdisk share. */
#define TREEOPTS_HELP_REPRO                                                  \
	"  --mtime zero|keep|clamp    mtimes: SOURCE_DATE_EPOCH (or 0), as they\n" \
	"                             are, or min(mtime, SOURCE_DATE_EPOCH)\n"     \
	"                             (default: clamp for an image's files, zero\n"\
	"                             for folders and --file)\n"                   \
	"  --keep-mtimes              --mtime keep\n"                              \
	"  --exclude PATTERN          leave out a path or glob of the image's\n"   \
	"                             root and everything below it; repeat\n"      \
	"  --exclude-volatile         leave out the files package managers fill\n" \
	"                             with build-time data (dpkg and apt logs,\n"  \
	"                             ldconfig's aux-cache, machine ids)\n"        \
	"  --explain-repro            list every file that looks build-time\n"     \
	"                             dependent, with its fix\n"

struct treeopts {
	struct build_plan plan;    /* arrays below, argv strings */
	struct build_input *inputs;
	const char **env;
	const char **exclude;
	bool explain;              /* --explain-repro */
};

/* Room for argc options; -1 when out of memory. */
int treeopts_init(struct treeopts *o, int argc);
void treeopts_release(struct treeopts *o);
/* 1 if c was one of ours (handled), 0 if not, -1 if it was but its
 * argument is not valid (a usage error). arg is borrowed. */
int treeopts_option(struct treeopts *o, int c, const char *arg);
/* Fill what comes from the environment (SOURCE_DATE_EPOCH, TMPDIR). */
int treeopts_environment(struct treeopts *o, struct ek_error *err);
/* Warnings about what the build dropped or cannot honour (sockets, the
 * image's User, --exclude patterns that matched nothing) and the
 * reproducibility report (short, or every finding with --explain-repro),
 * on stderr. */
void treeopts_warn(const struct treeopts *o, const struct build_result *res,
		   const char *cmd);
/* The warning about dropped extended attributes, once the ramdisk has
 * been written: the writer w counts those of the regular files it read,
 * res those of the image's layers and of the other entries. */
void treeopts_warn_xattrs(const struct build_result *res,
			  const struct cpio_writer *w, const char *cmd);

#endif
