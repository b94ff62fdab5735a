/* qemu.h: an EIF as a QEMU guest for `eifkit run` (docs/eifkit-run.md):
 * the machine, the kernel and initrd taken out of the EIF, the command
 * line, and the QEMU process with its console on a pipe. */
#ifndef EIFKIT_CLI_QEMU_H
#define EIFKIT_CLI_QEMU_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "eif/eif.h"

struct qemu_opts {
	unsigned long long mem_mib;  /* 0: from the EIF */
	unsigned long long cpus;     /* 0: from the EIF */
	const char *kernel;          /* NULL: the EIF's */
	const char *accel;           /* "auto", "kvm" or "tcg" */
	bool hide_kernel;            /* not --console: the kernel's lines are
						 stamped (and kept quiet) */
};

struct qemu {
	struct eif_image img;
	const char *qemu, *package, *console;
	bool arm64, kvm;
	bool foreign;                /* not this machine's architecture */
	bool watch;                  /* KVM tried (auto): the log is left on */
	int kfd, ifd, out;           /* temporaries; the console pipe */
	unsigned long long initrd_size;
	char *cmdline;
	pid_t pid;
	char kpath[32], ipath[32], mem[32], smp[32];
};

/* Open and check the EIF, choose the machine and accelerator, write the
 * kernel (unless opts->kernel) and the concatenated ramdisks to nameless
 * temporary files. Call qemu_release() whatever it returns. */
int qemu_prepare(struct qemu *q, const char *path, const struct qemu_opts *o,
		 struct ek_error *err);
/* Start QEMU, stdin from /dev/null, the serial console on q->out. */
int qemu_start(struct qemu *q, const struct qemu_opts *o, struct ek_error *err);
/* SIGKILL the running QEMU (async-signal-safe; nothing when none runs). */
void qemu_kill(void);
/* Wait for QEMU; its wait status, or -1. Closes q->out. */
int qemu_wait(struct qemu *q);
void qemu_release(struct qemu *q);
/* Seconds an emulated boot of q takes, about (qemu.c says how). */
unsigned qemu_boot_estimate(const struct qemu *q);

#endif
