/* cli.h: what the subcommands share: the error reporter, usage errors,
 * and the measurement JSON nitro-cli prints. Only main() exits. */
#ifndef EIFKIT_CLI_H
#define EIFKIT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/json.h"
#include "eif/measure.h"

#define HASH_ALGORITHM "Sha384 { ... }" /* EIF-FORMAT.md 7.5 */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_assemble(int argc, char **argv);
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
struct io_outfile;
/* Write v pretty into an open atomic output and commit it (or abort). */
int write_json_outfile(struct io_outfile *out, const struct json_value *v,
		       struct ek_error *err);
/* Write v pretty to path atomically. */
int write_json_file(const char *path, const struct json_value *v,
		    struct ek_error *err);

struct eif_identity;
struct eif_write_result;
/* --arch x86_64|aarch64 -> EIF header flags (NULL means x86_64). */
int cli_parse_arch(const char *arch, uint16_t *flags, struct ek_error *err);
/* Fill the metadata defaults: reproducible where eif_build uses the clock
 * or its own name; explicit values beat what kconfig implies. *os and
 * *kver receive allocations the caller frees. */
int cli_fill_identity(struct eif_identity *id, const char *default_name,
		      const char *kconfig, char *time_buf, size_t time_size,
		      char **os, char **kver, struct ek_error *err);
/* Print {"Measurements": ...} and write it to pcrs if that is open. */
int cli_emit(struct io_outfile *pcrs, const struct eif_write_result *res,
	     struct ek_error *err);
const char *cli_base_name(const char *path);
/* SOURCE_DATE_EPOCH from the environment (0 when unset). */
int cli_source_date_epoch(int64_t *ret, struct ek_error *err);
/* TMPDIR from the environment, else /tmp. */
const char *cli_tmpdir(void);

/* getopt_long helpers: the option's long name for messages. */
extern const char *cli_cmd; /* the running subcommand, for messages */

#endif
