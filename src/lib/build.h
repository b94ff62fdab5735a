/* build.h: the build plan. What a user asks for (root filesystem inputs
 * in order, the app's command, environment and folder, the owner and
 * mtime policy) becomes the merged tree and the app files that the user
 * ramdisk holds. Every front end calls this: `eifkit build` and `eifkit
 * ramdisk`, and anything that must rebuild an image to compare it.
 *
 * The plan is plain data the caller owns; nothing here reads the
 * environment (SOURCE_DATE_EPOCH and TMPDIR come in as fields). Not
 * thread-safe per result; separate results are independent. */
#ifndef EIFKIT_LIB_BUILD_H
#define EIFKIT_LIB_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/layer.h"
#include "image/oci.h"
#include "ramdisk/layout.h"
#include "ramdisk/scan.h"
#include "ramdisk/tree.h"

struct json_value;

enum build_input_kind {
	BUILD_ROOTFS,          /* a folder, its contents under / */
	BUILD_FILE,            /* SRC:DEST[:MODE] */
	BUILD_OCI_LAYOUT,      /* DIR[:REF] */
	BUILD_OCI_ARCHIVE,     /* TAR[:REF] */
	BUILD_DOCKER_ARCHIVE,  /* TAR[:REF], what docker save writes */
};

struct build_input {
	enum build_input_kind kind;
	const char *arg;
};

/* How mtimes are written (docs/eifkit-build.md, "Making an image
 * reproducible"). */
enum build_mtime {
	BUILD_MTIME_DEFAULT,   /* clamp for an image's files, zero for the rest */
	BUILD_MTIME_ZERO,      /* every mtime is the plan's mtime */
	BUILD_MTIME_KEEP,      /* as the input has them */
	BUILD_MTIME_CLAMP,     /* min(mtime, the plan's mtime) when have_epoch;
	                          else as keep: there is nothing to clamp to */
};

/* One finding of the reproducibility report. */
enum build_note_kind {
	BUILD_NOTE_VOLATILE,   /* a file of the volatile list, not excluded */
	BUILD_NOTE_PYC,        /* a timestamp-based .pyc made stale by the
	                          mtime policy: its source's mtime changes */
};

struct build_note {
	enum build_note_kind kind;
	const char *path;      /* in the tree, without the leading '/' */
	const char *source;    /* PYC: the .py, in the tree */
	int64_t was, now;      /* PYC: the source's mtime, in and out */
};

/* The --exclude-volatile list: globs (as --exclude takes them). */
extern const char *const build_volatile[];
extern const size_t build_nvolatile;

struct build_plan {
	/* Later inputs overlay earlier ones; at most one container image. */
	const struct build_input *inputs;
	size_t ninputs;
	/* The app. env: KEY=VALUE, later ones replace earlier ones with the
	 * same key, after the image's Env and the env_file's lines. */
	const char *const *env;
	size_t nenv;
	const char *env_file;    /* KEY=VALUE lines, '#' comments */
	const char *entrypoint;  /* replaces the image's Entrypoint, drops Cmd */
	const char *const *cmd;  /* replaces the image's Cmd */
	size_t ncmd;
	const char *workdir;     /* else the image's WorkingDir */
	bool nitro_compat;       /* Cmd if any, else Entrypoint (nitro-cli) */
	/* Normalisation. */
	bool keep_owners;        /* else uid/gid 0 */
	enum build_mtime mtime_policy;
	int64_t mtime;           /* SOURCE_DATE_EPOCH, or 0 */
	bool have_epoch;         /* SOURCE_DATE_EPOCH was given */
	/* Left out after every input is overlaid: paths or globs in the
	 * image's root (fnmatch, FNM_PATHNAME); a match takes everything
	 * below it too. */
	const char *const *exclude;
	size_t nexclude;
	bool exclude_volatile;   /* and build_volatile */
	const char *goarch;      /* image platform: "amd64" or "arm64" */
	const char *tmpdir;      /* stage file, decompressed archives; NULL: /tmp */
};

struct build_result {
	struct tree tree;        /* finished (tree_finish) */
	struct app_config app;   /* points into this result and the plan */
	bool have_image;
	struct oci_image image;  /* when have_image */
	/* What could not be kept, for the caller to warn about. */
	unsigned long sockets, xattr_files;
	const char *first_socket; /* one example, into this result */
	const char *xattr_first[3]; /* the first few, into this result */
	/* What was excluded: the top paths removed ("/var/log/apt"), sorted,
	 * and the plan's --exclude patterns that matched nothing. */
	char **excluded;
	size_t nexcluded;
	const char **unmatched;
	size_t nunmatched;
	/* The reproducibility report, in path order (pointers into tree). */
	struct build_note *notes;
	size_t nnotes;
	/* private */
	struct stage stage;
	struct scan_opts scan;
	struct layer_opts lopts;
	char **argv, **envv;
	char *env_file_buf;
};

/* Scan the plan's inputs into res->tree and build res->app. res is
 * initialised here; call build_result_release() after success or
 * failure. Errors name the input. */
int build_plan_run(const struct build_plan *p, struct build_result *res,
		   struct ek_error *err);
void build_result_release(struct build_result *res);

/* Refuse an output path that is one of the plan's input files or lies
 * inside one of its input folders (io_check_not_input). */
int build_plan_check_output(const struct build_plan *p, const char *out,
			    struct ek_error *err);

/* The default ImageName: the name of the first folder or image input (an
 * image's ":REF" included), else "enclave". Written into buf. */
const char *build_default_name(const struct build_plan *p, char *buf,
			       size_t size);

/* The DockerInfo metadata value: for an image {"Architecture",
 * "ConfigDigest", "ManifestDigest", "Os", "Ref"}, with "Excluded" (the
 * excluded paths) between them when something was excluded (sorted, as
 * serde sorts a map); {"Excluded"} alone for a build without an image
 * that excluded something; else NULL (null). EK_ENOMEM on failure. */
int build_docker_info(const struct build_result *res, struct json_value **ret);

#endif
