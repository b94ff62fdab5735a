/* attest_print.c: eifkit attest's summary and --json output
 * (attest_print.h). */
#include "base/internal.h"

#include <stdio.h>
#include <time.h>

#include "attest_print.h"
#include "cli.h"

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

void attest_print_summary(const struct attest_args *a, const struct result *r)
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

int attest_print_json(const struct attest_args *a, const struct result *r)
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
