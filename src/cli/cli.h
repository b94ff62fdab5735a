/* cli.h: what the subcommands share: the error reporter, usage errors,
 * and the measurement JSON nitro-cli prints. Only main() exits. */
#ifndef EIFKIT_CLI_H
#define EIFKIT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/io.h"
#include "base/json.h"
#include "eif/measure.h"

#define HASH_ALGORITHM "Sha384 { ... }" /* EIF-FORMAT.md 7.5 */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_assemble(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_ramdisk(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_pcr(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);

/* "eifkit CMD: msg" on stderr, control characters escaped; returns 1. */
int report(const char *cmd, const struct ek_error *err);
/* "eifkit CMD: warning: <fmt>" on stderr, control characters of the
 * formatted text escaped. */
void cli_warn(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Text from an EIF or an image, for a person: s[0..len) escaped
 * (text_escape with spaces kept) on stdout, so that it can neither fake
 * a line of the report nor reach the terminal as a control sequence. */
void print_text(const char *s, size_t len);
/* "eifkit CMD: <fmt>" and the usage line on stderr; returns 2. */
int usage_error(const char *cmd, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Report a getopt_long failure ('?' or ':' with a ":..." optstring). */
int option_error(const char *cmd, const char *usage, int c, char **argv);
/* Print help text to stdout; returns 0. */
int print_help(const char *help);

/* {"HashAlgorithm": ..., "PCR0": ..., "PCR1": ..., "PCR2": ...[, "PCR8"]}
 * as a JSON object (NULL on allocation failure). pcr8 may be NULL. */
struct json_value *measurements_json(const uint8_t pcr[3][PCR_LEN],
				     const uint8_t *pcr8);
/* Print v pretty to stdout with a final newline; 0 or EK_ENOMEM/EK_EIO. */
int print_json(const struct json_value *v);
/* Write v pretty, with a final newline, to fd (name for messages). */
int write_json_fd(int fd, const char *name, const struct json_value *v,
		  struct ek_error *err);

/* An input file of a command, for the checks on its outputs. */
struct cli_input {
	const char *what; /* the option: "--kernel" */
	const char *path; /* NULL: not given */
};
/* Before any work: each output can be written (io_check_output), no two
 * outputs are one file, and no output is, or is inside, an input
 * (io_check_not_input). outs may hold NULLs (not given). */
int cli_check_outputs(const char *const *outs, size_t nouts,
		      const struct cli_input *ins, size_t nins,
		      struct ek_error *err);

struct eif_identity;
struct eif_write_result;
struct kernel_info;
/* --arch x86_64|aarch64 -> EIF header flags (NULL means x86_64). */
int cli_parse_arch(const char *arch, uint16_t *flags, struct ek_error *err);
/* Fill the metadata defaults: reproducible where eif_build uses the clock
 * or its own name; explicit values beat what kconfig implies. *os and
 * *kver receive allocations the caller frees. */
int cli_fill_identity(struct eif_identity *id, const char *default_name,
		      const char *kconfig, const struct kernel_info *ki,
		      char *time_buf, size_t time_size, char **os, char **kver,
		      struct ek_error *err);
/* The kernel of build and assemble, opened and checked before any work:
 * a format that cannot boot an EIF for the arch is an error (unless
 * check is false: --no-kernel-check), a compressed arm64 kernel a warning
 * (unless format_ok: --kernel-format-ok). ki->release then fills
 * KernelVersion (cli_fill_identity). Returns the fd or a negative error. */
int cli_kernel_open(const char *cmd, const char *path, bool arm64, bool check,
		    bool format_ok, struct kernel_info *ki, uint64_t *size,
		    struct ek_error *err);
/* The outputs of build, assemble and sign: the EIF and, with --pcrs, its
 * measurements. Opened before the work; cli_out_finish writes the
 * measurements to --pcrs and prints {"Measurements": ...} on stdout, and
 * only when all of that (stdout's flush included) succeeded are the files
 * given their names: a failed run leaves neither. */
struct cli_out {
	struct io_outfile eif, pcrs;
};
int cli_out_open(struct cli_out *o, const char *eif, const char *pcrs,
		 struct ek_error *err);
int cli_out_finish(struct cli_out *o, const struct eif_write_result *res,
		   struct ek_error *err);
void cli_out_abort(struct cli_out *o);
const char *cli_base_name(const char *path);
/* SOURCE_DATE_EPOCH from the environment (0 when unset). */
int cli_source_date_epoch(int64_t *ret, struct ek_error *err);
/* TMPDIR from the environment, else /tmp. */
const char *cli_tmpdir(void);

/* Run fn (async-signal-safe) when a signal ends the process, after the
 * temporary outputs are removed: `run` kills its QEMU this way. */
void cli_at_signal(void (*fn)(void));

#endif
