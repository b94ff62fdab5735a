/* extsign.h: where build, assemble and sign get their signature: a PEM
 * key file, a key on a PKCS#11 token (--private-key pkcs11:...), or a
 * program (--signer). The library only sees a digest callback
 * (signer_load_external); the token session and the child process are the
 * CLI's, because running programs and loading PKCS#11 modules (which read
 * their own configuration and environment) are not library business. */
#ifndef EIFKIT_CLI_EXTSIGN_H
#define EIFKIT_CLI_EXTSIGN_H

#include <getopt.h>

#include "base/error.h"

struct ek_signer;

struct cli_sign_opts {
	const char *pin_file; /* --pin-file */
	const char *signer;   /* --signer 'COMMAND ARGS' */
	unsigned timeout_s;   /* --signer-timeout, 0: the default */
};

/* getopt_long codes of the options, above any command's own. */
enum { O_SIGN_PIN = 0x5100, O_SIGN_CMD, O_SIGN_TIMEOUT };
#define CLI_SIGN_OPTIONS                                                  \
	{ "pin-file", required_argument, NULL, O_SIGN_PIN },              \
	{ "signer", required_argument, NULL, O_SIGN_CMD },                \
	{ "signer-timeout", required_argument, NULL, O_SIGN_TIMEOUT }
#define CLI_SIGN_CASES case O_SIGN_PIN: case O_SIGN_CMD: case O_SIGN_TIMEOUT
#define CLI_SIGN_HELP                                                     \
	"  --private-key pkcs11:URI   ... or a key on a PKCS#11 token (RFC 7512)\n" \
	"  --pin-file FILE            the token's PIN (or pin-source in the URI)\n" \
	"  --signer 'COMMAND ARGS'    ... or a program: digest on stdin,\n"       \
	"                             signature on stdout (eifkit-sign.md)\n"     \
	"  --signer-timeout SECONDS   kill the signer after this (60)\n"

/* Take one of the options; NULL or a usage message. */
const char *cli_sign_opt(struct cli_sign_opts *o, int c, const char *arg);
/* The combinations once all options are read; NULL or a usage message. */
const char *cli_sign_check(const struct cli_sign_opts *o, const char *cert,
			   const char *key);
/* The signer for cert and a PEM key, a pkcs11: URI or o->signer. A token
 * key is tried once here (a signature that must verify with cert), so a
 * wrong PIN or a key that is not the certificate's fails before any
 * work. */
int cli_signer_load(const struct cli_sign_opts *o, const char *cert,
		    const char *key, struct ek_signer **ret,
		    struct ek_error *err);

/* extsign_p11.c, extsign_cmd.c */
int p11_signer_load(const char *cert, const char *uri, const char *pin_file,
		    struct ek_signer **ret, struct ek_error *err);
/* NULL or why line cannot be a --signer command. */
const char *cmd_signer_check(const char *line);
int cmd_signer_load(const char *cert, const char *line, unsigned timeout_s,
		    struct ek_signer **ret, struct ek_error *err);

#endif
