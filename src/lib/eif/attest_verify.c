/* attest_verify.c: the semantic checks of an attestation document
 * (attest.h): the root, the chain, the time and the COSE signature.
 *
 * Decisions:
 *  - cabundle must be in AWS's order, root first: it is checked link by
 *    link before OpenSSL builds the chain, because OpenSSL would find the
 *    issuers in any order and a reordered bundle is not what the NSM
 *    writes.
 *  - Each certificate must be exactly one DER structure (no bytes after).
 *  - OpenSSL's strict mode (X509_V_FLAG_X509_STRICT) is off: genuine leaf
 *    certificates have no Authority Key Identifier, which it requires. */
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
	"fails at the current time: it verifies only near its own timestamp, "
	"the default validation time)";

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
