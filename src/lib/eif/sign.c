/* sign.c: the EIF signature section (EIF-FORMAT.md section 9, PCR8 in 7.2).
 *
 * Writing: the CBOR is a tiny fixed layout, so it is written here byte by
 * byte with serde_cbor's rules (definite lengths, shortest heads, Vec<u8>
 * as an array of uints, struct fields as text-keyed maps in declaration
 * order). The official vectors of 9.2 are reproduced in test_sign.c.
 *
 * Reading: the section comes from a possibly hostile file, so it is read
 * by a small strict decoder rather than a general one. Decisions:
 *  - Every CBOR head must be in shortest form and of definite length.
 *    serde_cbor would also accept e.g. "18 05" for 5 (QEMU too), but no
 *    official writer produces it, and canonical-only input means one byte
 *    string per logical value (so comparing decoded values is the same as
 *    nitro-cli's byte comparison of the payload).
 *  - The layout must be exactly [ {"signing_certificate": [u8...],
 *    "signature": [u8...]}, ... ] with those two keys in that order; later
 *    array entries must have the same shape (serde decodes them all) but
 *    only entry 0 is used. No byte may follow the array.
 *  - COSE_Sign1 is accepted tagged (d2) or untagged. Its protected header
 *    must be exactly {1: alg} and the unprotected header an empty map,
 *    which is all any official signer writes. A bad shape is EK_EFORMAT;
 *    a wrong alg or a signature that does not verify is cose_valid = false.
 *  - The PEM certificate is parsed as OpenSSL's PEM_read_bio_X509 does
 *    (the official readers use it, text around the PEM block is allowed),
 *    but a NUL byte anywhere in it is refused so cert_pem is a C string. */
#include "base/internal.h"

#include <limits.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/io.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "eif/sign.h"

#define SIGN_KEY_FILE_MAX 65536

/* The CBOR encoders, not static so that tests/unit/test_sign.c (which
 * declares them itself) can check them against the official vectors. */
void sign_encode_pcr_info(struct strbuf *sb, uint32_t index,
			  const uint8_t *value, size_t len);
void sign_encode_sig_structure(struct strbuf *sb, const uint8_t *prot,
			       size_t prot_len, const uint8_t *payload,
			       size_t payload_len);
void sign_encode_section(struct strbuf *sb, const uint8_t *pem,
			 size_t pem_len, const uint8_t *cose, size_t cose_len);

struct sign_alg {
	int nid;
	int cose_alg;
	const EVP_MD *(*md)(void);
	size_t coord; /* bytes of r and of s in the raw signature */
};

static const struct sign_alg sign_algs[] = {
	{ NID_X9_62_prime256v1, -7, EVP_sha256, 32 }, /* ES256 */
	{ NID_secp384r1, -35, EVP_sha384, 48 },       /* ES384 */
	{ NID_secp521r1, -36, EVP_sha512, 66 },       /* ES512 */
};

#define SIGN_RS_MAX (2 * 66)

struct ek_signer {
	X509 *cert;
	EVP_PKEY *key;
	const struct sign_alg *alg;
	uint8_t *pem; /* the certificate file as read */
	size_t pem_len;
	uint8_t pcr8[SIGN_PCR_LEN];
};

/* ---- small OpenSSL helpers ---- */

/* The algorithm for an EC key on a supported curve, else NULL. */
static const struct sign_alg *alg_for_pkey(const EVP_PKEY *pk)
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
	for (i = 0; i < ARRAY_SIZE(sign_algs); i++)
		if (sign_algs[i].nid == nid)
			return &sign_algs[i];
	return NULL;
}

/* PEM callback: never prompt; note that the key wanted a passphrase. */
static int refuse_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	if (u)
		*(bool *)u = true;
	return -1;
}

static X509 *cert_from_pem(const uint8_t *pem, size_t len)
{
	BIO *bio;
	X509 *cert;

	if (len > INT_MAX)
		return NULL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return NULL;
	cert = PEM_read_bio_X509(bio, NULL, refuse_passphrase, NULL);
	BIO_free(bio);
	return cert;
}

/* PCR8 = SHA384(0^48 || SHA384(DER)). 0 or -1. */
static int cert_pcr8(X509 *cert, uint8_t pcr[SIGN_PCR_LEN])
{
	uint8_t buf[2 * SIGN_PCR_LEN];
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	int ok;

	if (n <= 0)
		return -1;
	memset(buf, 0, SIGN_PCR_LEN);
	ok = EVP_Digest(der, (size_t)n, buf + SIGN_PCR_LEN, NULL, EVP_sha384(),
			NULL) &&
	     EVP_Digest(buf, sizeof(buf), pcr, NULL, EVP_sha384(), NULL);
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

/* Read a small input file; messages read "<what> 'path': reason". */
static int read_input(const char *what, const char *path, size_t max,
		      uint8_t **buf, size_t *len, struct ek_error *err)
{
	struct ek_error e;
	int rc = io_read_small_file(path, max, buf, len, &e);

	if (rc < 0)
		return ek_fail(err, rc, "%s %s", what, e.msg);
	return 0;
}

/* Read and parse a PEM certificate file. If pem is not NULL it gets the
 * file bytes (caller frees). */
static int read_cert_file(const char *path, X509 **cert, uint8_t **pem,
			  size_t *pem_len, struct ek_error *err)
{
	uint8_t *buf;
	size_t len;
	int rc = read_input("certificate", path, SIGN_SECTION_MAX, &buf, &len,
			    err);

	if (rc < 0)
		return rc;
	*cert = memchr(buf, 0, len) ? NULL : cert_from_pem(buf, len);
	if (!*cert) {
		free(buf);
		return ek_fail_ssl(err, EK_ECRYPTO,
				   "certificate '%s': not a PEM X.509 certificate",
				   path);
	}
	if (pem) {
		*pem = buf;
		*pem_len = len;
	} else {
		free(buf);
	}
	return 0;
}

/* ---- loading a signer ---- */

static int read_key_file(const char *path, EVP_PKEY **key,
			 struct ek_error *err)
{
	bool encrypted = false;
	uint8_t *buf;
	size_t len;
	BIO *bio;
	int rc = read_input("private key", path, SIGN_KEY_FILE_MAX, &buf, &len,
			    err);

	if (rc < 0)
		return rc;
	bio = BIO_new_mem_buf(buf, (int)len);
	*key = bio ? PEM_read_bio_PrivateKey(bio, NULL, refuse_passphrase,
					     &encrypted)
		   : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (*key)
		return 0;
	if (encrypted) {
		ERR_clear_error();
		return ek_fail(err, EK_ECRYPTO,
			       "private key '%s': encrypted keys are not supported",
			       path);
	}
	return ek_fail_ssl(err, EK_ECRYPTO,
			   "private key '%s': not a PEM private key", path);
}

static int check_pair(struct ek_signer *s, const char *cert_path,
		      const char *key_path, struct ek_error *err)
{
	s->alg = alg_for_pkey(s->key);
	if (!s->alg)
		return ek_fail(err, EK_ECRYPTO,
			       "private key '%s': unsupported key type (need EC "
			       "P-256, P-384 or P-521)",
			       key_path);
	if (EVP_PKEY_eq(X509_get0_pubkey(s->cert), s->key) != 1) {
		ERR_clear_error();
		return ek_fail(err, EK_ECRYPTO,
			       "private key '%s' does not match the public key "
			       "of certificate '%s'",
			       key_path, cert_path);
	}
	return 0;
}

int signer_load(const char *cert_path, const char *key_path,
		struct ek_signer **ret, struct ek_error *err)
{
	struct ek_signer *s = calloc(1, sizeof(*s));
	int rc;

	*ret = NULL;
	if (!s)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	rc = read_cert_file(cert_path, &s->cert, &s->pem, &s->pem_len, err);
	if (!rc && cert_pcr8(s->cert, s->pcr8) < 0)
		rc = ek_fail_ssl(err, EK_ECRYPTO,
				 "certificate '%s': cannot encode it as DER",
				 cert_path);
	if (!rc)
		rc = read_key_file(key_path, &s->key, err);
	if (!rc)
		rc = check_pair(s, cert_path, key_path, err);
	if (rc) {
		signer_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

void signer_free(struct ek_signer *s)
{
	if (!s)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	free(s->pem);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void signer_pcr8(const struct ek_signer *s, uint8_t pcr8[SIGN_PCR_LEN])
{
	memcpy(pcr8, s->pcr8, SIGN_PCR_LEN);
}

int sign_cert_file_pcr8(const char *cert_path, uint8_t pcr8[SIGN_PCR_LEN],
			struct ek_error *err)
{
	X509 *cert;
	int rc = read_cert_file(cert_path, &cert, NULL, NULL, err);

	if (rc < 0)
		return rc;
	if (cert_pcr8(cert, pcr8) < 0)
		rc = ek_fail_ssl(err, EK_ECRYPTO,
				 "certificate '%s': cannot encode it as DER",
				 cert_path);
	X509_free(cert);
	return rc;
}

/* ---- CBOR writing (serde_cbor layout, EIF-FORMAT.md 9.2) ---- */

static void cb_head(struct strbuf *sb, unsigned major, uint64_t arg)
{
	uint8_t b[9];
	size_t n, i;

	b[0] = (uint8_t)(major << 5);
	if (arg < 24) {
		b[0] |= (uint8_t)arg;
		strbuf_add(sb, b, 1);
		return;
	}
	if (arg <= 0xff)
		n = 1, b[0] |= 24;
	else if (arg <= 0xffff)
		n = 2, b[0] |= 25;
	else if (arg <= 0xffffffff)
		n = 4, b[0] |= 26;
	else
		n = 8, b[0] |= 27;
	for (i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
	strbuf_add(sb, b, 1 + n);
}

static void cb_text(struct strbuf *sb, const char *s)
{
	cb_head(sb, 3, strlen(s));
	strbuf_addstr(sb, s);
}

static void cb_bstr(struct strbuf *sb, const void *p, size_t n)
{
	cb_head(sb, 2, n);
	strbuf_add(sb, p, n);
}

/* serde_cbor's Vec<u8>: an array of unsigned integers. */
static void cb_u8_array(struct strbuf *sb, const uint8_t *p, size_t n)
{
	size_t i;

	cb_head(sb, 4, n);
	for (i = 0; i < n; i++)
		cb_head(sb, 0, p[i]);
}

void sign_encode_pcr_info(struct strbuf *sb, uint32_t index,
			  const uint8_t *value, size_t len)
{
	cb_head(sb, 5, 2);
	cb_text(sb, "register_index");
	cb_head(sb, 0, index);
	cb_text(sb, "register_value");
	cb_u8_array(sb, value, len);
}

void sign_encode_sig_structure(struct strbuf *sb, const uint8_t *prot,
			       size_t prot_len, const uint8_t *payload,
			       size_t payload_len)
{
	cb_head(sb, 4, 4);
	cb_text(sb, "Signature1");
	cb_bstr(sb, prot, prot_len);
	cb_bstr(sb, "", 0); /* external_aad */
	cb_bstr(sb, payload, payload_len);
}

void sign_encode_section(struct strbuf *sb, const uint8_t *pem,
			 size_t pem_len, const uint8_t *cose, size_t cose_len)
{
	cb_head(sb, 4, 1);
	cb_head(sb, 5, 2);
	cb_text(sb, "signing_certificate");
	cb_u8_array(sb, pem, pem_len);
	cb_text(sb, "signature");
	cb_u8_array(sb, cose, cose_len);
}

/* The protected header {1: alg}, not yet wrapped in a bstr. */
static void encode_protected(struct strbuf *sb, int alg)
{
	cb_head(sb, 5, 1);
	cb_head(sb, 0, 1);
	if (alg < 0)
		cb_head(sb, 1, (uint64_t)(-1 - (int64_t)alg));
	else
		cb_head(sb, 0, (uint64_t)alg);
}

/* ---- ECDSA ---- */

/* Sign tbs; rs gets r || s, each left-padded to the curve size. */
static int ecdsa_sign(const struct ek_signer *s, const uint8_t *tbs,
		      size_t tbs_len, uint8_t *rs, struct ek_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[256];
	const unsigned char *p = der;
	size_t der_len = sizeof(der), c = s->alg->coord;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *sv;
	int ok;

	ok = ctx &&
	     EVP_DigestSignInit(ctx, NULL, s->alg->md(), NULL, s->key) == 1 &&
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
static int ecdsa_verify(EVP_PKEY *pub, const struct sign_alg *alg,
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

/* ---- building a section ---- */

/* COSE_Sign1 (untagged, as the official signer writes it) over
 * PcrInfo{0, pcr0}. */
static int build_cose(const struct ek_signer *s,
		      const uint8_t pcr0[SIGN_PCR_LEN], struct strbuf *cose,
		      struct ek_error *err)
{
	struct strbuf payload, prot, tbs;
	uint8_t rs[SIGN_RS_MAX];
	int rc = 0;

	strbuf_init(&payload);
	strbuf_init(&prot);
	strbuf_init(&tbs);
	sign_encode_pcr_info(&payload, 0, pcr0, SIGN_PCR_LEN);
	encode_protected(&prot, s->alg->cose_alg);
	sign_encode_sig_structure(&tbs, (uint8_t *)prot.buf, prot.len,
				  (uint8_t *)payload.buf, payload.len);
	if (!strbuf_ok(&tbs) || !strbuf_ok(&prot) || !strbuf_ok(&payload))
		rc = ek_fail(err, EK_ENOMEM, "out of memory");
	if (!rc)
		rc = ecdsa_sign(s, (uint8_t *)tbs.buf, tbs.len, rs, err);
	if (!rc) {
		cb_head(cose, 4, 4);
		cb_bstr(cose, prot.buf, prot.len);
		cb_head(cose, 5, 0); /* unprotected: {} */
		cb_bstr(cose, payload.buf, payload.len);
		cb_bstr(cose, rs, 2 * s->alg->coord);
	}
	strbuf_release(&payload);
	strbuf_release(&prot);
	strbuf_release(&tbs);
	return rc;
}

int signer_make_section(const struct ek_signer *s,
			const uint8_t pcr0[SIGN_PCR_LEN], uint8_t **sec_ret,
			size_t *sec_len_ret, struct ek_error *err)
{
	struct strbuf cose, sec;
	int rc;

	strbuf_init(&cose);
	strbuf_init(&sec);
	rc = build_cose(s, pcr0, &cose, err);
	if (!rc)
		sign_encode_section(&sec, s->pem, s->pem_len,
				    (uint8_t *)cose.buf, cose.len);
	if (!rc && (!strbuf_ok(&cose) || !strbuf_ok(&sec)))
		rc = ek_fail(err, EK_ENOMEM, "out of memory");
	if (!rc && sec.len > SIGN_SECTION_MAX)
		rc = ek_fail(err, EK_ELIMIT,
			     "the signature section would be %zu bytes, more "
			     "than the %d the format allows (certificate too "
			     "large)",
			     sec.len, SIGN_SECTION_MAX);
	if (!rc) {
		*sec_ret = (uint8_t *)strbuf_detach(&sec, sec_len_ret);
		if (!*sec_ret)
			rc = ek_fail(err, EK_ENOMEM, "out of memory");
	}
	strbuf_release(&cose);
	strbuf_release(&sec);
	return rc;
}

/* ---- strict CBOR reading ---- */

struct cbor_rd {
	const uint8_t *p;
	size_t len, pos;
};

/* One head: definite length, shortest form only (see the top comment). */
static bool rd_head(struct cbor_rd *r, unsigned *major, uint64_t *arg)
{
	unsigned ai;
	size_t n, i;
	uint64_t v = 0;

	if (r->pos >= r->len)
		return false;
	*major = r->p[r->pos] >> 5;
	ai = r->p[r->pos++] & 31;
	if (ai < 24) {
		*arg = ai;
		return true;
	}
	if (ai > 27) /* reserved, or an indefinite length */
		return false;
	n = (size_t)1 << (ai - 24); /* 1, 2, 4 or 8 bytes follow */
	if (r->len - r->pos < n)
		return false;
	for (i = 0; i < n; i++)
		v = v << 8 | r->p[r->pos++];
	if (v < (n == 1 ? 24 : (uint64_t)1 << (4 * n)))
		return false; /* would fit in a shorter head */
	*arg = v;
	return true;
}

static bool rd_expect(struct cbor_rd *r, unsigned major, uint64_t *arg)
{
	unsigned m;

	return rd_head(r, &m, arg) && m == major;
}

static bool rd_text_is(struct cbor_rd *r, const char *want)
{
	size_t wl = strlen(want);
	uint64_t n;

	if (!rd_expect(r, 3, &n) || n != wl || r->len - r->pos < wl ||
	    memcmp(r->p + r->pos, want, wl) != 0)
		return false;
	r->pos += wl;
	return true;
}

static bool rd_bstr(struct cbor_rd *r, const uint8_t **p, size_t *len)
{
	uint64_t n;

	if (!rd_expect(r, 2, &n) || n > r->len - r->pos)
		return false;
	*p = r->p + r->pos;
	*len = (size_t)n;
	r->pos += (size_t)n;
	return true;
}

/* A Vec<u8> (array of uints <= 255). With out NULL only the shape is
 * checked; else *out gets a malloc'd copy, NUL-terminated. */
static int rd_u8_array(struct cbor_rd *r, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	uint64_t n, v;
	size_t i;

	if (!rd_expect(r, 4, &n) || n > r->len - r->pos)
		return EK_EFORMAT; /* each item takes at least one byte */
	if (out && !(buf = malloc((size_t)n + 1)))
		return EK_ENOMEM;
	for (i = 0; i < n; i++) {
		if (!rd_expect(r, 0, &v) || v > 255) {
			free(buf);
			return EK_EFORMAT;
		}
		if (buf)
			buf[i] = (uint8_t)v;
	}
	if (buf) {
		buf[n] = 0;
		*out = buf;
		*out_len = (size_t)n;
	}
	return 0;
}

/* ---- reading a section ---- */

struct raw_sig {
	uint8_t *pem, *cose;
	size_t pem_len, cose_len;
};

/* One PcrSignature map; out NULL: check the shape only. */
static int rd_pcr_signature(struct cbor_rd *r, struct raw_sig *out)
{
	uint64_t n;
	int rc;

	if (!rd_expect(r, 5, &n) || n != 2 ||
	    !rd_text_is(r, "signing_certificate"))
		return EK_EFORMAT;
	rc = rd_u8_array(r, out ? &out->pem : NULL,
			 out ? &out->pem_len : NULL);
	if (rc)
		return rc;
	if (!rd_text_is(r, "signature"))
		return EK_EFORMAT;
	return rd_u8_array(r, out ? &out->cose : NULL,
			   out ? &out->cose_len : NULL);
}

static int rd_section(const uint8_t *sec, size_t len, struct raw_sig *out,
		      struct ek_error *err)
{
	struct cbor_rd r = { sec, len, 0 };
	uint64_t n, i;
	int rc = EK_EFORMAT;

	if (rd_expect(&r, 4, &n) && n > 0)
		rc = rd_pcr_signature(&r, out);
	for (i = 1; !rc && i < n; i++)
		rc = rd_pcr_signature(&r, NULL);
	if (rc == EK_ENOMEM)
		return ek_fail(err, rc, "out of memory");
	if (rc)
		return ek_fail(err, rc,
			       "signature section: not a CBOR array of "
			       "{signing_certificate, signature} (byte %zu)",
			       r.pos);
	if (r.pos != len)
		return ek_fail(err, EK_EFORMAT,
			       "signature section: %zu bytes after the CBOR value",
			       len - r.pos);
	return 0;
}

struct cose {
	const uint8_t *prot, *payload, *sig;
	size_t prot_len, payload_len, sig_len;
	int64_t alg;
};

/* The protected header: exactly {1: alg}. */
static bool rd_protected_alg(const uint8_t *p, size_t len, int64_t *alg)
{
	struct cbor_rd r = { p, len, 0 };
	uint64_t n, v;
	unsigned m;

	if (!rd_expect(&r, 5, &n) || n != 1 || !rd_expect(&r, 0, &v) ||
	    v != 1 || !rd_head(&r, &m, &v) || v > INT64_MAX)
		return false;
	if (m == 0)
		*alg = (int64_t)v;
	else if (m == 1)
		*alg = -1 - (int64_t)v;
	else
		return false;
	return r.pos == len;
}

/* COSE_Sign1, tagged (18) or untagged; unprotected header empty. */
static bool rd_cose(const uint8_t *p, size_t len, struct cose *c)
{
	struct cbor_rd r = { p, len, 0 };
	uint64_t n;

	if (len > 0 && p[0] == 0xd2) /* tag 18 */
		r.pos = 1;
	if (!rd_expect(&r, 4, &n) || n != 4 ||
	    !rd_bstr(&r, &c->prot, &c->prot_len) || !rd_expect(&r, 5, &n) ||
	    n != 0 || !rd_bstr(&r, &c->payload, &c->payload_len) ||
	    !rd_bstr(&r, &c->sig, &c->sig_len))
		return false;
	return r.pos == len && rd_protected_alg(c->prot, c->prot_len, &c->alg);
}

/* PcrInfo { register_index: u32 (an i32 in Rust), register_value }. */
static bool rd_pcr_info(const uint8_t *p, size_t len, struct sig_info *info)
{
	struct cbor_rd r = { p, len, 0 };
	uint64_t n, idx, v;
	size_t i;

	if (!rd_expect(&r, 5, &n) || n != 2 ||
	    !rd_text_is(&r, "register_index") || !rd_expect(&r, 0, &idx) ||
	    idx > INT32_MAX || !rd_text_is(&r, "register_value") ||
	    !rd_expect(&r, 4, &n) || n > sizeof(info->register_value))
		return false;
	for (i = 0; i < n; i++) {
		if (!rd_expect(&r, 0, &v) || v > 255)
			return false;
		info->register_value[i] = (uint8_t)v;
	}
	if (r.pos != len)
		return false;
	info->register_index = (uint32_t)idx;
	info->register_value_len = (size_t)n;
	return true;
}

/* Decode the COSE object, its payload, and verify it with the cert key. */
static int check_cose(const struct raw_sig *raw, X509 *cert,
		      struct sig_info *info, struct ek_error *err)
{
	const struct sign_alg *alg;
	struct strbuf tbs;
	struct cose c;
	int rc;

	if (!rd_cose(raw->cose, raw->cose_len, &c))
		return ek_fail(err, EK_EFORMAT,
			       "signature section: the signature is not a "
			       "COSE_Sign1 object with protected header {1: alg}");
	info->payload_ok = rd_pcr_info(c.payload, c.payload_len, info);
	if (!info->payload_ok) {
		info->register_index = 0;
		info->register_value_len = 0;
		memset(info->register_value, 0, sizeof(info->register_value));
	}
	alg = alg_for_pkey(X509_get0_pubkey(cert));
	ERR_clear_error();
	if (!alg || alg->cose_alg != c.alg)
		return 0; /* cose_valid stays false */
	strbuf_init(&tbs);
	sign_encode_sig_structure(&tbs, c.prot, c.prot_len, c.payload,
				  c.payload_len);
	rc = strbuf_ok(&tbs) ? ecdsa_verify(X509_get0_pubkey(cert), alg,
					    (uint8_t *)tbs.buf, tbs.len,
					    c.sig, c.sig_len)
			     : EK_ENOMEM;
	strbuf_release(&tbs);
	if (rc < 0)
		return ek_fail(err, rc, "out of memory");
	info->cose_valid = rc == 1;
	return 0;
}

/* ---- describe's "SigningCertificate" (nitro-cli get_certificate_info) ---- */

static int push_str(struct json_value *obj, const char *key, const char *s,
		    size_t len)
{
	struct json_value *v = json_new_stringn(s, len);

	if (!v)
		return EK_ENOMEM;
	return json_object_push(obj, key, v);
}

/* OBJ_obj2txt with names allowed: the long name, else the short name,
 * else the dotted OID (rust-openssl's Display for Asn1Object). */
static char *obj_text(const ASN1_OBJECT *obj)
{
	int n = OBJ_obj2txt(NULL, 0, obj, 0);
	char *s;

	if (n < 0)
		n = 0;
	s = malloc((size_t)n + 1);
	if (s && OBJ_obj2txt(s, n + 1, obj, 0) < 0)
		s[0] = '\0';
	return s;
}

/* nitro-cli prints each issuer value as format!("{:?}", value) with every
 * '"' then removed: Rust's escape_debug for str. ASCII is handled exactly;
 * of the non-ASCII code points only the C1 controls and U+00AD are
 * escaped here (Rust's full printable / grapheme-extend tables are not
 * reproduced, so exotic characters may print differently). */
static void rust_debug_unquoted(struct strbuf *sb, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t')
			strbuf_addstr(sb, "\\t");
		else if (c == '\r')
			strbuf_addstr(sb, "\\r");
		else if (c == '\n')
			strbuf_addstr(sb, "\\n");
		else if (c == '\\')
			strbuf_addstr(sb, "\\\\");
		else if (c == '"')
			strbuf_addch(sb, '\\'); /* \" with the quote removed */
		else if (c < 0x20 || c == 0x7f)
			strbuf_addf(sb, "\\u{%x}", c);
		else if (c == 0xc2 && i + 1 < len &&
			 (((unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) ||
			  (unsigned char)s[i + 1] == 0xad))
			strbuf_addf(sb, "\\u{%x}", (unsigned char)s[++i]);
		else
			strbuf_addch(sb, (char)c);
	}
}

/* rust-openssl's as_utf8 reads the UTF-8 copy as a C string (up to the
 * first NUL); a string OpenSSL cannot convert prints as "error". */
static char *rdn_value(const X509_NAME_ENTRY *e)
{
	unsigned char *u = NULL;
	int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
	struct strbuf sb;
	size_t len;

	strbuf_init(&sb);
	if (n < 0) {
		ERR_clear_error();
		strbuf_addstr(&sb, "error");
	} else {
		len = strnlen((char *)u, (size_t)n);
		if (text_utf8_valid((const char *)u, len))
			rust_debug_unquoted(&sb, (char *)u, len);
		else
			strbuf_addstr(&sb, "error");
	}
	OPENSSL_free(u);
	if (!strbuf_ok(&sb)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

struct rdn {
	char *key, *val;
	size_t idx;
};

static int rdn_cmp(const void *a, const void *b)
{
	const struct rdn *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The issuer as a BTreeMap<String, String>: sorted by key bytes, a
 * repeated attribute keeps its last value. */
static int push_issuer(struct json_value *obj, X509 *cert)
{
	const X509_NAME *name = X509_get_issuer_name(cert);
	int n = X509_NAME_entry_count(name);
	size_t i, cnt = n > 0 ? (size_t)n : 0;
	struct rdn *v = calloc(cnt + 1, sizeof(*v));
	struct json_value *map = json_new_object();
	int rc = v && map ? 0 : EK_ENOMEM;

	for (i = 0; !rc && i < cnt; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, (int)i);

		v[i].idx = i;
		v[i].key = obj_text(X509_NAME_ENTRY_get_object(e));
		v[i].val = rdn_value(e);
		if (!v[i].key || !v[i].val)
			rc = EK_ENOMEM;
	}
	if (!rc)
		qsort(v, cnt, sizeof(*v), rdn_cmp);
	for (i = 0; !rc && i < cnt; i++)
		if (i + 1 == cnt || strcmp(v[i].key, v[i + 1].key) != 0)
			rc = push_str(map, v[i].key, v[i].val, strlen(v[i].val));
	for (i = 0; v && i < cnt; i++) {
		free(v[i].key);
		free(v[i].val);
	}
	free(v);
	if (rc) {
		json_free(map);
		return rc;
	}
	return json_object_push(obj, "IssuerName", map);
}

static int push_time(struct json_value *obj, const char *key,
		     const ASN1_TIME *t)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc = EK_ENOMEM;

	if (!bio)
		return rc;
	if (ASN1_TIME_print(bio, t) != 1) {
		rc = EK_EFORMAT;
	} else {
		n = BIO_get_mem_data(bio, &p);
		rc = n >= 0 ? push_str(obj, key, p, (size_t)n) : EK_EFORMAT;
	}
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* The signature algorithm's name, e.g. "ecdsa-with-SHA384". */
static int push_algorithm(struct json_value *obj, X509 *cert)
{
	const X509_ALGOR *alg;
	const ASN1_OBJECT *oid;
	char *s;
	int rc;

	X509_get0_signature(NULL, &alg, cert);
	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	s = obj_text(oid);
	if (!s)
		return EK_ENOMEM;
	rc = push_str(obj, "Algorithm", s, strlen(s));
	free(s);
	return rc;
}

/* The certificate's signature bytes as "AB:CD:...". */
static int push_signature(struct json_value *obj, X509 *cert)
{
	const ASN1_BIT_STRING *sig;
	const unsigned char *d;
	struct strbuf sb;
	int i, n, rc;

	X509_get0_signature(&sig, NULL, cert);
	d = ASN1_STRING_get0_data(sig);
	n = ASN1_STRING_length(sig);
	strbuf_init(&sb);
	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%02X", i ? ":" : "", d[i]);
	rc = strbuf_ok(&sb) ? push_str(obj, "Signature", sb.buf, sb.len)
			    : EK_ENOMEM;
	strbuf_release(&sb);
	return rc;
}

static int cert_json(X509 *cert, struct json_value **ret,
		     struct ek_error *err)
{
	struct json_value *obj = json_new_object();
	int rc = obj ? 0 : EK_ENOMEM;

	if (!rc)
		rc = push_issuer(obj, cert);
	if (!rc)
		rc = push_algorithm(obj, cert);
	if (!rc)
		rc = push_time(obj, "NotBefore", X509_get0_notBefore(cert));
	if (!rc)
		rc = push_time(obj, "NotAfter", X509_get0_notAfter(cert));
	if (!rc)
		rc = push_signature(obj, cert);
	if (rc) {
		json_free(obj);
		if (rc == EK_ENOMEM)
			return ek_fail(err, rc, "out of memory");
		return ek_fail(err, rc, "signature section: the certificate's "
					"validity dates cannot be printed");
	}
	*ret = obj;
	return 0;
}

/* ---- the public reader ---- */

/* Parse the embedded PEM; fills cert_pem (taken from raw), pcr8 and
 * cert_json. */
static int parse_cert(struct raw_sig *raw, struct sig_info *info,
		      X509 **cert, struct ek_error *err)
{
	if (memchr(raw->pem, 0, raw->pem_len))
		return ek_fail(err, EK_EFORMAT,
			       "signature section: the certificate contains a "
			       "NUL byte");
	*cert = cert_from_pem(raw->pem, raw->pem_len);
	if (!*cert)
		return ek_fail_ssl(err, EK_EFORMAT,
				   "signature section: the certificate is not a "
				   "PEM X.509 certificate");
	if (cert_pcr8(*cert, info->pcr8) < 0)
		return ek_fail_ssl(err, EK_EFORMAT,
				   "signature section: the certificate cannot "
				   "be encoded as DER");
	info->cert_pem = (char *)raw->pem;
	info->cert_pem_len = raw->pem_len;
	raw->pem = NULL;
	return cert_json(*cert, &info->cert_json, err);
}

int sign_parse_section(const uint8_t *sec, size_t len, struct sig_info *ret,
		       struct ek_error *err)
{
	struct raw_sig raw = { 0 };
	X509 *cert = NULL;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (len > SIGN_SECTION_MAX)
		return ek_fail(err, EK_EFORMAT,
			       "signature section: %zu bytes, more than the %d "
			       "the format allows",
			       len, SIGN_SECTION_MAX);
	rc = rd_section(sec, len, &raw, err);
	if (!rc)
		rc = parse_cert(&raw, ret, &cert, err);
	if (!rc)
		rc = check_cose(&raw, cert, ret, err);
	X509_free(cert);
	free(raw.pem);
	free(raw.cose);
	if (rc)
		sig_info_release(ret);
	return rc;
}

void sig_info_release(struct sig_info *info)
{
	if (!info)
		return;
	json_free(info->cert_json);
	free(info->cert_pem);
	memset(info, 0, sizeof(*info));
}

/* Only a payload whose signature verified counts: a caller that forgets
 * to look at cose_valid still cannot be fooled by an unsigned payload. */
bool sig_info_matches_pcr0(const struct sig_info *info,
			   const uint8_t pcr0[SIGN_PCR_LEN])
{
	return info->cose_valid && info->payload_ok &&
	       info->register_index == 0 &&
	       info->register_value_len == SIGN_PCR_LEN &&
	       memcmp(info->register_value, pcr0, SIGN_PCR_LEN) == 0;
}

static int der_of(X509 *cert, unsigned char **der)
{
	*der = NULL;
	return i2d_X509(cert, der);
}

int sign_cert_file_matches(const char *cert_path, const struct sig_info *info,
			   bool *match_ret, struct ek_error *err)
{
	unsigned char *a = NULL, *b = NULL;
	X509 *file_cert, *embedded;
	int na, nb, rc;

	*match_ret = false;
	if (!info->cert_pem)
		return ek_fail(err, EK_EINVAL, "no embedded certificate");
	rc = read_cert_file(cert_path, &file_cert, NULL, NULL, err);
	if (rc < 0)
		return rc;
	embedded = cert_from_pem((const uint8_t *)info->cert_pem,
				 info->cert_pem_len);
	na = der_of(file_cert, &a);
	nb = embedded ? der_of(embedded, &b) : -1;
	if (na <= 0 || nb <= 0)
		rc = ek_fail_ssl(err, EK_ECRYPTO,
				 "certificate '%s': cannot compare it with the "
				 "embedded one",
				 cert_path);
	else
		*match_ret = na == nb && memcmp(a, b, (size_t)na) == 0;
	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_free(file_cert);
	X509_free(embedded);
	return rc;
}
