/* cmd_pcr.c: measurements of an EIF, PCR8 of a certificate, or the PCR
 * of any file (nitro-cli pcr --input / --signing-certificate). */
#include "base/internal.h"

#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "cli.h"
#include "eif/eif.h"
#include "eif/sign.h"

static const char usage[] =
	"usage: eifkit pcr FILE.eif [--kms-policy]\n"
	"       eifkit pcr --signing-certificate CERT.pem\n"
	"       eifkit pcr --input FILE\n";
static const char help[] =
	"usage: eifkit pcr FILE.eif [--kms-policy]\n"
	"       eifkit pcr --signing-certificate CERT.pem\n"
	"       eifkit pcr --input FILE\n"
	"\n"
	"FILE.eif: print its measurements as {\"HashAlgorithm\", \"PCR0\", \"PCR1\",\n"
	"\"PCR2\"[, \"PCR8\"]}, the form --pcrs writes and verify --pcrs reads.\n"
	"--signing-certificate: print {\"PCR8\": ...}, the PCR8 an EIF signed with\n"
	"this certificate has. --input: print {\"PCR\": ...}, SHA384 of 48 zero\n"
	"bytes and SHA384(FILE), as nitro-cli pcr --input does.\n"
	"--kms-policy: print the KMS key-policy Condition block that admits only\n"
	"an enclave running FILE.eif: StringEqualsIgnoreCase on\n"
	"kms:RecipientAttestation:ImageSha384 and :PCR0, :PCR1, :PCR2 (and :PCR8\n"
	"when the file is signed), to paste into a key policy statement.\n";

static int print_one(const char *key, const uint8_t pcr[PCR_LEN])
{
	char hex[PCR_HEX_LEN + 1];
	struct json_value *o = json_new_object();
	int ret;

	pcr_hex(pcr, hex);
	ret = !o || json_object_push(o, key, json_new_string(hex)) || print_json(o);
	json_free(o);
	return ret ? EK_ENOMEM : 0;
}

static int pcr_of_file(const char *path, uint8_t pcr[PCR_LEN],
		       struct ek_error *err)
{
	struct hashpipe *p;
	struct hashpipe_result r;
	int ret, fd = io_open_input(path, IO_INPUT_PIPE, NULL, err);

	if (fd < 0)
		return fd;
	ret = hashpipe_new(HP_PCR0, &p, err);
	while (ret == 0) {
		uint8_t *buf = hashpipe_get(p);
		ssize_t n = io_read_full(fd, buf, HASHPIPE_CHUNK);

		if (n < 0)
			ret = ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
		if (n <= 0)
			break;
		hashpipe_submit(p, (size_t)n, HP_PCR0, 0);
	}
	close(fd);
	if (ret) {
		hashpipe_abort(p);
		return ret;
	}
	hashpipe_finish(p, &r);
	memcpy(pcr, r.pcr[0], PCR_LEN);
	return 0;
}

/* {"Condition": {"StringEqualsIgnoreCase": {"kms:RecipientAttestation:
 * ImageSha384": PCR0, ...:PCR0, PCR1, PCR2[, PCR8]}}}: the condition keys
 * AWS KMS checks against the attestation document (ImageSha384 is PCR0). */
static struct json_value *kms_policy_json(const uint8_t pcr[3][PCR_LEN],
					  const uint8_t *pcr8)
{
	static const char prefix[] = "kms:RecipientAttestation:";
	struct json_value *o = json_new_object(), *cond = NULL, *eq = NULL;
	char hex[PCR_HEX_LEN + 1], key[64];
	int rc = o ? 0 : EK_ENOMEM;

	pcr_hex(pcr[0], hex);
	snprintf(key, sizeof(key), "%sImageSha384", prefix);
	if (!rc && !(eq = json_new_object()))
		rc = EK_ENOMEM;
	if (!rc)
		rc = json_object_push(eq, key, json_new_string(hex));
	for (unsigned i = 0; !rc && i < 4; i++) {
		if (i == 3 && !pcr8)
			break;
		pcr_hex(i < 3 ? pcr[i] : pcr8, hex);
		snprintf(key, sizeof(key), "%sPCR%u", prefix, i < 3 ? i : 8);
		rc = json_object_push(eq, key, json_new_string(hex));
	}
	if (!rc && !(cond = json_new_object()))
		rc = EK_ENOMEM;
	if (!rc) {
		rc = json_object_push(cond, "StringEqualsIgnoreCase", eq);
		eq = NULL;
	}
	if (!rc) {
		rc = json_object_push(o, "Condition", cond);
		cond = NULL;
	}
	json_free(eq);
	json_free(cond);
	if (rc) {
		json_free(o);
		return NULL;
	}
	return o;
}

static int pcr_of_eif(const char *path, bool kms, struct ek_error *err)
{
	struct eif_image img;
	struct sig_info sig;
	struct json_value *m;
	int ret = eif_open(path, &img, 0, err);

	if (ret)
		return ret;
	memset(&sig, 0, sizeof(sig));
	if (img.signature_buf &&
	    (ret = sign_parse_section(img.signature_buf, img.signature_len,
				      &sig, err))) {
		ek_error_prefix(err, "'%s': signature section", path);
		eif_image_release(&img);
		return ret;
	}
	if (kms)
		m = kms_policy_json(img.pcr, img.signature_buf ? sig.pcr8 : NULL);
	else
		m = measurements_json(img.pcr,
				      img.signature_buf ? sig.pcr8 : NULL);
	if (!m || print_json(m))
		ret = ek_fail(err, EK_ENOMEM, "cannot print the measurements");
	json_free(m);
	if (img.signature_buf)
		sig_info_release(&sig);
	eif_image_release(&img);
	return ret;
}

int cmd_pcr(int argc, char **argv)
{
	static const struct option options[] = {
		{ "signing-certificate", required_argument, NULL, 'c' },
		{ "input", required_argument, NULL, 'i' },
		{ "kms-policy", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cert = NULL, *input = NULL;
	bool kms = false;
	uint8_t pcr[PCR_LEN];
	struct ek_error err;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h')
			return print_help(help);
		else if (c == 'c')
			cert = optarg;
		else if (c == 'i')
			input = optarg;
		else if (c == 'k')
			kms = true;
		else
			return option_error("pcr", usage, c, argv);
	}
	if ((cert != NULL) + (input != NULL) + (argc - optind) != 1)
		return usage_error("pcr", usage,
				   "give one EIF, --signing-certificate or --input");
	if (kms && (cert || input))
		return usage_error("pcr", usage, "--kms-policy needs an EIF");
	if (cert) {
		ret = sign_cert_file_pcr8(cert, pcr, &err);
		if (ret == 0 && print_one("PCR8", pcr))
			ret = ek_fail(&err, EK_ENOMEM, "out of memory");
	} else if (input) {
		ret = pcr_of_file(input, pcr, &err);
		if (ret == 0 && print_one("PCR", pcr))
			ret = ek_fail(&err, EK_ENOMEM, "out of memory");
	} else {
		ret = pcr_of_eif(argv[optind], kms, &err);
	}
	return ret ? report("pcr", &err) : 0;
}
