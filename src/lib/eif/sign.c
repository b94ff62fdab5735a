/* sign.c: the EIF signature section (EIF-FORMAT.md section 9, PCR8 in 7.2).
 *
 * The CBOR (base/cbor), COSE_Sign1 (eif/cose) and describe's certificate
 * object (eif/cert_info) live beside it; this file keeps the signer, the
 * section's layout, PCR8 and the public reader.
 *
 * Writing: the CBOR is a tiny fixed layout, so it is written byte by
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
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/cbor.h"
#include "base/io.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "eif/cert_info.h"
#include "eif/cose.h"
#include "eif/sign.h"

#define SIGN_KEY_FILE_MAX 65536

struct ek_signer {
	X509 *cert;
	EVP_PKEY *key;
	const struct cose_alg *alg;
	uint8_t *pem; /* the certificate file as read */
	size_t pem_len;
	uint8_t pcr8[SIGN_PCR_LEN];
};

/* ---- small OpenSSL helpers ---- */

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
	s->alg = cose_alg_for_pkey(s->key);
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

void sign_encode_pcr_info(struct strbuf *sb, uint32_t index,
			  const uint8_t *value, size_t len)
{
	cbor_put_head(sb, 5, 2);
	cbor_put_text(sb, "register_index");
	cbor_put_head(sb, 0, index);
	cbor_put_text(sb, "register_value");
	cbor_put_u8_array(sb, value, len);
}

void sign_encode_section(struct strbuf *sb, const uint8_t *pem,
			 size_t pem_len, const uint8_t *cose, size_t cose_len)
{
	cbor_put_head(sb, 4, 1);
	cbor_put_head(sb, 5, 2);
	cbor_put_text(sb, "signing_certificate");
	cbor_put_u8_array(sb, pem, pem_len);
	cbor_put_text(sb, "signature");
	cbor_put_u8_array(sb, cose, cose_len);
}

/* COSE_Sign1 (untagged, as the official signer writes it) over
 * PcrInfo{0, pcr0}. */
static int build_cose(const struct ek_signer *s,
		      const uint8_t pcr0[SIGN_PCR_LEN], struct strbuf *cose,
		      struct ek_error *err)
{
	struct strbuf payload;
	int rc;

	strbuf_init(&payload);
	sign_encode_pcr_info(&payload, 0, pcr0, SIGN_PCR_LEN);
	if (!strbuf_ok(&payload))
		rc = ek_fail(err, EK_ENOMEM, "out of memory");
	else
		rc = cose_sign1_build(s->key, s->alg, (uint8_t *)payload.buf,
				      payload.len, cose, err);
	strbuf_release(&payload);
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

	if (!cbor_rd_expect(r, 5, &n) || n != 2 ||
	    !cbor_rd_text_is(r, "signing_certificate"))
		return EK_EFORMAT;
	rc = cbor_rd_u8_array(r, out ? &out->pem : NULL,
			 out ? &out->pem_len : NULL);
	if (rc)
		return rc;
	if (!cbor_rd_text_is(r, "signature"))
		return EK_EFORMAT;
	return cbor_rd_u8_array(r, out ? &out->cose : NULL,
			   out ? &out->cose_len : NULL);
}

static int rd_section(const uint8_t *sec, size_t len, struct raw_sig *out,
		      struct ek_error *err)
{
	struct cbor_rd r = { sec, len, 0 };
	uint64_t n, i;
	int rc = EK_EFORMAT;

	if (cbor_rd_expect(&r, 4, &n) && n > 0)
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

/* PcrInfo { register_index: u32 (an i32 in Rust), register_value }. */
static bool rd_pcr_info(const uint8_t *p, size_t len, struct sig_info *info)
{
	struct cbor_rd r = { p, len, 0 };
	uint64_t n, idx, v;
	size_t i;

	if (!cbor_rd_expect(&r, 5, &n) || n != 2 ||
	    !cbor_rd_text_is(&r, "register_index") || !cbor_rd_expect(&r, 0, &idx) ||
	    idx > INT32_MAX || !cbor_rd_text_is(&r, "register_value") ||
	    !cbor_rd_expect(&r, 4, &n) || n > sizeof(info->register_value))
		return false;
	for (i = 0; i < n; i++) {
		if (!cbor_rd_expect(&r, 0, &v) || v > 255)
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
	struct cose_sign1 c;
	int rc;

	if (!cose_sign1_read_strict(raw->cose, raw->cose_len, &c))
		return ek_fail(err, EK_EFORMAT,
			       "signature section: the signature is not a "
			       "COSE_Sign1 object with protected header {1: alg}");
	info->payload_ok = rd_pcr_info(c.payload, c.payload_len, info);
	if (!info->payload_ok) {
		info->register_index = 0;
		info->register_value_len = 0;
		memset(info->register_value, 0, sizeof(info->register_value));
	}
	rc = cose_sign1_verify(&c, X509_get0_pubkey(cert));
	if (rc < 0)
		return ek_fail(err, rc, "out of memory");
	info->cose_valid = rc == 1; /* a wrong alg or signature: false */
	return 0;
}

/* ---- the public reader ---- */

/* Parse the embedded PEM; fills cert_pem (taken from raw), pcr8 and
 * cert_json. */
static int parse_cert(struct raw_sig *raw, struct sig_info *info,
		      X509 **cert, struct ek_error *err)
{
	int rc;

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
	rc = cert_info_json(*cert, &info->cert_json);
	if (rc == EK_ENOMEM)
		return ek_fail(err, rc, "out of memory");
	if (rc)
		return ek_fail(err, rc, "signature section: the certificate's "
					"validity dates cannot be printed");
	return 0;
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
