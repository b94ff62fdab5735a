/* deep.h: verify --deep: the checks build makes before it writes an EIF
 * (kernel format for the arch, the app in the ramdisks), made on an EIF
 * that exists, from its own bytes. */
#ifndef EIFKIT_CLI_DEEP_H
#define EIFKIT_CLI_DEEP_H

#include <stddef.h>

#include "base/error.h"
#include "eif/eif.h"

/* 0 and a description in out ("an x86_64 bzImage, 6.1.0-57-amd64"), or
 * an error saying what would not boot. */
int deep_kernel(const struct eif_image *img, char *out, size_t size,
		struct ek_error *err);
/* 0 and the command in out, or an error: the ramdisks unpacked as the
 * kernel would, the cmd, env and workdir files read as the init reads
 * them, and app_check on rootfs/. */
int deep_app(const struct eif_image *img, char *out, size_t size,
	     struct ek_error *err);

#endif
