/* kernel.h: what kind of kernel image a file is, for which CPU, and its
 * version, so that build and assemble refuse what cannot boot.
 *
 * Sources: the kernel's Documentation/arch/x86/boot.rst (the bzImage
 * setup header) and Documentation/arch/arm64/booting.rst (the Image
 * header); drivers/firmware/efi/libstub/zboot-header.S (EFI zboot). */
#ifndef EIFKIT_LIB_KERNEL_H
#define EIFKIT_LIB_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

enum kernel_format {
	KERNEL_UNKNOWN,
	KERNEL_BZIMAGE,     /* x86 bzImage (64-bit) */
	KERNEL_BZIMAGE_32,  /* x86 bzImage that cannot run in 64-bit mode */
	KERNEL_ARM64_IMAGE, /* arm64 Image, uncompressed */
	KERNEL_GZIP,        /* gzip data: a compressed Image (Debian's arm64) */
	KERNEL_ZBOOT,       /* EFI zboot: a PE file holding a compressed Image */
	KERNEL_ELF,         /* vmlinux */
};

struct kernel_info {
	enum kernel_format format;
	uint16_t boot_protocol;   /* bzImage: 0x020f for 2.15 */
	char release[65];         /* "6.1.0-18-amd64": first word of the
	                             version, "" when not found */
	char version[256];        /* the whole version string, or "" */
};

/* Read the headers of the kernel at [off, off + size) of fd (name for
 * messages)
 * and, where the format allows, its version: a bzImage's kernel_version
 * pointer, or the "Linux version " banner of an Image (inflated when it
 * is gzip'd, also inside EFI zboot). Formats it does not know are
 * KERNEL_UNKNOWN, not an error; read errors are. */
int kernel_inspect(int fd, uint64_t off, uint64_t size, const char *name,
		   struct kernel_info *ki, struct ek_error *err);

/* Can an EIF for arm64 (or x86_64) boot this kernel? An error that names
 * the file and says what it is otherwise. *compressed is set for an arm64
 * kernel that is not a plain Image (AWS's own is one; Nitro may boot
 * nothing else): the caller warns. */
int kernel_check(const struct kernel_info *ki, bool arm64, const char *name,
		 bool *compressed, struct ek_error *err);

/* Does a kernel config's version (its third line, "# Linux/x86 6.1.76
 * Kernel Configuration" gives "6.1.76") belong to this image? It does when
 * it equals the release or appears in the version string as a whole
 * version ("... Debian 6.1.76-1 ..."). True when the image's version is
 * unknown. */
bool kernel_config_matches(const struct kernel_info *ki, const char *kver);

const char *kernel_format_name(enum kernel_format f);

#endif
