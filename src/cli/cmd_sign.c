/* cmd_sign.c: sign an existing EIF (nitro-cli sign-eif). The sections
 * are copied in their order, any old signature dropped, and the new one
 * appended, so a signed builder output has the builder's layout. */
#include "base/internal.h"

#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "progress.h"
#include "eif/eif.h"
#include "eif/sign.h"
#include "extsign.h"

static const char usage[] =
	"usage: eifkit sign IN.eif --signing-certificate CERT.pem "
	"{--private-key KEY.pem|pkcs11:URI | --signer CMD} -o OUT.eif "
	"[--force] [--quiet]\n";
static const char help[] =
	"usage: eifkit sign IN.eif --signing-certificate CERT.pem "
	"{--private-key KEY.pem|pkcs11:URI | --signer CMD} -o OUT.eif "
	"[--force] [--quiet]\n"
	"\n"
	"Add a signature section over PCR0 to an EIF and fix its CRC. The key is\n"
	"an EC key on P-256, P-384 or P-521 (ES256/ES384/ES512) that belongs to\n"
	"the certificate. An input that is already signed is refused unless\n"
	"--force, which replaces the signature. OUT may be IN. Prints the\n"
	"measurements with PCR8.\n"
	"\n"
	"  --signing-certificate FILE  PEM certificate\n"
	"  --private-key FILE          PEM private key\n"
	CLI_SIGN_HELP
	"  -o, --output FILE           where to write the signed EIF\n"
	"  --force                     replace an existing signature\n"
	"  --quiet                     no progress line (shown on a terminal\n"
	"                              when the work takes over a second)\n"
	"  -h, --help                  this help\n";

struct sign_args {
	const char *in, *out, *cert, *key;
	struct cli_sign_opts sign;
	int force, quiet;
};

static int sign_file(const struct sign_args *a, struct ek_error *err)
{
	struct eif_image img;
	struct ek_signer *signer = NULL;
	struct eif_wsection secs[EIF_MAX_SECTIONS];
	struct eif_write_opts wo = { 0 };
	struct eif_write_result res;
	struct cli_out out = { .eif.fd = -1, .pcrs.fd = -1 };
	struct progress pr;
	/* OUT may be IN: the new file replaces it only when complete */
	const struct cli_input ins[] = {
		{ "--signing-certificate", a->cert }, { "--private-key", a->key },
		{ "--pin-file", a->sign.pin_file },
	};
	unsigned n = 0;
	int ret = cli_check_outputs(&a->out, 1, ins, ARRAY_SIZE(ins), err);

	if (ret || (ret = cli_out_open(&out, a->out, NULL, err)))
		return ret;
	if ((ret = cli_signer_load(&a->sign, a->cert, a->key, &signer, err)))
		goto out_signer;
	ret = eif_open(a->in, &img, 0, err);
	if (ret)
		goto out_signer;
	if (!img.crc_ok) {
		ret = ek_fail(err, EK_EFORMAT, "'%s': CRC mismatch (damaged file?); "
			      "not signing it", a->in);
		goto out;
	}
	if (img.signature >= 0 && !a->force) {
		ret = ek_fail(err, EK_EINVAL, "'%s': already signed (--force "
			      "replaces the signature)", a->in);
		goto out;
	}
	for (unsigned i = 0; i < img.nsec; i++) {
		if (img.sec[i].type == EIF_SEC_SIGNATURE)
			continue;
		secs[n].type = img.sec[i].type;
		eif_source_fd(&secs[n++].src, a->in, img.fd,
			      img.sec[i].offset + EIF_SEC_HDR_SIZE, img.sec[i].size);
	}
	wo.flags = img.hdr.flags;
	wo.signer = signer;
	progress_start(&pr, "sign", a->quiet, progress_total(secs, n, 0), &wo);
	ret = eif_write(out.eif.fd, a->out, secs, n, &wo, &res, err);
	progress_end(&pr);
	if (ret == 0)
		ret = cli_out_finish(&out, &res, err);
out:
	eif_image_release(&img);
out_signer:
	cli_out_abort(&out);
	signer_free(signer);
	return ret;
}

int cmd_sign(int argc, char **argv)
{
	static const struct option options[] = {
		{ "signing-certificate", required_argument, NULL, 'c' },
		{ "private-key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLI_SIGN_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct sign_args a = { 0 };
	struct ek_error err;
	const char *msg;
	int c;

	while ((c = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
		switch (c) {
		case 'c': a.cert = optarg; break;
		case 'k': a.key = optarg; break;
		case 'o': a.out = optarg; break;
		case 'f': a.force = 1; break;
		CLI_SIGN_CASES:
			if ((msg = cli_sign_opt(&a.sign, c, optarg)))
				return usage_error("sign", usage, "%s", msg);
			break;
		case 'q': a.quiet = 1; break;
		case 'h': return print_help(help);
		default: return option_error("sign", usage, c, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error("sign", usage, "give one input EIF");
	a.in = argv[optind];
	if (!a.cert || !a.out)
		return usage_error("sign", usage, "--signing-certificate and "
				   "--output are required");
	if ((msg = cli_sign_check(&a.sign, a.cert, a.key)))
		return usage_error("sign", usage, "%s", msg);
	return sign_file(&a, &err) ? report("sign", &err) : 0;
}
