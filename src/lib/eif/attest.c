/* attest.c: Nitro attestation documents (attest.h).
 *
 * Decisions:
 *  - The CBOR is read by base/cbor's strict decoder, not libcbor: the
 *    decoder is small, refuses duplicate keys and trailing bytes (libcbor
 *    0.8 does neither by itself), and is shared with the signature
 *    section. Indefinite lengths and longer-than-needed heads are
 *    accepted, as RFC 8949 allows them; the signature covers the bytes.
 *  - Unknown payload keys are ignored (the payload is signed; a future
 *    NSM may add fields), but every known one must have its type and size.
 *  - cabundle must be in AWS's order, root first: it is checked link by
 *    link before OpenSSL builds the chain, because OpenSSL would find the
 *    issuers in any order and a reordered bundle is not what the NSM
 *    writes.
 *  - Each certificate must be exactly one DER structure (no bytes after). */
#include "base/internal.h"

#include <limits.h>
#include <stdio.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "base/cbor.h"
#include "eif/attest.h"
#include "eif/cose.h"

/* AWS Nitro Enclaves root G1, as AWS publishes it (AWS_NitroEnclaves_Root-
 * G1.zip); pinned by ATTEST_ROOT_G1_SHA256 as well. */
static const char root_g1_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL\n"
	"MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD\n"
	"VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4\n"
	"MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL\n"
	"DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG\n"
	"BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb\n"
	"48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE\n"
	"h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF\n"
	"R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC\n"
	"MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW\n"
	"rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N\n"
	"IwLz3/Y=\n"
	"-----END CERTIFICATE-----\n";

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

/* ---- semantic checks ---- */

struct chain {
	X509 *root;
	X509 *ca[ATTEST_CABUNDLE_MAX]; /* cabundle, parsed */
	X509 *leaf;
	int64_t at;
	bool at_given;
};

static X509 *der_cert(const struct attest_blob *b)
{
	const unsigned char *p = b->p;
	X509 *c;

	if (b->len > LONG_MAX)
		return NULL;
	c = d2i_X509(NULL, &p, (long)b->len);
	if (c && p != b->p + b->len) { /* bytes after the certificate */
		X509_free(c);
		c = NULL;
	}
	return c;
}

static int load_root(const uint8_t *pem, size_t len, X509 **root,
		     uint8_t sha[32], struct ek_error *err)
{
	const char *src = pem ? (const char *)pem : root_g1_pem;
	size_t n = pem ? len : sizeof(root_g1_pem) - 1;
	unsigned char *der = NULL;
	BIO *bio;
	int dl;

	if (n > INT_MAX || (pem && memchr(pem, 0, len)))
		return ek_fail(err, EK_EFORMAT, "--root: not a PEM certificate");
	bio = BIO_new_mem_buf(src, (int)n);
	*root = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!*root)
		return ek_fail_ssl(err, pem ? EK_EFORMAT : EK_ENOMEM,
				   "%s: not a PEM certificate",
				   pem ? "--root" : "the embedded root");
	dl = i2d_X509(*root, &der);
	if (dl <= 0 || !EVP_Digest(der, (size_t)dl, sha, NULL, EVP_sha256(),
				   NULL)) {
		OPENSSL_free(der);
		return ek_fail_ssl(err, EK_ECRYPTO, "root: cannot hash its DER");
	}
	OPENSSL_free(der);
	if (!pem) {
		char hex[65];

		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", sha[i]);
		if (strcmp(hex, ATTEST_ROOT_G1_SHA256))
			return ek_fail(err, EK_ECRYPTO,
				       "the embedded root does not have the "
				       "pinned fingerprint");
	}
	return 0;
}

/* cabundle[i] by name in messages; i == n is the leaf. */
static const char *cert_name(char *buf, size_t cap, size_t i, size_t n)
{
	if (i == n)
		snprintf(buf, cap, "the leaf certificate");
	else
		snprintf(buf, cap, "cabundle[%zu]", i);
	return buf;
}

static int parse_certs(const struct attest_doc *doc, struct chain *ch,
		       struct ek_error *err)
{
	char name[40];
	size_t i, n = doc->ncabundle;

	for (i = 0; i <= n; i++) {
		X509 *c = der_cert(i < n ? &doc->cabundle[i] : &doc->certificate);

		if (!c)
			return ek_fail_ssl(err, EK_ECRYPTO,
					   "%s is not one DER X.509 certificate",
					   cert_name(name, sizeof(name), i, n));
		if (i < n)
			ch->ca[i] = c;
		else
			ch->leaf = c;
	}
	return 0;
}

static int64_t asn1_secs(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!ASN1_TIME_to_tm(t, &tm))
		return INT64_MIN;
	return (int64_t)timegm(&tm);
}

static void iso_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm))
		strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(buf, 32, "@%lld", (long long)t);
}

/* cabundle[0] is the trust anchor; each next one, and then the leaf, is
 * issued by the one before (names, key identifiers, CA key usage). */
static int check_order(const struct attest_doc *doc, const struct chain *ch,
		       struct ek_error *err)
{
	char a[40], b[40];
	size_t i, n = doc->ncabundle;

	if (X509_cmp(ch->ca[0], ch->root) != 0)
		return ek_fail(err, EK_ECRYPTO,
			       "cabundle[0] is not the trusted root (AWS "
			       "Nitro Enclaves root G1, or --root)");
	for (i = 1; i <= n; i++) {
		X509 *sub = i < n ? ch->ca[i] : ch->leaf;

		if (X509_check_issued(ch->ca[i - 1], sub) != X509_V_OK)
			return ek_fail(err, EK_ECRYPTO,
				       "chain: %s is not issued by %s "
				       "(cabundle must go from the root to the "
				       "leaf's issuer, in order)",
				       cert_name(a, sizeof(a), i, n),
				       cert_name(b, sizeof(b), i - 1, n));
	}
	return 0;
}

static const char time_hint[] =
	" (a leaf certificate lives about three hours, so a stored document "
	"fails at the current time: check it at its own timestamp, the "
	"default)";

/* OpenSSL's verification from the root alone, at ch->at. */
static int check_chain(const struct attest_doc *doc, const struct chain *ch,
		       struct ek_error *err)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_VERIFY_PARAM *param;
	char name[40], when[32];
	size_t i, n = doc->ncabundle;
	int rc = 0, e, depth;

	if (!store || !ctx || !untrusted || !X509_STORE_add_cert(store, ch->root))
		rc = ek_fail_ssl(err, EK_ENOMEM, "out of memory");
	for (i = 1; !rc && i < n; i++)
		if (!sk_X509_push(untrusted, ch->ca[i]))
			rc = ek_fail_ssl(err, EK_ENOMEM, "out of memory");
	if (!rc && !X509_STORE_CTX_init(ctx, store, ch->leaf, untrusted))
		rc = ek_fail_ssl(err, EK_ENOMEM, "out of memory");
	if (!rc) {
		param = X509_STORE_CTX_get0_param(ctx);
		X509_VERIFY_PARAM_set_time(param, (time_t)ch->at);
		/* not X509_V_FLAG_X509_STRICT: genuine leaves have no
		 * Authority Key Identifier, which strict mode requires */
		X509_VERIFY_PARAM_set_flags(param,
					    X509_V_FLAG_CHECK_SS_SIGNATURE);
		if (X509_verify_cert(ctx) != 1) {
			e = X509_STORE_CTX_get_error(ctx);
			depth = X509_STORE_CTX_get_error_depth(ctx);
			iso_time(ch->at, when);
			rc = ek_fail(err, EK_ECRYPTO,
				     "chain: %s: %s at %s%s",
				     depth >= 0 && (size_t)depth <= n
					     ? cert_name(name, sizeof(name),
							 n - (size_t)depth, n)
					     : "a certificate",
				     X509_verify_cert_error_string(e), when,
				     (e == X509_V_ERR_CERT_HAS_EXPIRED ||
				      e == X509_V_ERR_CERT_NOT_YET_VALID) &&
						     ch->at_given
					     ? time_hint
					     : "");
		}
	}
	if (!rc && (size_t)sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) != n + 1)
		rc = ek_fail(err, EK_ECRYPTO,
			     "chain: OpenSSL built a chain of another length");
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

static char *subject_text(X509 *c)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *s = NULL;
	long n;

	if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(c), 0,
				      XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(bio, &p);
		if (n >= 0 && (s = malloc((size_t)n + 1))) {
			memcpy(s, p, (size_t)n);
			s[n] = 0;
		}
	}
	BIO_free(bio);
	return s;
}

/* The chain for the caller, and the document's timestamp inside every
 * certificate's validity (whatever time the chain was checked at). */
static int record_chain(struct attest_doc *doc, const struct chain *ch,
			struct ek_error *err)
{
	int64_t ts = (int64_t)(doc->timestamp_ms / 1000);
	char name[40], t1[32], t2[32], t3[32];
	size_t i, n = doc->ncabundle;

	for (i = 0; i <= n; i++) {
		X509 *c = i < n ? ch->ca[i] : ch->leaf;
		struct attest_cert *ac = &doc->chain[i];

		ac->subject = subject_text(c);
		if (!ac->subject)
			return ek_fail(err, EK_ENOMEM, "out of memory");
		doc->chain_len = i + 1;
		ac->not_before = asn1_secs(X509_get0_notBefore(c));
		ac->not_after = asn1_secs(X509_get0_notAfter(c));
		if (ts < ac->not_before || ts > ac->not_after) {
			iso_time(ts, t1);
			iso_time(ac->not_before, t2);
			iso_time(ac->not_after, t3);
			return ek_fail(err, EK_ECRYPTO,
				       "the document's timestamp %s is outside "
				       "the validity of %s (%s to %s)",
				       t1, cert_name(name, sizeof(name), i, n),
				       t2, t3);
		}
	}
	return 0;
}

int attest_verify(struct attest_doc *doc, const uint8_t *root_pem,
		  size_t root_pem_len, const int64_t *at, struct ek_error *err)
{
	struct chain ch;
	size_t i;
	int rc;

	memset(&ch, 0, sizeof(ch));
	ch.at_given = at != NULL;
	ch.at = at ? *at : (int64_t)(doc->timestamp_ms / 1000);
	doc->verified_at = ch.at;
	rc = load_root(root_pem, root_pem_len, &ch.root, doc->root_sha256, err);
	if (!rc)
		rc = parse_certs(doc, &ch, err);
	if (!rc)
		rc = check_order(doc, &ch, err);
	if (!rc)
		rc = check_chain(doc, &ch, err);
	if (!rc)
		rc = record_chain(doc, &ch, err);
	if (!rc) {
		rc = cose_sign1_verify(&doc->cose, X509_get0_pubkey(ch.leaf));
		if (rc == 0)
			rc = ek_fail(err, EK_ECRYPTO,
				     "the COSE signature does not verify with "
				     "the leaf certificate's key");
		else if (rc > 0)
			rc = 0;
		else
			rc = ek_fail(err, rc, "out of memory");
	}
	X509_free(ch.root);
	for (i = 0; i < ATTEST_CABUNDLE_MAX; i++)
		X509_free(ch.ca[i]);
	X509_free(ch.leaf);
	ERR_clear_error();
	return rc;
}

void attest_root_fingerprint(const struct attest_doc *doc,
			     char hex[2 * 32 + 1])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", doc->root_sha256[i]);
}

/* ---- inputs ---- */

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int dec_hex(const uint8_t *in, size_t len, uint8_t *out,
		   size_t *out_len, struct ek_error *err)
{
	size_t i, n = 0;
	int hi = -1, v;

	for (i = 0; i < len; i++) {
		if (is_space(in[i]))
			continue;
		v = hexval(in[i]);
		if (v < 0)
			return ek_fail(err, EK_EFORMAT,
				       "hex: byte %zu is not a hex digit", i);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		return ek_fail(err, EK_EFORMAT, "hex: an odd number of digits");
	*out_len = n;
	return 0;
}

static int dec_b64(const uint8_t *in, size_t len, uint8_t *out,
		   size_t *out_len, struct ek_error *err)
{
	uint32_t acc = 0;
	size_t i, n = 0, bits = 0, pad = 0, chars = 0;
	int v;

	for (i = 0; i < len; i++) {
		if (is_space(in[i]))
			continue;
		if (in[i] == '=') {
			pad++;
			continue;
		}
		v = b64val(in[i]);
		if (v < 0 || pad)
			return ek_fail(err, EK_EFORMAT,
				       "base64: byte %zu is not base64", i);
		chars++;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (chars % 4 == 1 || pad > 2 || (pad && (chars + pad) % 4) ||
	    (acc & ((1u << bits) - 1)))
		return ek_fail(err, EK_EFORMAT,
			       "base64: a wrong length, padding or final bits");
	*out_len = n;
	return 0;
}

int attest_decode_input(const uint8_t *in, size_t len, enum attest_format fmt,
			uint8_t **out, size_t *out_len, enum attest_format *used,
			struct ek_error *err)
{
	size_t i;
	int rc;

	if (fmt == ATTEST_FMT_AUTO) {
		fmt = ATTEST_FMT_HEX;
		for (i = 0; fmt != ATTEST_FMT_RAW && i < len; i++) {
			if (is_space(in[i]) || hexval(in[i]) >= 0)
				continue;
			fmt = b64val(in[i]) >= 0 || in[i] == '='
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
		rc = dec_hex(in, len, *out, out_len, err);
	} else {
		rc = dec_b64(in, len, *out, out_len, err);
	}
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

bool attest_public_key_matches(const struct attest_doc *doc,
			       const uint8_t *key, size_t len)
{
	const struct attest_blob *pk = &doc->public_key;
	unsigned char *der = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int n = -1;
	bool ok;

	if (!pk->present)
		return false;
	if (pk->len == len && memcmp(pk->p, key, len) == 0)
		return true;
	bio = len <= INT_MAX ? BIO_new_mem_buf(key, (int)len) : NULL;
	if (bio)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (pkey)
		n = i2d_PUBKEY(pkey, &der);
	ok = n > 0 && (size_t)n == pk->len && memcmp(der, pk->p, pk->len) == 0;
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}
