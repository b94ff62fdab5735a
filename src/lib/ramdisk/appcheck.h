/* appcheck.h: will the init be able to start the app? Checked in the tree
 * being written (build) or read back from an EIF (verify --deep), the way
 * eifkit's init and the kernel's execve will look at it: the command
 * found in the app's PATH, a regular executable file after the symlinks
 * inside the tree, an ELF for the image's CPU whose PT_INTERP is there,
 * or a #! script whose interpreter passes the same checks; the working
 * folder a folder. Shared libraries are not followed. */
#ifndef EIFKIT_LIB_APPCHECK_H
#define EIFKIT_LIB_APPCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "ramdisk/tree.h"

#define APP_DEFAULT_PATH "/sbin:/usr/sbin:/bin:/usr/bin" /* init/init.h */

struct app_check {
	const char *const *argv;
	size_t argc;
	const char *const *env; /* KEY=VALUE; the last PATH= is the app's */
	size_t envc;
	const char *workdir;    /* NULL: "/" */
	bool arm64;             /* the EIF's CPU: aarch64, else x86_64 */
	const char *root;       /* where the app's "/" is in the tree: "" for
	                           build's tree, "rootfs" in a user ramdisk */
};

/* 0 when the app can start; else one error naming the path in the image
 * and what is wrong ("'/usr/bin/python3' (the command): ELF for aarch64,
 * the image is x86_64"). */
int app_check(const struct tree *t, const struct app_check *c,
	      struct ek_error *err);

#endif
