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
	{ NID_X9_62_prime256v1, COSE_ALG_ES256, EVP_sha256, 32 },
	{ NID_secp384r1, COSE_ALG_ES384, EVP_sha384, 48 },
	{ NID_secp521r1, COSE_ALG_ES512, EVP_sha512, 66 },
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

/* Sign tbs; rs gets r || s, each left-padded to the curve size. */
static int ecdsa_sign(EVP_PKEY *key, const struct cose_alg *alg,
		      const uint8_t *tbs, size_t tbs_len, uint8_t *rs,
		      struct ek_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[256];
	const unsigned char *p = der;
	size_t der_len = sizeof(der), c = alg->coord;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *sv;
	int ok;

	ok = ctx && EVP_DigestSignInit(ctx, NULL, alg->md(), NULL, key) == 1 &&
	     EVP_DigestSign(ctx, der, &der_len, tbs, tbs_len) == 1;
	if (ok)
		sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	ok = sig && p == der + der_len;
	if (ok) {
		ECDSA_SIG_get0(sig, &r, &sv);
		ok = BN_bn2binpad(r, rs, (int)c) == (int)c &&
		     BN_bn2binpad(sv, rs + c, (int)c) == (int)c;
	}
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(der, sizeof(der));
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

int cose_sign1_build(EVP_PKEY *key, const struct cose_alg *alg,
		     const uint8_t *payload, size_t payload_len,
		     struct strbuf *cose, struct ek_error *err)
{
	struct strbuf prot, tbs;
	uint8_t rs[COSE_RS_MAX];
	int rc = 0;

	strbuf_init(&prot);
	strbuf_init(&tbs);
	cose_encode_protected(&prot, alg->cose_alg);
	cose_encode_sig_structure(&tbs, (uint8_t *)prot.buf, prot.len, payload,
				  payload_len);
	if (!strbuf_ok(&tbs) || !strbuf_ok(&prot))
		rc = ek_fail(err, EK_ENOMEM, "out of memory");
	if (!rc)
		rc = ecdsa_sign(key, alg, (uint8_t *)tbs.buf, tbs.len, rs, err);
	if (!rc) {
		cbor_put_head(cose, CBOR_MAJOR_ARRAY, 4);
		cbor_put_bstr(cose, prot.buf, prot.len);
		cbor_put_head(cose, CBOR_MAJOR_MAP, 0); /* unprotected: {} */
		cbor_put_bstr(cose, payload, payload_len);
		cbor_put_bstr(cose, rs, 2 * alg->coord);
	}
	strbuf_release(&prot);
	strbuf_release(&tbs);
	return rc;
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
