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
	"usage: eifkit pcr FILE.eif\n"
	"       eifkit pcr --signing-certificate CERT.pem\n"
	"       eifkit pcr --input FILE\n";
static const char help[] =
	"usage: eifkit pcr FILE.eif\n"
	"       eifkit pcr --signing-certificate CERT.pem\n"
	"       eifkit pcr --input FILE\n"
	"\n"
	"FILE.eif: print its measurements as {\"HashAlgorithm\", \"PCR0\", \"PCR1\",\n"
	"\"PCR2\"[, \"PCR8\"]}, the form --pcrs writes and verify --pcrs reads.\n"
	"--signing-certificate: print {\"PCR8\": ...}, the PCR8 an EIF signed with\n"
	"this certificate has. --input: print {\"PCR\": ...}, SHA384 of 48 zero\n"
	"bytes and SHA384(FILE), as nitro-cli pcr --input does.\n"
	"\n"
	"  --json       accepted and changes nothing: the output is JSON\n"
	"  -h, --help   this help\n";

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

static int pcr_of_eif(const char *path, struct ek_error *err)
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
	m = measurements_json(img.pcr, img.signature_buf ? sig.pcr8 : NULL);
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
		{ "json", no_argument, NULL, 'j' }, /* the output is JSON */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cert = NULL, *input = NULL;
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
		else if (c == 'j')
			continue;
		else
			return option_error("pcr", usage, c, argv);
	}
	if ((cert != NULL) + (input != NULL) + (argc - optind) != 1)
		return usage_error("pcr", usage,
				   "give one EIF, --signing-certificate or --input");
	if (cert) {
		ret = sign_cert_file_pcr8(cert, pcr, &err);
		if (ret == 0 && print_one("PCR8", pcr))
			ret = ek_fail(&err, EK_ENOMEM, "out of memory");
	} else if (input) {
		ret = pcr_of_file(input, pcr, &err);
		if (ret == 0 && print_one("PCR", pcr))
			ret = ek_fail(&err, EK_ENOMEM, "out of memory");
	} else {
		ret = pcr_of_eif(argv[optind], &err);
	}
	return ret ? report("pcr", &err) : 0;
}
