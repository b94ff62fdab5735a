/* console.h: reading an enclave's serial console for `eifkit run`.
 *
 * The console contract (docs/eifkit-run.md, "What run shows"): with the
 * kernel told `loglevel=1 printk.time=1` (qemu.c), every line the kernel
 * still prints starts with its timestamp, "[    1.234567] "; every line
 * of eifkit's init starts with "eifkit-init: " (init/msg.c), and the last
 * one is "eifkit-init: app exited with status N" (init/init.c); every
 * other line is the app's. The classifying looks at a line's first bytes
 * only, so lines of any length stream through. */
#ifndef EIFKIT_CLI_CONSOLE_H
#define EIFKIT_CLI_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

/* Which lines go where. */
enum console_mode {
	CONSOLE_APP,   /* app -> stdout, init's messages -> stderr */
	CONSOLE_QUIET, /* app -> stdout */
	CONSOLE_ALL,   /* every byte as it comes -> stdout */
};

enum line_kind { LINE_NEW, LINE_APP, LINE_KERNEL, LINE_INIT };

#define CONSOLE_HEAD 32   /* bytes that decide a line's kind */
#define CONSOLE_LINE 256  /* bytes kept of init and kernel lines */

struct console {
	enum console_mode mode;
	enum line_kind kind;      /* of the current line */
	char line[CONSOLE_LINE];  /* its first bytes */
	size_t len;
	bool cr;                  /* a CR held back: dropped before LF */
	size_t held;              /* app bytes held: that much of the init's
				     prefix, maybe starting mid-line */
	int status;               /* the app's exit status, -1 until seen */
	unsigned long long bytes; /* read from the console */
	char last_init[CONSOLE_LINE]; /* the init's last message, "" if none */
	char panic[CONSOLE_LINE];     /* "Kernel panic - not syncing: ...", "" */
	int out_fd;               /* where the app's output goes: stdout, or
				     stderr under run --json */
	char out[8192];           /* out_fd's, flushed at the end of each feed */
	size_t olen;
};

void console_init(struct console *c, enum console_mode mode);
/* Take n bytes of the console. -1 (errno set) when stdout fails. */
int console_feed(struct console *c, const char *buf, size_t n);
/* The console ended: finish a last line without a newline. -1 as above. */
int console_end(struct console *c);

#endif
