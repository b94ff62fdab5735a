/* attest.c: Nitro attestation documents (attest.h): the envelope, the
 * payload's syntax and the input encodings; attest_verify.c has the
 * root, the chain and the signature.
 *
 * Decisions:
 *  - The CBOR is read by base/cbor's strict decoder, not libcbor: the
 *    decoder is small, refuses duplicate keys and trailing bytes (libcbor
 *    0.8 does neither by itself), and is shared with the signature
 *    section. Indefinite lengths and longer-than-needed heads are
 *    accepted, as RFC 8949 allows them; the signature covers the bytes.
 *  - Unknown payload keys are ignored (the payload is signed; a future
 *    NSM may add fields), but every known one must have its type and size.
 */
#include "base/internal.h"

#include <limits.h>

#include "base/cbor.h"
#include "base/codec.h"
#include "eif/attest.h"
#include "eif/cose.h"

/* ---- syntactic checks ---- */

static const struct cbor_limits env_limits = {
	.max_depth = 8, .max_items = 256, .shortest = false,
};
static const struct cbor_limits payload_limits = {
	.max_depth = 4, .max_items = 512, .shortest = false,
};

static int field_err(struct ek_error *err, const char *field,
		     const char *what)
{
	return ek_fail(err, EK_EFORMAT, "payload: %s: %s", field, what);
}

static int want_type(const struct cbor_item *it, enum cbor_type t,
		     const char *field, struct ek_error *err)
{
	if (!it)
		return field_err(err, field, "missing");
	if (it->type != t)
		return ek_fail(err, EK_EFORMAT, "payload: %s: a %s, not a %s",
			       field, cbor_type_name(it->type),
			       cbor_type_name(t));
	return 0;
}

/* A bstr of 1..max bytes, or null when nullable. */
static int rd_blob(const struct attest_doc *doc, const char *field,
		   bool nullable, size_t max, struct attest_blob *b,
		   struct ek_error *err)
{
	const struct cbor_item *it =
		cbor_map_text(&doc->payload, &doc->payload.items[0], field);
	int rc;

	memset(b, 0, sizeof(*b));
	if (nullable && it && it->type == CBOR_NULL)
		return 0;
	if (nullable && !it) /* the NSM writes null; absent means the same */
		return 0;
	rc = want_type(it, CBOR_BYTES, field, err);
	if (rc)
		return rc;
	if (it->len > max || (!nullable && it->len == 0))
		return ek_fail(err, EK_EFORMAT,
			       "payload: %s: %zu bytes, not %d to %zu", field,
			       it->len, nullable ? 0 : 1, max);
	b->p = it->str;
	b->len = it->len;
	b->present = true;
	return 0;
}

static int rd_pcrs(struct attest_doc *doc, struct ek_error *err)
{
	const struct cbor_doc *pd = &doc->payload;
	const struct cbor_item *m = cbor_map_text(pd, &pd->items[0], "pcrs");
	size_t i;
	int rc = want_type(m, CBOR_MAP, "pcrs", err);

	if (rc)
		return rc;
	if (m->val < 1 || m->val > ATTEST_PCRS_MAX)
		return ek_fail(err, EK_EFORMAT,
			       "payload: pcrs: %llu entries, not 1 to %d",
			       (unsigned long long)m->val, ATTEST_PCRS_MAX);
	for (i = 0; i < m->val; i++) {
		const struct cbor_item *k = cbor_child(pd, m, 2 * i);
		const struct cbor_item *v = cbor_child(pd, m, 2 * i + 1);

		if (k->type != CBOR_UINT || k->val >= ATTEST_PCRS_MAX)
			return field_err(err, "pcrs",
					 "a key that is not an index 0 to 31");
		if (v->type != CBOR_BYTES || v->len != ATTEST_PCR_LEN)
			return ek_fail(err, EK_EFORMAT,
				       "payload: pcrs: PCR%llu is not %d bytes "
				       "(SHA384)",
				       (unsigned long long)k->val,
				       ATTEST_PCR_LEN);
		doc->pcr[k->val] = v->str;
	}
	doc->npcrs = (size_t)m->val;
	return 0;
}

static int rd_cabundle(struct attest_doc *doc, struct ek_error *err)
{
	const struct cbor_doc *pd = &doc->payload;
	const struct cbor_item *a =
		cbor_map_text(pd, &pd->items[0], "cabundle");
	size_t i;
	int rc = want_type(a, CBOR_ARRAY, "cabundle", err);

	if (rc)
		return rc;
	if (a->val < 1 || a->val > ATTEST_CABUNDLE_MAX)
		return ek_fail(err, EK_EFORMAT,
			       "payload: cabundle: %llu certificates, not 1 "
			       "to %d",
			       (unsigned long long)a->val, ATTEST_CABUNDLE_MAX);
	for (i = 0; i < a->val; i++) {
		const struct cbor_item *c = cbor_child(pd, a, i);

		if (c->type != CBOR_BYTES || c->len < 1 ||
		    c->len > ATTEST_FIELD_MAX)
			return ek_fail(err, EK_EFORMAT,
				       "payload: cabundle[%zu]: not a byte "
				       "string of 1 to %d bytes",
				       i, ATTEST_FIELD_MAX);
		doc->cabundle[i].p = c->str;
		doc->cabundle[i].len = c->len;
		doc->cabundle[i].present = true;
	}
	doc->ncabundle = (size_t)a->val;
	return 0;
}

static int rd_payload(struct attest_doc *doc, struct ek_error *err)
{
	const struct cbor_item *root, *it;
	int rc = cbor_decode(doc->cose.payload, doc->cose.payload_len,
			     &payload_limits, &doc->payload, err);

	if (rc) {
		ek_error_prefix(err, "payload");
		return rc;
	}
	root = &doc->payload.items[0];
	if (root->type != CBOR_MAP)
		return ek_fail(err, EK_EFORMAT, "payload: a %s, not a map",
			       cbor_type_name(root->type));
	it = cbor_map_text(&doc->payload, root, "module_id");
	rc = want_type(it, CBOR_TEXT, "module_id", err);
	if (!rc && it->len == 0)
		rc = field_err(err, "module_id", "empty");
	if (rc)
		return rc;
	doc->module_id = it->str;
	doc->module_id_len = it->len;
	it = cbor_map_text(&doc->payload, root, "digest");
	rc = want_type(it, CBOR_TEXT, "digest", err);
	if (!rc && (it->len != 6 || memcmp(it->str, "SHA384", 6)))
		rc = field_err(err, "digest", "not \"SHA384\"");
	if (rc)
		return rc;
	it = cbor_map_text(&doc->payload, root, "timestamp");
	rc = want_type(it, CBOR_UINT, "timestamp", err);
	if (!rc && (it->val == 0 || it->val > (uint64_t)INT64_MAX / 2))
		rc = field_err(err, "timestamp", "zero or out of range");
	if (rc)
		return rc;
	doc->timestamp_ms = it->val;
	rc = rd_pcrs(doc, err);
	if (!rc)
		rc = rd_blob(doc, "certificate", false, ATTEST_FIELD_MAX,
			     &doc->certificate, err);
	if (!rc)
		rc = rd_cabundle(doc, err);
	if (!rc)
		rc = rd_blob(doc, "public_key", true, ATTEST_FIELD_MAX,
			     &doc->public_key, err);
	if (!rc)
		rc = rd_blob(doc, "user_data", true, ATTEST_FIELD_MAX,
			     &doc->user_data, err);
	if (!rc)
		rc = rd_blob(doc, "nonce", true, ATTEST_FIELD_MAX, &doc->nonce,
			     err);
	return rc;
}

/* The protected header: a map whose alg (1) is ES384 and which names no
 * critical header (2) this reader would have to understand. */
static int rd_protected(struct attest_doc *doc, struct ek_error *err)
{
	const struct cbor_item *m, *alg;
	int rc = cbor_decode(doc->cose.prot, doc->cose.prot_len, &env_limits,
			     &doc->prot, err);

	if (rc) {
		ek_error_prefix(err, "COSE protected header");
		return rc;
	}
	m = &doc->prot.items[0];
	alg = cbor_map_int(&doc->prot, m, 1);
	if (m->type != CBOR_MAP || !alg)
		return ek_fail(err, EK_EFORMAT,
			       "COSE protected header: no algorithm (key 1)");
	if (alg->type != CBOR_NINT || alg->val != (uint64_t)(-1 - COSE_ALG_ES384))
		return ek_fail(err, EK_EFORMAT,
			       "COSE protected header: the algorithm is not "
			       "ES384 (-35)");
	if (cbor_map_int(&doc->prot, m, 2))
		return ek_fail(err, EK_EFORMAT,
			       "COSE protected header: critical headers (key 2) "
			       "are not supported");
	doc->cose.alg = COSE_ALG_ES384;
	return 0;
}

/* [protected: bstr, unprotected: map, payload: bstr, signature: bstr],
 * optionally in tag 18. */
static int rd_envelope(struct attest_doc *doc, struct ek_error *err)
{
	const struct cbor_doc *e = &doc->env;
	const struct cbor_item *a, *it[4];
	static const enum cbor_type want[4] = { CBOR_BYTES, CBOR_MAP,
						CBOR_BYTES, CBOR_BYTES };
	static const char *const names[4] = { "protected header",
					       "unprotected header", "payload",
					       "signature" };
	size_t i;
	int rc = cbor_decode(doc->raw, doc->raw_len, &env_limits, &doc->env,
			     err);

	if (rc)
		return rc;
	a = &e->items[0];
	if (a->type == CBOR_TAG && a->val == 18) {
		doc->cose.tagged = true;
		a = cbor_child(e, a, 0);
	}
	if (a->type != CBOR_ARRAY || a->val != 4)
		return ek_fail(err, EK_EFORMAT,
			       "not a COSE_Sign1 (an array of 4, tag 18 "
			       "optional)");
	for (i = 0; i < 4; i++) {
		it[i] = cbor_child(e, a, i);
		if (it[i]->type != want[i])
			return ek_fail(err, EK_EFORMAT,
				       "COSE_Sign1: the %s is a %s, not a %s",
				       names[i], cbor_type_name(it[i]->type),
				       cbor_type_name(want[i]));
	}
	doc->cose.prot = it[0]->str;
	doc->cose.prot_len = it[0]->len;
	doc->cose.payload = it[2]->str;
	doc->cose.payload_len = it[2]->len;
	doc->cose.sig = it[3]->str;
	doc->cose.sig_len = it[3]->len;
	if (doc->cose.sig_len != 2 * ATTEST_PCR_LEN)
		return ek_fail(err, EK_EFORMAT,
			       "COSE_Sign1: the signature is %zu bytes, not 96 "
			       "(ES384 r || s)",
			       doc->cose.sig_len);
	return 0;
}

int attest_parse(const uint8_t *buf, size_t len, struct attest_doc *doc,
		 struct ek_error *err)
{
	int rc;

	memset(doc, 0, sizeof(*doc));
	if (len > ATTEST_DOC_MAX)
		return ek_fail(err, EK_ELIMIT,
			       "%zu bytes, more than the %d an attestation "
			       "document may have here",
			       len, ATTEST_DOC_MAX);
	doc->raw = malloc(len ? len : 1);
	if (!doc->raw)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	memcpy(doc->raw, buf, len);
	doc->raw_len = len;
	rc = rd_envelope(doc, err);
	if (!rc)
		rc = rd_protected(doc, err);
	if (!rc)
		rc = rd_payload(doc, err);
	return rc;
}

void attest_doc_release(struct attest_doc *doc)
{
	size_t i;

	for (i = 0; i < doc->chain_len; i++)
		free(doc->chain[i].subject);
	cbor_doc_release(&doc->env);
	cbor_doc_release(&doc->prot);
	cbor_doc_release(&doc->payload);
	free(doc->raw);
	memset(doc, 0, sizeof(*doc));
}

bool attest_is_debug(const struct attest_doc *doc)
{
	static const uint8_t zero[ATTEST_PCR_LEN];
	int i;

	for (i = 0; i < 3; i++)
		if (!doc->pcr[i] || memcmp(doc->pcr[i], zero, ATTEST_PCR_LEN))
			return false;
	return true;
}

/* ---- inputs ---- */

int attest_decode_input(const uint8_t *in, size_t len, enum attest_format fmt,
			uint8_t **out, size_t *out_len, enum attest_format *used,
			struct ek_error *err)
{
	size_t i;
	int rc;

	if (fmt == ATTEST_FMT_AUTO) {
		fmt = ATTEST_FMT_HEX;
		for (i = 0; fmt != ATTEST_FMT_RAW && i < len; i++) {
			if (codec_is_space(in[i]) || codec_hex_value(in[i]) >= 0)
				continue;
			fmt = codec_base64_value(in[i]) >= 0 || in[i] == '='
				      ? ATTEST_FMT_BASE64
				      : ATTEST_FMT_RAW;
		}
	}
	*used = fmt;
	*out = malloc(len ? len : 1);
	if (!*out)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	if (fmt == ATTEST_FMT_RAW) {
		memcpy(*out, in, len);
		*out_len = len;
		rc = 0;
	} else if (fmt == ATTEST_FMT_HEX) {
		rc = codec_hex_decode(in, len, *out, out_len, err);
	} else {
		rc = codec_base64_decode(in, len, *out, out_len, err);
	}
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}
