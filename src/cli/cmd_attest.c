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

#include "base/io.h"
#include "cli.h"
#include "eif/attest.h"
#include "eif/eif.h"
#include "eif/sign.h"

#define DOC_TEXT_MAX (4 * ATTEST_DOC_MAX) /* room for hex or base64 */
#define EXPECT_MAX 64

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

struct expect {
	unsigned idx;
	uint8_t val[PCR_LEN];
	const char *source; /* "--eif", "--pcrs", "--pcr" */
	bool match;
};

struct attest_args {
	const char *doc, *eif, *pcrs, *root, *at, *user_data, *public_key;
	const char *nonce_hex;
	enum attest_format format;
	bool now, allow_debug, json;
	struct expect exp[EXPECT_MAX];
	size_t nexp;
	uint8_t *nonce, *udata;
	size_t nonce_len, udata_len;
	int64_t at_time;
};

struct result {
	struct attest_doc doc;
	enum attest_format used;
	bool nonce_ok, udata_ok, pk_ok;
	struct ek_error first; /* the first failed content check */
	bool failed;
};

/* ---- parsing arguments ---- */

/* hex (even length, no spaces) into a malloc'd buffer; false if not hex. */
static bool parse_hex(const char *s, uint8_t **out, size_t *out_len)
{
	size_t n = strlen(s), i;
	unsigned v;

	if (n % 2)
		return false;
	*out = malloc(n / 2 + 1);
	if (!*out)
		return false;
	for (i = 0; i < n / 2; i++) {
		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(*out);
			*out = NULL;
			return false;
		}
		(*out)[i] = (uint8_t)v;
	}
	*out_len = n / 2;
	return true;
}

static bool parse_pcr_hex(const char *s, uint8_t val[PCR_LEN])
{
	uint8_t *b;
	size_t n;

	if (strlen(s) != PCR_HEX_LEN || !parse_hex(s, &b, &n))
		return false;
	memcpy(val, b, PCR_LEN);
	free(b);
	return true;
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

static void iso_secs(int64_t t, char buf[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm))
		strftime(buf, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(buf, 40, "@%lld", (long long)t);
}

static void iso_ms(uint64_t ms, char buf[80])
{
	time_t tt = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&tt, &tm))
		snprintf(buf, 80, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (unsigned)(ms % 1000));
	else
		snprintf(buf, 80, "@%llu ms", (unsigned long long)ms);
}

static void to_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * n] = 0;
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
		if (rc)
			ek_error_prefix(err, "'%s': signature section", a->eif);
		else
			rc = add_expect(a, 8, sig.pcr8, "--eif", err);
		if (!rc)
			sig_info_release(&sig);
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

/* ---- output ---- */

static const char *fmt_name(enum attest_format f)
{
	return f == ATTEST_FMT_RAW ? "raw" : f == ATTEST_FMT_HEX ? "hex" : "base64";
}

static void print_blob(const char *name, const struct attest_blob *b,
		       bool checked, bool ok)
{
	if (b->present)
		printf("%-12s %zu bytes", name, b->len);
	else
		printf("%-12s null", name);
	if (checked)
		printf(", %s", ok ? "matches" : "DOES NOT MATCH");
	putchar('\n');
}

static const struct expect *find_expect(const struct attest_args *a,
					unsigned idx, size_t from)
{
	for (size_t i = from; i < a->nexp; i++)
		if (a->exp[i].idx == idx)
			return &a->exp[i];
	return NULL;
}

static void print_pcrs(const struct attest_args *a, const struct result *r)
{
	static const uint8_t zero[PCR_LEN];
	char hex[PCR_HEX_LEN + 1];
	size_t hidden = 0;

	printf("%-12s %zu (SHA384)%s\n", "pcrs", r->doc.npcrs,
	       attest_is_debug(&r->doc) ? ", debug mode: PCR0-2 are zero" : "");
	for (unsigned i = 0; i < ATTEST_PCRS_MAX; i++) {
		const uint8_t *p = r->doc.pcr[i];
		const struct expect *e = find_expect(a, i, 0);

		if (!p && !e)
			continue;
		if (p && !e && !memcmp(p, zero, PCR_LEN)) {
			hidden++;
			continue;
		}
		if (p)
			pcr_hex(p, hex);
		printf("  PCR%-2u %s", i, p ? hex : "(not in the document)");
		if (!e)
			printf("  not compared\n");
		for (size_t k = 0; e; e = find_expect(a, i, k)) {
			k = (size_t)(e - a->exp) + 1;
			if (e->match) {
				printf("  match (%s)\n", e->source);
			} else {
				pcr_hex(e->val, hex);
				printf("  MISMATCH, %s expects %s\n", e->source,
				       hex);
			}
			if (find_expect(a, i, k))
				printf("  PCR%-2u %*s", i, PCR_HEX_LEN, "");
		}
	}
	if (hidden)
		printf("  %zu other PCRs are all zero\n", hidden);
}

static void print_summary(const struct attest_args *a, const struct result *r)
{
	const struct attest_doc *d = &r->doc;
	char t[80], fp[65];

	printf("%-12s COSE_Sign1 ES384, %s, %zu bytes (%s); signature and "
	       "chain verified\n", "document",
	       d->cose.tagged ? "tagged" : "untagged", d->raw_len,
	       fmt_name(r->used));
	printf("%-12s ", "module_id");
	print_text((const char *)d->module_id, d->module_id_len);
	iso_ms(d->timestamp_ms, t);
	printf("\n%-12s %s (%llu ms)\n", "timestamp", t,
	       (unsigned long long)d->timestamp_ms);
	iso_secs(d->verified_at, t);
	printf("%-12s %s%s\n", "checked at", t,
	       a->now ? " (now)" : a->at ? " (--at)" : " (the document's timestamp)");
	attest_root_fingerprint(d, fp);
	printf("%-12s %zu certificates, root SHA-256 %s%s\n", "chain",
	       d->chain_len, fp, a->root ? " (--root)" : " (AWS Nitro Enclaves root G1)");
	for (size_t i = 0; i < d->chain_len; i++) {
		char name[24];

		if (i == 0)
			snprintf(name, sizeof(name), "root");
		else if (i + 1 == d->chain_len)
			snprintf(name, sizeof(name), "leaf");
		else
			snprintf(name, sizeof(name), "cabundle[%zu]", i);
		iso_secs(d->chain[i].not_after, t);
		printf("  %-12s ", name);
		print_text(d->chain[i].subject, strlen(d->chain[i].subject));
		printf(", expires %s\n", t);
	}
	print_pcrs(a, r);
	print_blob("public_key", &d->public_key, a->public_key, r->pk_ok);
	print_blob("user_data", &d->user_data, a->user_data, r->udata_ok);
	print_blob("nonce", &d->nonce, a->nonce_hex, r->nonce_ok);
}

/* ---- JSON ---- */

static struct json_value *hex_value(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	struct json_value *v;

	if (!h)
		return NULL;
	to_hex(p, n, h);
	v = json_new_stringn(h, 2 * n);
	free(h);
	return v;
}

static struct json_value *blob_value(const struct attest_blob *b)
{
	return b->present ? hex_value(b->p, b->len) : json_new_null();
}

static struct json_value *chain_json(const struct attest_doc *d)
{
	struct json_value *arr = json_new_array();
	char t[40];
	int rc = arr ? 0 : EK_ENOMEM;

	for (size_t i = 0; !rc && i < d->chain_len; i++) {
		struct json_value *c = json_new_object();

		rc = c ? 0 : EK_ENOMEM;
		if (!rc)
			rc = json_object_push(c, "subject",
					      json_new_string(d->chain[i].subject));
		iso_secs(d->chain[i].not_before, t);
		if (!rc)
			rc = json_object_push(c, "not_before", json_new_string(t));
		iso_secs(d->chain[i].not_after, t);
		if (!rc)
			rc = json_object_push(c, "not_after", json_new_string(t));
		if (!rc)
			rc = json_array_push(arr, c);
		else
			json_free(c);
	}
	if (rc) {
		json_free(arr);
		return NULL;
	}
	return arr;
}

static struct json_value *pcrs_json(const struct attest_doc *d)
{
	struct json_value *o = json_new_object();
	char key[4];
	int rc = o ? 0 : EK_ENOMEM;

	for (unsigned i = 0; !rc && i < ATTEST_PCRS_MAX; i++) {
		if (!d->pcr[i])
			continue;
		snprintf(key, sizeof(key), "%u", i);
		rc = json_object_push(o, key, hex_value(d->pcr[i], PCR_LEN));
	}
	if (rc) {
		json_free(o);
		return NULL;
	}
	return o;
}

static struct json_value *compared_json(const struct attest_args *a)
{
	struct json_value *arr = json_new_array();
	int rc = arr ? 0 : EK_ENOMEM;

	for (size_t i = 0; !rc && i < a->nexp; i++) {
		const struct expect *e = &a->exp[i];
		struct json_value *c = json_new_object();

		rc = c ? 0 : EK_ENOMEM;
		if (!rc)
			rc = json_object_push(c, "pcr", json_new_u64(e->idx));
		if (!rc)
			rc = json_object_push(c, "expected",
					      hex_value(e->val, PCR_LEN));
		if (!rc)
			rc = json_object_push(c, "source",
					      json_new_string(e->source));
		if (!rc)
			rc = json_object_push(c, "match", json_new_bool(e->match));
		if (!rc)
			rc = json_array_push(arr, c);
		else
			json_free(c);
	}
	if (rc) {
		json_free(arr);
		return NULL;
	}
	return arr;
}

static int print_result_json(const struct attest_args *a,
			     const struct result *r)
{
	const struct attest_doc *d = &r->doc;
	struct json_value *o = json_new_object();
	char t[80], fp[65];
	int rc = o ? 0 : EK_ENOMEM;

	iso_ms(d->timestamp_ms, t);
	attest_root_fingerprint(d, fp);
#define PUSH(k, v) \
	if (!rc) \
		rc = json_object_push(o, k, v)
	PUSH("ok", json_new_bool(!r->failed));
	PUSH("module_id", json_new_stringn((const char *)d->module_id,
					   d->module_id_len));
	PUSH("digest", json_new_string("SHA384"));
	PUSH("timestamp_ms", json_new_u64(d->timestamp_ms));
	PUSH("timestamp", json_new_string(t));
	iso_secs(d->verified_at, t);
	PUSH("verified_at", json_new_string(t));
	PUSH("cose_tagged", json_new_bool(d->cose.tagged));
	PUSH("debug_mode", json_new_bool(attest_is_debug(d)));
	PUSH("root_sha256", json_new_string(fp));
	PUSH("chain", chain_json(d));
	PUSH("pcrs", pcrs_json(d));
	PUSH("compared", compared_json(a));
	PUSH("public_key", blob_value(&d->public_key));
	PUSH("user_data", blob_value(&d->user_data));
	PUSH("nonce", blob_value(&d->nonce));
	if (a->nonce_hex)
		PUSH("nonce_match", json_new_bool(r->nonce_ok));
	if (a->user_data)
		PUSH("user_data_match", json_new_bool(r->udata_ok));
	if (a->public_key)
		PUSH("public_key_match", json_new_bool(r->pk_ok));
#undef PUSH
	if (!rc)
		rc = print_json(o);
	json_free(o);
	return rc;
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
	rc = a->json ? print_result_json(a, r) : (print_summary(a, r), 0);
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
