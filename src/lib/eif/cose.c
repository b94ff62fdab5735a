/* cose.c: COSE_Sign1 with ECDSA (cose.h).
 *
 * COSE carries the signature as r || s of fixed width; OpenSSL speaks
 * DER ECDSA-Sig-Value. Both directions are converted here, with the width
 * checked so that a signature of the wrong size never verifies. */
#include "base/internal.h"

#include <limits.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "base/cbor.h"
#include "eif/cose.h"

static const struct cose_alg cose_algs[] = {
	{ NID_X9_62_prime256v1, COSE_ALG_ES256, EVP_sha256, 32, "P-256" },
	{ NID_secp384r1, COSE_ALG_ES384, EVP_sha384, 48, "P-384" },
	{ NID_secp521r1, COSE_ALG_ES512, EVP_sha512, 66, "P-521" },
};

const struct cose_alg *cose_alg_for_pkey(const EVP_PKEY *pk)
{
	char name[80];
	size_t i, n;
	int nid;

	if (!pk || !EVP_PKEY_is_a(pk, "EC"))
		return NULL;
	if (!EVP_PKEY_get_group_name(pk, name, sizeof(name), &n)) {
		ERR_clear_error();
		return NULL;
	}
	nid = OBJ_sn2nid(name);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(name);
	for (i = 0; i < ARRAY_SIZE(cose_algs); i++)
		if (cose_algs[i].nid == nid)
			return &cose_algs[i];
	return NULL;
}

/* ---- encoding ---- */

void cose_encode_protected(struct strbuf *sb, int alg)
{
	cbor_put_head(sb, CBOR_MAJOR_MAP, 1);
	cbor_put_head(sb, CBOR_MAJOR_UINT, 1);
	cbor_put_int(sb, alg);
}

void cose_encode_sig_structure(struct strbuf *sb, const uint8_t *prot,
			       size_t prot_len, const uint8_t *payload,
			       size_t payload_len)
{
	cbor_put_head(sb, CBOR_MAJOR_ARRAY, 4);
	cbor_put_text(sb, "Signature1");
	cbor_put_bstr(sb, prot, prot_len);
	cbor_put_bstr(sb, "", 0); /* external_aad */
	cbor_put_bstr(sb, payload, payload_len);
}

/* ---- ECDSA ---- */

#define COSE_SIG_MAX 512 /* DER on P-521 is 139 bytes; room for noise */

/* DER ECDSA-Sig-Value -> r || s of width c each. false if der is not
 * exactly one such value or r or s is wider than the curve's. */
static bool der_to_rs(const uint8_t *der, size_t len, size_t c, uint8_t *rs)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig;
	const BIGNUM *r, *s;
	bool ok;

	if (len == 0 || len > LONG_MAX || der[0] != 0x30)
		return false;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	ok = sig && p == der + len;
	if (ok) {
		ECDSA_SIG_get0(sig, &r, &s);
		ok = !BN_is_negative(r) && !BN_is_negative(s) &&
		     BN_bn2binpad(r, rs, (int)c) == (int)c &&
		     BN_bn2binpad(s, rs + c, (int)c) == (int)c;
	}
	ECDSA_SIG_free(sig);
	ERR_clear_error();
	return ok;
}

/* The local key as a cose_digest_sign_fn. */
static int key_sign_digest(void *ctx, const uint8_t *digest, size_t dlen,
			   uint8_t *sig, size_t sig_max, size_t *sig_len,
			   struct ek_error *err)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(ctx, NULL);
	int ok;

	*sig_len = sig_max;
	ok = pctx && EVP_PKEY_sign_init(pctx) == 1 &&
	     EVP_PKEY_sign(pctx, sig, sig_len, digest, dlen) == 1;
	EVP_PKEY_CTX_free(pctx);
	if (!ok)
		return ek_fail_ssl(err, EK_ECRYPTO, "ECDSA signing failed");
	return 0;
}

/* 1: rs is a valid signature of tbs; 0: it is not; EK_ENOMEM. */
static int ecdsa_verify(EVP_PKEY *pub, const struct cose_alg *alg,
			const uint8_t *tbs, size_t tbs_len, const uint8_t *rs,
			size_t rs_len)
{
	ECDSA_SIG *sig;
	BIGNUM *r, *s;
	EVP_MD_CTX *ctx;
	unsigned char *der = NULL;
	int der_len = -1, rc = EK_ENOMEM;

	if (rs_len != 2 * alg->coord)
		return 0;
	sig = ECDSA_SIG_new();
	r = BN_bin2bn(rs, (int)alg->coord, NULL);
	s = BN_bin2bn(rs + alg->coord, (int)alg->coord, NULL);
	ctx = EVP_MD_CTX_new();
	if (sig && r && s && ctx && ECDSA_SIG_set0(sig, r, s) == 1) {
		r = s = NULL; /* owned by sig now */
		der_len = i2d_ECDSA_SIG(sig, &der);
	}
	if (der_len > 0) {
		rc = EVP_DigestVerifyInit(ctx, NULL, alg->md(), NULL, pub) == 1 &&
		     EVP_DigestVerify(ctx, der, (size_t)der_len, tbs,
				      tbs_len) == 1;
	}
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	ERR_clear_error();
	return rc;
}

/* ---- building ---- */

/* Turn what a signer returned into r || s that verifies with pub over
 * tbs. Raw and DER are told apart by trying both: a 2c-byte string can
 * be either, and only the signature decides which reading is right. */
static int take_signature(const struct cose_alg *alg, EVP_PKEY *pub,
			  const struct strbuf *tbs, const uint8_t *sig,
			  size_t len, const char *what, uint8_t *rs,
			  struct ek_error *err)
{
	uint8_t cand[2][COSE_RS_MAX];
	size_t n = 0, c = alg->coord;

	if (len == 0)
		return ek_fail(err, EK_ECRYPTO, "%s returned no signature",
			       what);
	if (len == 2 * c)
		memcpy(cand[n++], sig, len);
	if (der_to_rs(sig, len, c, cand[n]))
		n++;
	if (n == 0)
		return ek_fail(err, EK_ECRYPTO,
			       "%s returned %zu bytes that are not an ECDSA "
			       "signature on %s (DER, or r||s of %zu bytes)",
			       what, len, alg->curve, 2 * c);
	for (size_t i = 0; i < n; i++) {
		int v = ecdsa_verify(pub, alg, (uint8_t *)tbs->buf, tbs->len,
				     cand[i], 2 * c);

		if (v < 0)
			return ek_fail(err, v, "out of memory");
		if (v == 1) {
			memcpy(rs, cand[i], 2 * c);
			return 0;
		}
	}
	return ek_fail(err, EK_ECRYPTO,
		       "%s returned a signature that does not verify with the "
		       "certificate's %s public key (signed by another key, or "
		       "other bytes)",
		       what, alg->curve);
}

int cose_sign1_build_with(cose_digest_sign_fn fn, void *ctx,
			  const char *what, EVP_PKEY *pub,
			  const struct cose_alg *alg, const uint8_t *payload,
			  size_t payload_len, struct strbuf *cose,
			  struct ek_error *err)
{
	struct strbuf prot, tbs;
	uint8_t rs[COSE_RS_MAX], digest[EVP_MAX_MD_SIZE], sig[COSE_SIG_MAX];
	unsigned dlen = 0;
	size_t sig_len = 0;
	int rc = 0;

	strbuf_init(&prot);
	strbuf_init(&tbs);
	cose_encode_protected(&prot, alg->cose_alg);
	cose_encode_sig_structure(&tbs, (uint8_t *)prot.buf, prot.len, payload,
				  payload_len);
	if (!strbuf_ok(&tbs) || !strbuf_ok(&prot))
		rc = ek_fail(err, EK_ENOMEM, "out of memory");
	if (!rc && EVP_Digest(tbs.buf, tbs.len, digest, &dlen, alg->md(),
			      NULL) != 1)
		rc = ek_fail_ssl(err, EK_ECRYPTO, "cannot hash the COSE "
				 "Sig_structure");
	if (!rc)
		rc = fn(ctx, digest, dlen, sig, sizeof(sig), &sig_len, err);
	if (!rc && sig_len > sizeof(sig))
		rc = ek_fail(err, EK_ECRYPTO, "%s returned a signature too "
			     "long", what);
	if (!rc)
		rc = take_signature(alg, pub, &tbs, sig, sig_len, what, rs,
				    err);
	if (!rc) {
		cbor_put_head(cose, CBOR_MAJOR_ARRAY, 4);
		cbor_put_bstr(cose, prot.buf, prot.len);
		cbor_put_head(cose, CBOR_MAJOR_MAP, 0); /* unprotected: {} */
		cbor_put_bstr(cose, payload, payload_len);
		cbor_put_bstr(cose, rs, 2 * alg->coord);
	}
	OPENSSL_cleanse(sig, sizeof(sig));
	strbuf_release(&prot);
	strbuf_release(&tbs);
	return rc;
}

int cose_sign1_build(EVP_PKEY *key, const struct cose_alg *alg,
		     const uint8_t *payload, size_t payload_len,
		     struct strbuf *cose, struct ek_error *err)
{
	return cose_sign1_build_with(key_sign_digest, key, "the private key",
				     key, alg, payload, payload_len, cose, err);
}

/* ---- reading ---- */

/* The protected header: exactly {1: alg}. */
static bool rd_protected_alg(const uint8_t *p, size_t len, int64_t *alg)
{
	struct cbor_rd r = { p, len, 0 };
	uint64_t n, v;
	unsigned m;

	if (!cbor_rd_expect(&r, CBOR_MAJOR_MAP, &n) || n != 1 ||
	    !cbor_rd_expect(&r, CBOR_MAJOR_UINT, &v) || v != 1 ||
	    !cbor_rd_head(&r, &m, &v) || v > INT64_MAX)
		return false;
	if (m == CBOR_MAJOR_UINT)
		*alg = (int64_t)v;
	else if (m == CBOR_MAJOR_NINT)
		*alg = -1 - (int64_t)v;
	else
		return false;
	return r.pos == len;
}

bool cose_sign1_read_strict(const uint8_t *p, size_t len,
			    struct cose_sign1 *c)
{
	struct cbor_rd r = { p, len, 0 };
	uint64_t n;

	c->tagged = len > 0 && p[0] == 0xd2; /* tag 18 */
	if (c->tagged)
		r.pos = 1;
	if (!cbor_rd_expect(&r, CBOR_MAJOR_ARRAY, &n) || n != 4 ||
	    !cbor_rd_bstr(&r, &c->prot, &c->prot_len) ||
	    !cbor_rd_expect(&r, CBOR_MAJOR_MAP, &n) || n != 0 ||
	    !cbor_rd_bstr(&r, &c->payload, &c->payload_len) ||
	    !cbor_rd_bstr(&r, &c->sig, &c->sig_len))
		return false;
	return r.pos == len && rd_protected_alg(c->prot, c->prot_len, &c->alg);
}

int cose_sign1_verify(const struct cose_sign1 *c, EVP_PKEY *pub)
{
	const struct cose_alg *alg = cose_alg_for_pkey(pub);
	struct strbuf tbs;
	int rc;

	ERR_clear_error();
	if (!alg || alg->cose_alg != c->alg)
		return 0;
	strbuf_init(&tbs);
	cose_encode_sig_structure(&tbs, c->prot, c->prot_len, c->payload,
				  c->payload_len);
	rc = strbuf_ok(&tbs) ? ecdsa_verify(pub, alg, (uint8_t *)tbs.buf,
					    tbs.len, c->sig, c->sig_len)
			     : EK_ENOMEM;
	strbuf_release(&tbs);
	return rc;
}
