/* attest_print.h: what eifkit attest checked, and how it prints it: the
 * human summary and the --json object (cmd_attest.c gathers, compares and
 * calls these). */
#ifndef EIFKIT_CLI_ATTEST_PRINT_H
#define EIFKIT_CLI_ATTEST_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eif/attest.h"
#include "eif/measure.h"

#define EXPECT_MAX 64 /* expected PCR values from all options */

/* One expected PCR value and, once compared, whether the document has it. */
struct expect {
	unsigned idx;
	uint8_t val[PCR_LEN];
	const char *source; /* "--eif", "--pcrs", "--pcr" */
	bool match;
};

/* The command line, with the expected values read from the files. */
struct attest_args {
	const char *doc, *eif, *pcrs, *root, *at, *user_data, *public_key;
	const char *nonce_hex;           /* --nonce as given */
	enum attest_format format;
	bool now, allow_debug, json;
	struct expect exp[EXPECT_MAX];
	size_t nexp;
	uint8_t *nonce, *udata;
	size_t nonce_len, udata_len;
	int64_t at_time;                 /* --at or --now, in seconds */
};

/* The verified document and the outcome of each comparison. */
struct result {
	struct attest_doc doc;
	enum attest_format used;         /* how DOC was encoded */
	bool nonce_ok, udata_ok, pk_ok;
	struct ek_error first; /* the first failed content check */
	bool failed;
};

/* The summary on stdout: document, module, time, chain, PCRs with their
 * match state, the optional fields. Text from the document is escaped. */
void attest_print_summary(const struct attest_args *a, const struct result *r);
/* The same as one JSON object on stdout; 0 or EK_ENOMEM/EK_EIO. */
int attest_print_json(const struct attest_args *a, const struct result *r);

#endif
