/* extsign.c: the signing options shared by build, assemble and sign. */
#include "base/internal.h"

#include <stdlib.h>

#include "eif/sign.h"
#include "extsign.h"

#define SIGNER_TIMEOUT_DEFAULT 60
#define SIGNER_TIMEOUT_MAX 86400

static bool is_pkcs11(const char *key)
{
	return key && strncmp(key, "pkcs11:", 7) == 0;
}

const char *cli_sign_opt(struct cli_sign_opts *o, int c, const char *arg)
{
	char *end;
	unsigned long v;

	switch (c) {
	case O_SIGN_PIN:
		o->pin_file = arg;
		return NULL;
	case O_SIGN_CMD:
		o->signer = arg;
		return cmd_signer_check(arg);
	default: /* O_SIGN_TIMEOUT */
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (arg[0] < '0' || arg[0] > '9' || *end || errno || v == 0 ||
		    v > SIGNER_TIMEOUT_MAX)
			return "--signer-timeout: give whole seconds, 1 to 86400";
		o->timeout_s = (unsigned)v;
		return NULL;
	}
}

const char *cli_sign_check(const struct cli_sign_opts *o, const char *cert,
			   const char *key)
{
	if (key && o->signer)
		return "--private-key and --signer are two ways to sign: give one";
	if (!cert != !(key || o->signer))
		return "--signing-certificate goes with --private-key or --signer";
	if (o->pin_file && !is_pkcs11(key))
		return "--pin-file is for a --private-key pkcs11: URI";
	if (o->timeout_s && !o->signer)
		return "--signer-timeout is for --signer";
	return NULL;
}

int cli_signer_load(const struct cli_sign_opts *o, const char *cert,
		    const char *key, struct ek_signer **ret,
		    struct ek_error *err)
{
	if (o->signer)
		return cmd_signer_load(cert, o->signer,
				       o->timeout_s ? o->timeout_s
						    : SIGNER_TIMEOUT_DEFAULT,
				       ret, err);
	if (is_pkcs11(key))
		return p11_signer_load(cert, key, o->pin_file, ret, err);
	return signer_load(cert, key, ret, err);
}
