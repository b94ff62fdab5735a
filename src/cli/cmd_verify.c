/* cmd_verify.c: check an EIF and say which checks pass. */
#include "base/internal.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "base/io.h"
#include "cli.h"
#include "deep.h"
#include "eif/eif.h"
#include "eif/metadata.h"
#include "eif/sign.h"

static const char usage[] =
	"usage: eifkit verify FILE.eif [--pcrs EXPECTED.json] "
	"[--signing-certificate CERT.pem] [--deep]\n";
static const char help[] =
	"usage: eifkit verify FILE.eif [--pcrs EXPECTED.json] "
	"[--signing-certificate CERT.pem] [--deep]\n"
	"\n"
	"Check the layout, the CRC, the metadata and, if the file is signed, the\n"
	"signature (COSE Sign1 with the embedded certificate, over this file's\n"
	"PCR0). With --pcrs, compare every PCRn in EXPECTED.json (the output of\n"
	"pcr, --pcrs, or nitro-cli's {\"Measurements\": ...}). With\n"
	"--signing-certificate, require the file to be signed with that\n"
	"certificate. With --deep, also what build checks before it writes an\n"
	"EIF: the kernel can boot for the EIF's arch, and the app the init will\n"
	"run is in the ramdisks, executable, for that CPU, with its ELF or #!\n"
	"interpreter, and its workdir is a folder. Prints one line a check;\n"
	"exit status 0 only if all pass.\n";

struct verify {
	struct eif_image img;
	struct sig_info sig;
	bool have_sig;
	int failed;
};

static void line(struct verify *v, const char *check, bool ok,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void line(struct verify *v, const char *check, bool ok,
		 const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	printf("%-12s %-7s", check, ok ? "ok" : "FAILED");
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	print_text(text, strlen(text)); /* it may quote the EIF's own text */
	putchar('\n');
	if (!ok)
		v->failed = 1;
}

static void check_signature(struct verify *v)
{
	struct ek_error err;

	if (!v->img.signature_buf) {
		printf("%-12s %-7s%s\n", "signature", "-", "not signed");
		return;
	}
	if (sign_parse_section(v->img.signature_buf, v->img.signature_len,
			       &v->sig, &err)) {
		line(v, "signature", false, "%s", err.msg);
		return;
	}
	v->have_sig = true;
	if (!v->sig.cose_valid)
		line(v, "signature", false, "the COSE signature does not verify "
		     "with the embedded certificate");
	else if (!sig_info_matches_pcr0(&v->sig, v->img.pcr[0]))
		line(v, "signature", false, "valid, but it signs another PCR0");
	else
		line(v, "signature", true, "signs PCR0 with the embedded "
		     "certificate");
}

static void check_metadata(struct verify *v)
{
	struct eif_metadata m;
	struct ek_error err;

	if (!v->img.metadata_buf) {
		printf("%-12s %-7s%s\n", "metadata", "-", "none (version 2 or 3)");
		return;
	}
	if (metadata_parse(v->img.metadata_buf, v->img.metadata_len, &m, &err)) {
		line(v, "metadata", false, "%s", err.msg);
		return;
	}
	printf("%-12s %-7s", "metadata", "ok");
	print_text(m.image_name, m.image_name_len);
	putchar(' ');
	print_text(m.image_version, m.image_version_len);
	putchar('\n');
	metadata_release(&m);
}

static const uint8_t *pcr_by_index(struct verify *v, unsigned long idx)
{
	if (idx < 3)
		return v->img.pcr[idx];
	if (idx == 8 && v->have_sig)
		return v->sig.pcr8;
	return NULL;
}

static void check_one_pcr(struct verify *v, const char *key,
			  const struct json_value *want)
{
	char hex[PCR_HEX_LEN + 1], *end;
	unsigned long idx = strtoul(key + 3, &end, 10);
	const uint8_t *have = *end ? NULL : pcr_by_index(v, idx);

	if (!have) {
		line(v, "pcrs", false, "%s: not in this EIF", key);
		return;
	}
	pcr_hex(have, hex);
	if (want->type != JSON_STRING || want->str.len != PCR_HEX_LEN ||
	    strncasecmp(want->str.ptr, hex, PCR_HEX_LEN) != 0)
		line(v, "pcrs", false, "%s is %s, expected %s", key, hex,
		     want->type == JSON_STRING ? want->str.ptr : "(not a string)");
	else
		line(v, "pcrs", true, "%s matches", key);
}

static void check_pcrs(struct verify *v, const char *path)
{
	struct json_value *root = NULL;
	const struct json_value *m;
	struct ek_error err;
	uint8_t *buf = NULL;
	size_t len, n = 0;

	if (io_read_small_file(path, 1u << 20, &buf, &len, &err)) {
		line(v, "pcrs", false, "%s", err.msg);
		return;
	}
	if (json_parse((const char *)buf, len, &root, &err)) {
		free(buf);
		line(v, "pcrs", false, "'%s': %s", path, err.msg);
		return;
	}
	free(buf);
	m = root->type == JSON_OBJECT ? json_object_get(root, "Measurements") : NULL;
	if (!m)
		m = root;
	for (size_t i = 0; m->type == JSON_OBJECT && i < m->obj.len; i++) {
		const char *key = m->obj.members[i].key;

		if (strncmp(key, "PCR", 3) || !isdigit((unsigned char)key[3]))
			continue;
		check_one_pcr(v, key, m->obj.members[i].value);
		n++;
	}
	if (n == 0)
		line(v, "pcrs", false, "'%s' holds no PCRn values", path);
	json_free(root);
}

static void check_cert(struct verify *v, const char *path)
{
	struct ek_error err;
	bool match;

	if (!v->have_sig)
		line(v, "certificate", false, "the file is not signed");
	else if (sign_cert_file_matches(path, &v->sig, &match, &err))
		line(v, "certificate", false, "%s", err.msg);
	else
		line(v, "certificate", match, "%s '%s'",
		     match ? "signed with" : "not signed with", path);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pcrs", required_argument, NULL, 'p' },
		{ "signing-certificate", required_argument, NULL, 'c' },
		{ "deep", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pcrs = NULL, *cert = NULL;
	struct verify v;
	struct ek_error err;
	bool deep = false;
	char desc[512];
	int c;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h')
			return print_help(help);
		else if (c == 'p')
			pcrs = optarg;
		else if (c == 'c')
			cert = optarg;
		else if (c == 'd')
			deep = true;
		else
			return option_error("verify", usage, c, argv);
	}
	if (argc - optind != 1)
		return usage_error("verify", usage, "give one EIF file");
	memset(&v, 0, sizeof(v));
	if (eif_open(argv[optind], &v.img, 0, &err)) {
		line(&v, "layout", false, "%s", err.msg);
		return 1;
	}
	line(&v, "layout", true, "version %u, %s, %u sections, %llu bytes",
	     v.img.hdr.version,
	     v.img.hdr.flags & EIF_FLAG_ARM64 ? "aarch64" : "x86_64",
	     v.img.nsec, (unsigned long long)v.img.file_size);
	line(&v, "crc", v.img.crc_ok, "0x%08x%s", v.img.hdr.crc32,
	     v.img.crc_ok ? "" : " does not match the contents");
	check_metadata(&v);
	check_signature(&v);
	if (pcrs)
		check_pcrs(&v, pcrs);
	if (cert)
		check_cert(&v, cert);
	if (deep && deep_kernel(&v.img, desc, sizeof(desc), &err))
		line(&v, "kernel", false, "%s", err.msg);
	else if (deep)
		line(&v, "kernel", true, "%s", desc);
	if (deep && deep_app(&v.img, desc, sizeof(desc), &err))
		line(&v, "app", false, "%s", err.msg);
	else if (deep)
		line(&v, "app", true, "'%s' can start", desc);
	if (v.have_sig)
		sig_info_release(&v.sig);
	eif_image_release(&v.img);
	return v.failed;
}
