/* cmd_attest.c: verify a Nitro attestation document, then compare what
 * it says with the image the user rebuilt (or given PCRs, nonce, ...).
 *
 * The library checks the document (eif/attest); this file reads the
 * inputs, gathers the expected values, compares, and prints. Content is
 * compared and printed only for a document whose signature and chain
 * verified: until then nothing in it is worth showing. */
#include "base/internal.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/io.h"
#include "attest_print.h"
#include "cli.h"
#include "eif/attest.h"
#include "eif/eif.h"
#include "eif/sign.h"

#define DOC_TEXT_MAX (4 * ATTEST_DOC_MAX) /* room for hex or base64 */

static const char usage[] =
	"usage: eifkit attest DOC [--eif FILE.eif] [--pcrs FILE.json] "
	"[--pcr N=HEX]...\n"
	"       [--nonce HEX] [--user-data FILE|HEX] [--public-key FILE]\n"
	"       [--root CERT.pem] [--at TIME | --now] [--allow-debug]\n"
	"       [--format auto|raw|base64|hex] [--json]\n";
static const char help[] =
	"usage: eifkit attest DOC [--eif FILE.eif] [--pcrs FILE.json] "
	"[--pcr N=HEX]...\n"
	"       [--nonce HEX] [--user-data FILE|HEX] [--public-key FILE]\n"
	"       [--root CERT.pem] [--at TIME | --now] [--allow-debug]\n"
	"       [--format auto|raw|base64|hex] [--json]\n"
	"\n"
	"Verify an AWS Nitro Enclaves attestation document (COSE_Sign1, as the\n"
	"enclave's NSM hands it out) in AWS's order: the protected header is\n"
	"ES384, every payload field has its type and size, cabundle[0] is the\n"
	"AWS Nitro Enclaves root G1 (embedded, pinned by its SHA-256), the chain\n"
	"root -> cabundle -> certificate verifies in order at the validation\n"
	"time, the document's timestamp lies inside every certificate's\n"
	"validity, and the leaf's key verifies the COSE signature. Then compare:\n"
	"\n"
	"  --eif FILE.eif        PCR0, PCR1, PCR2 (and PCR8 if signed) of the image\n"
	"  --pcrs FILE.json      every PCRn in the JSON pcr, build or assemble write\n"
	"  --pcr N=HEX           PCR N (0-31) is HEX (96 hex digits); repeatable\n"
	"  --nonce HEX           the nonce field is HEX\n"
	"  --user-data FILE|HEX  the user_data field is the file's bytes (when\n"
	"                        a file of that name exists), else HEX\n"
	"  --public-key FILE     the public_key field is the file's bytes, or\n"
	"                        the DER of the PEM public key it holds\n"
	"  --root CERT.pem       trust this root instead of the embedded one\n"
	"  --at TIME             validate the chain at TIME (2024-09-07T14:37:39Z,\n"
	"                        2024-09-07 or @SECONDS) instead of the\n"
	"                        document's own timestamp\n"
	"  --now                 validate at the current time (a leaf certificate\n"
	"                        lives about three hours: stored documents fail)\n"
	"  --allow-debug         accept a debug-mode document (PCR0-2 all zero)\n"
	"  --format F            DOC is raw CBOR, base64 or hex (default: detect)\n"
	"  --json                print the verified content as JSON\n"
	"\n"
	"Prints a summary (module, time, chain, PCRs and their match state, the\n"
	"optional fields). Exit status 0 only if every check passed; 1 with one\n"
	"line naming the first failed check; 2 for usage errors.\n";

/* ---- parsing arguments ---- */

/* hex into a malloc'd buffer; false if not hex (or out of memory). */
static bool parse_hex(const char *s, uint8_t **out, size_t *out_len)
{
	size_t n = strlen(s);

	*out = malloc(n / 2 + 1);
	if (*out && codec_hex_decode((const uint8_t *)s, n, *out, out_len,
				     NULL) == 0)
		return true;
	free(*out);
	*out = NULL;
	return false;
}

static bool parse_pcr_hex(const char *s, uint8_t val[PCR_LEN])
{
	uint8_t *b;
	size_t n;

	if (strlen(s) != PCR_HEX_LEN || !parse_hex(s, &b, &n))
		return false;
	if (n == PCR_LEN) /* not fewer: hex may hold spaces */
		memcpy(val, b, PCR_LEN);
	free(b);
	return n == PCR_LEN;
}

static int add_expect(struct attest_args *a, unsigned idx,
		      const uint8_t val[PCR_LEN], const char *source,
		      struct ek_error *err)
{
	struct expect *e;

	if (a->nexp == EXPECT_MAX)
		return ek_fail(err, EK_ELIMIT, "more than %d expected PCRs",
			       EXPECT_MAX);
	e = &a->exp[a->nexp++];
	e->idx = idx;
	memcpy(e->val, val, PCR_LEN);
	e->source = source;
	return 0;
}

/* --pcr N=HEX */
static bool parse_pcr_opt(struct attest_args *a, const char *s)
{
	uint8_t val[PCR_LEN];
	char *end;
	unsigned long idx = strtoul(s, &end, 10);

	if (!isdigit((unsigned char)s[0]) || *end != '=' ||
	    idx >= ATTEST_PCRS_MAX || !parse_pcr_hex(end + 1, val))
		return false;
	return add_expect(a, (unsigned)idx, val, "--pcr", NULL) == 0;
}

/* 2024-09-07T14:37:39[.fff](Z|+00:00|), 2024-09-07, @SECONDS */
static bool parse_time(const char *s, int64_t *ret)
{
	struct tm tm;
	char *end;
	int n = 0;

	if (s[0] == '@') {
		long long v = strtoll(s + 1, &end, 10);

		if (!isdigit((unsigned char)s[1]) || *end)
			return false;
		*ret = v;
		return true;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &n) != 3 || n != 10)
		return false;
	s += n;
	if (*s == 'T' || *s == ' ') {
		if (sscanf(s + 1, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min,
			   &tm.tm_sec, &n) != 3 || n != 8)
			return false;
		s += 9;
		if (*s == '.')
			for (s++; isdigit((unsigned char)*s); s++)
				;
		if (!strcmp(s, "Z") || !strcmp(s, "+00:00"))
			s += strlen(s);
	}
	if (*s || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ret = (int64_t)timegm(&tm);
	return true;
}

/* ---- expected values ---- */

static int expect_eif(struct attest_args *a, struct ek_error *err)
{
	struct eif_image img;
	struct sig_info sig;
	int rc = eif_open(a->eif, &img, 0, err);

	if (rc)
		return rc;
	for (unsigned i = 0; !rc && i < 3; i++)
		rc = add_expect(a, i, img.pcr[i], "--eif", err);
	if (!rc && img.signature_buf) {
		rc = sign_parse_section(img.signature_buf, img.signature_len,
					&sig, err);
		if (rc) {
			ek_error_prefix(err, "'%s': signature section", a->eif);
		} else {
			rc = add_expect(a, 8, sig.pcr8, "--eif", err);
			sig_info_release(&sig);
		}
	}
	eif_image_release(&img);
	return rc;
}

/* Every PCRn of the JSON pcr/build/assemble write, or nitro-cli's
 * {"Measurements": ...}. */
static int expect_pcrs(struct attest_args *a, struct ek_error *err)
{
	struct json_value *root = NULL;
	const struct json_value *m;
	uint8_t *buf = NULL, val[PCR_LEN];
	size_t len, n = 0, i;
	int rc = io_read_small_file(a->pcrs, 1u << 20, &buf, &len, err);

	if (!rc && (rc = json_parse((const char *)buf, len, &root, err)))
		ek_error_prefix(err, "'%s'", a->pcrs);
	free(buf);
	if (rc)
		return rc;
	m = root->type == JSON_OBJECT ? json_object_get(root, "Measurements")
				      : NULL;
	if (!m)
		m = root;
	for (i = 0; !rc && m->type == JSON_OBJECT && i < m->obj.len; i++) {
		const char *key = m->obj.members[i].key;
		const struct json_value *v = m->obj.members[i].value;
		char *end;
		unsigned long idx;

		if (strncmp(key, "PCR", 3) || !isdigit((unsigned char)key[3]))
			continue;
		idx = strtoul(key + 3, &end, 10);
		if (*end || idx >= ATTEST_PCRS_MAX || v->type != JSON_STRING ||
		    !parse_pcr_hex(v->str.ptr, val))
			rc = ek_fail(err, EK_EFORMAT,
				     "'%s': %s is not PCR0-31 with 96 hex "
				     "digits",
				     a->pcrs, key);
		else
			rc = add_expect(a, (unsigned)idx, val, "--pcrs", err);
		n++;
	}
	if (!rc && n == 0)
		rc = ek_fail(err, EK_EFORMAT, "'%s' holds no PCRn values",
			     a->pcrs);
	json_free(root);
	return rc;
}

/* --user-data: a file when one of that name exists, else hex. */
static int load_user_data(struct attest_args *a, struct ek_error *err)
{
	if (access(a->user_data, F_OK) == 0)
		return io_read_small_file(a->user_data, 1u << 20, &a->udata,
					  &a->udata_len, err);
	if (!parse_hex(a->user_data, &a->udata, &a->udata_len))
		return ek_fail(err, EK_EINVAL,
			       "--user-data: '%s' is neither a file nor hex",
			       a->user_data);
	return 0;
}

/* ---- the document ---- */

/* The document: a file or a pipe (curl ... | eifkit attest /dev/stdin),
 * read to its end, at most max bytes. */
static int read_input(const char *path, size_t max, uint8_t **buf,
		      size_t *len, struct ek_error *err)
{
	int fd = io_open_input(path, IO_INPUT_PIPE, NULL, err);
	ssize_t n;

	if (fd < 0)
		return fd;
	*buf = malloc(max + 1);
	if (!*buf) {
		close(fd);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	n = io_read_full(fd, *buf, max + 1);
	if (n < 0)
		n = ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	else if ((size_t)n > max)
		n = ek_fail(err, EK_ELIMIT, "'%s': larger than %zu bytes", path,
			    max);
	close(fd);
	if (n < 0) {
		free(*buf);
		*buf = NULL;
		return (int)n;
	}
	*len = (size_t)n;
	return 0;
}

static int read_doc(const struct attest_args *a, struct result *r,
		    struct ek_error *err)
{
	uint8_t *text = NULL, *cbor = NULL;
	size_t tlen = 0, clen = 0;
	int rc = read_input(a->doc, DOC_TEXT_MAX, &text, &tlen, err);

	if (!rc) {
		rc = attest_decode_input(text, tlen, a->format, &cbor, &clen,
					 &r->used, err);
		if (rc)
			ek_error_prefix(err, "'%s'", a->doc);
	}
	if (!rc && (rc = attest_parse(cbor, clen, &r->doc, err)))
		ek_error_prefix(err, "'%s'", a->doc);
	free(text);
	free(cbor);
	return rc;
}

static int verify_doc(const struct attest_args *a, struct result *r,
		      struct ek_error *err)
{
	uint8_t *root = NULL;
	size_t root_len = 0;
	int rc = 0;

	if (a->root)
		rc = io_read_small_file(a->root, 1u << 16, &root, &root_len,
					err);
	if (!rc) {
		rc = attest_verify(&r->doc, root, root_len,
				   a->at || a->now ? &a->at_time : NULL, err);
		if (rc)
			ek_error_prefix(err, "'%s'", a->doc);
	}
	free(root);
	if (!rc && attest_is_debug(&r->doc) && !a->allow_debug)
		rc = ek_fail(err, EK_EMISMATCH,
			     "'%s': a debug-mode document (PCR0, PCR1 and PCR2 "
			     "are zero): the enclave ran with --debug-mode, so "
			     "its memory and console were open to the parent "
			     "and its PCRs say nothing about the image; "
			     "--allow-debug accepts it",
			     a->doc);
	return rc;
}

/* ---- comparing ---- */

static void fail_first(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_first(struct result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	r->first.code = EK_EMISMATCH;
	va_start(ap, fmt);
	vsnprintf(r->first.msg, sizeof(r->first.msg), fmt, ap);
	va_end(ap);
}

static void compare_pcrs(struct attest_args *a, struct result *r)
{
	char dh[PCR_HEX_LEN + 1], eh[PCR_HEX_LEN + 1];

	for (size_t i = 0; i < a->nexp; i++) {
		struct expect *e = &a->exp[i];
		const uint8_t *have = r->doc.pcr[e->idx];

		e->match = have && !memcmp(have, e->val, PCR_LEN);
		if (e->match)
			continue;
		pcr_hex(e->val, eh);
		if (have) {
			pcr_hex(have, dh);
			fail_first(r, "PCR%u does not match: the document has "
				      "%s, %s expects %s",
				   e->idx, dh, e->source, eh);
		} else {
			fail_first(r, "PCR%u is not in the document (%s "
				      "expects %s)",
				   e->idx, e->source, eh);
		}
	}
}

static bool blob_is(const struct attest_blob *b, const uint8_t *p, size_t n)
{
	return b->present && b->len == n && !memcmp(b->p, p, n);
}

static void compare_fields(struct attest_args *a, struct result *r)
{
	const struct attest_doc *d = &r->doc;
	uint8_t *pk = NULL;
	size_t pk_len;
	struct ek_error e;

	if (a->nonce_hex) {
		r->nonce_ok = blob_is(&d->nonce, a->nonce, a->nonce_len);
		if (!r->nonce_ok)
			fail_first(r, "the nonce does not match --nonce (the "
				      "document's is %s, %zu bytes expected)",
				   d->nonce.present ? "another" : "null",
				   a->nonce_len);
	}
	if (a->user_data) {
		r->udata_ok = blob_is(&d->user_data, a->udata, a->udata_len);
		if (!r->udata_ok)
			fail_first(r, "user_data does not match --user-data "
				      "(the document's is %s, %zu bytes "
				      "expected)",
				   d->user_data.present ? "another" : "null",
				   a->udata_len);
	}
	if (a->public_key) {
		if (io_read_small_file(a->public_key, 1u << 16, &pk, &pk_len,
				       &e)) {
			fail_first(r, "--public-key %s", e.msg);
			return;
		}
		r->pk_ok = attest_public_key_matches(d, pk, pk_len);
		free(pk);
		if (!r->pk_ok)
			fail_first(r, "public_key does not match '%s' (the "
				      "document's is %s)",
				   a->public_key,
				   d->public_key.present ? "another" : "null");
	}
}

/* ---- the command ---- */

static int parse_args(int argc, char **argv, struct attest_args *a)
{
	static const struct option options[] = {
		{ "eif", required_argument, NULL, 'e' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "pcr", required_argument, NULL, 'P' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "user-data", required_argument, NULL, 'u' },
		{ "public-key", required_argument, NULL, 'k' },
		{ "root", required_argument, NULL, 'r' },
		{ "at", required_argument, NULL, 'a' },
		{ "now", no_argument, NULL, 'N' },
		{ "allow-debug", no_argument, NULL, 'D' },
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'h': return print_help(help) - 1; /* -1: stop, exit 0 */
		case 'e': a->eif = optarg; break;
		case 'p': a->pcrs = optarg; break;
		case 'P':
			if (!parse_pcr_opt(a, optarg))
				return usage_error("attest", usage,
						   "--pcr '%s': not N=HEX with N "
						   "0-31 and 96 hex digits",
						   optarg);
			break;
		case 'n':
			free(a->nonce);
			a->nonce_hex = optarg;
			if (!parse_hex(optarg, &a->nonce, &a->nonce_len))
				return usage_error("attest", usage,
						   "--nonce '%s': not hex", optarg);
			break;
		case 'u': a->user_data = optarg; break;
		case 'k': a->public_key = optarg; break;
		case 'r': a->root = optarg; break;
		case 'a': a->at = optarg; break;
		case 'N': a->now = true; break;
		case 'D': a->allow_debug = true; break;
		case 'j': a->json = true; break;
		case 'f':
			if (!strcmp(optarg, "auto"))
				a->format = ATTEST_FMT_AUTO;
			else if (!strcmp(optarg, "raw") || !strcmp(optarg, "cbor"))
				a->format = ATTEST_FMT_RAW;
			else if (!strcmp(optarg, "base64"))
				a->format = ATTEST_FMT_BASE64;
			else if (!strcmp(optarg, "hex"))
				a->format = ATTEST_FMT_HEX;
			else
				return usage_error("attest", usage,
						   "--format '%s': not auto, raw, "
						   "base64 or hex", optarg);
			break;
		default: return option_error("attest", usage, c, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error("attest", usage, "give one document");
	a->doc = argv[optind];
	if (a->at && a->now)
		return usage_error("attest", usage, "give --at or --now, not both");
	if (a->at && !parse_time(a->at, &a->at_time))
		return usage_error("attest", usage,
				   "--at '%s': not YYYY-MM-DD[THH:MM:SS[Z]] or "
				   "@SECONDS", a->at);
	if (a->now)
		a->at_time = (int64_t)time(NULL);
	return 0;
}

static int attest_run(struct attest_args *a, struct result *r,
		      struct ek_error *err)
{
	int rc = 0;

	if (a->eif)
		rc = expect_eif(a, err);
	if (!rc && a->pcrs)
		rc = expect_pcrs(a, err);
	if (!rc && a->user_data)
		rc = load_user_data(a, err);
	if (!rc)
		rc = read_doc(a, r, err);
	if (!rc)
		rc = verify_doc(a, r, err);
	if (rc)
		return rc;
	compare_pcrs(a, r);
	compare_fields(a, r);
	rc = a->json ? attest_print_json(a, r) : (attest_print_summary(a, r), 0);
	if (rc)
		return ek_fail(err, rc, "cannot print the result");
	if (r->failed) {
		*err = r->first;
		ek_error_prefix(err, "'%s'", a->doc);
		return EK_EMISMATCH;
	}
	return 0;
}

int cmd_attest(int argc, char **argv)
{
	struct attest_args a;
	struct result r;
	struct ek_error err;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&r, 0, sizeof(r));
	rc = parse_args(argc, argv, &a);
	if (rc == 0) {
		rc = attest_run(&a, &r, &err) ? report("attest", &err) : 0;
	} else if (rc < 0) {
		rc = 0; /* --help */
	}
	attest_doc_release(&r.doc);
	free(a.nonce);
	free(a.udata);
	return rc;
}
