/* test_sign_external.c: signer_load_external, the digest callback a token
 * or a KMS signs through. What the callback returns is checked with the
 * certificate: DER and raw r || s are both taken, anything that does not
 * verify is refused. Keys are the fixtures of test_sign.c (p256, p384,
 * p521, other-p256). Run from the repository root. */
#include "base/internal.h"

#include <stdio.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/strbuf.h"
#include "eif/cose.h"
#include "eif/sign.h"
#include "unit.h"

#define DATA "tests/unit/data/sign/"

enum mode { M_DER, M_RAW, M_EMPTY, M_ZERO, M_TRAIL, M_FAIL, M_LONG };

struct fake {
	EVP_PKEY *key;
	enum mode mode;
	size_t coord;                 /* of the key's curve */
	uint8_t digest[64];           /* the last digest given */
	size_t digest_len;
	int released;
};

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return k;
}

static int fake_sign(void *ctx, const uint8_t *digest, size_t dlen,
		     uint8_t *sig, size_t sig_max, size_t *sig_len,
		     struct ek_error *err)
{
	struct fake *f = ctx;
	EVP_PKEY_CTX *pc;
	uint8_t der[256];
	size_t der_len = sizeof(der);
	const unsigned char *p = der;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;

	memcpy(f->digest, digest, dlen < 64 ? dlen : 64);
	f->digest_len = dlen;
	switch (f->mode) {
	case M_FAIL:
		return ek_fail(err, EK_EIO, "the fake token is unplugged");
	case M_EMPTY:
		*sig_len = 0;
		return 0;
	case M_ZERO:
		*sig_len = 2 * f->coord;
		memset(sig, 0, *sig_len);
		return 0;
	case M_LONG:
		*sig_len = sig_max + 1;
		return 0;
	default:
		break;
	}
	pc = EVP_PKEY_CTX_new(f->key, NULL);
	if (!pc || EVP_PKEY_sign_init(pc) != 1 ||
	    EVP_PKEY_sign(pc, der, &der_len, digest, dlen) != 1) {
		EVP_PKEY_CTX_free(pc);
		return ek_fail(err, EK_ECRYPTO, "test signing failed");
	}
	EVP_PKEY_CTX_free(pc);
	if (f->mode == M_RAW) {
		es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, (int)f->coord);
		BN_bn2binpad(s, sig + f->coord, (int)f->coord);
		ECDSA_SIG_free(es);
		*sig_len = 2 * f->coord;
		return 0;
	}
	if (f->mode == M_TRAIL)
		der[der_len++] = 0;
	memcpy(sig, der, der_len);
	*sig_len = der_len;
	return 0;
}

static void fake_release(void *ctx)
{
	((struct fake *)ctx)->released++;
}

/* Sign PCR0 = 0x11.. with cert and a fake holding key_path in mode; the
 * return code, err and (on success) a checked section. */
static int run_fake(const char *cert, const char *key_path, size_t coord,
		    enum mode mode, struct fake *f, struct ek_error *err)
{
	struct ek_signer *s = NULL;
	struct sig_info info;
	uint8_t pcr0[48], pcr8[48], *sec = NULL;
	size_t len = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	memset(pcr0, 0x11, sizeof(pcr0));
	f->key = load_key(key_path);
	f->mode = mode;
	f->coord = coord;
	CHECK(f->key);
	rc = signer_load_external(cert, fake_sign, fake_release, f, "fake",
				  &s, err);
	CHECK(rc == 0 && s);
	if (rc)
		goto out;
	rc = signer_make_section(s, pcr0, &sec, &len, err);
	CHECK(!rc == !!sec);
	if (!rc) {
		CHECK(sign_parse_section(sec, len, &info, err) == 0);
		CHECK(info.cose_valid && sig_info_matches_pcr0(&info, pcr0));
		CHECK(sign_cert_file_pcr8(cert, pcr8, err) == 0);
		CHECK(memcmp(info.pcr8, pcr8, 48) == 0);
		sig_info_release(&info);
	}
	free(sec);
	signer_free(s);
	CHECK(f->released == 1);
out:
	EVP_PKEY_free(f->key);
	CHECK(ERR_peek_error() == 0);
	return rc;
}

/* The digest handed over is the curve's hash of the Sig_structure over
 * PcrInfo{0, pcr0} (the encoders are checked against EIF-FORMAT.md's
 * vectors in test_sign.c). */
static void check_digest(const struct fake *f, int alg, const EVP_MD *md)
{
	struct strbuf prot, payload, tbs;
	uint8_t pcr0[48], want[64];
	unsigned n = 0;

	memset(pcr0, 0x11, sizeof(pcr0));
	strbuf_init(&prot);
	strbuf_init(&payload);
	strbuf_init(&tbs);
	cose_encode_protected(&prot, alg);
	sign_encode_pcr_info(&payload, 0, pcr0, 48);
	cose_encode_sig_structure(&tbs, (uint8_t *)prot.buf, prot.len,
				  (uint8_t *)payload.buf, payload.len);
	CHECK(EVP_Digest(tbs.buf, tbs.len, want, &n, md, NULL) == 1);
	CHECK(f->digest_len == n && memcmp(f->digest, want, n) == 0);
	strbuf_release(&prot);
	strbuf_release(&payload);
	strbuf_release(&tbs);
}

TEST(der_and_raw_on_three_curves)
{
	static const struct {
		const char *dir;
		size_t coord;
		int alg;
		const EVP_MD *(*md)(void);
	} c[] = {
		{ "p256", 32, COSE_ALG_ES256, EVP_sha256 },
		{ "p384", 48, COSE_ALG_ES384, EVP_sha384 },
		{ "p521", 66, COSE_ALG_ES512, EVP_sha512 },
	};
	struct ek_error err = { 0 };
	struct fake f;
	char cert[128], key[128];

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		snprintf(cert, sizeof(cert), DATA "%s/cert.pem", c[i].dir);
		snprintf(key, sizeof(key), DATA "%s/key.pem", c[i].dir);
		CHECK(run_fake(cert, key, c[i].coord, M_DER, &f, &err) == 0);
		check_digest(&f, c[i].alg, c[i].md());
		CHECK(run_fake(cert, key, c[i].coord, M_RAW, &f, &err) == 0);
		check_digest(&f, c[i].alg, c[i].md());
	}
}

TEST(refusals)
{
	struct ek_error err = { 0 };
	struct fake f;
	const char *c256 = DATA "p256/cert.pem", *k256 = DATA "p256/key.pem";

	CHECK(run_fake(c256, k256, 32, M_EMPTY, &f, &err) == EK_ECRYPTO);
	CHECK_STR(err.msg, "fake returned no signature");
	CHECK(run_fake(c256, k256, 32, M_ZERO, &f, &err) == EK_ECRYPTO);
	CHECK(strstr(err.msg, "does not verify with the certificate's P-256"));
	CHECK(run_fake(c256, k256, 32, M_TRAIL, &f, &err) == EK_ECRYPTO);
	CHECK(strstr(err.msg, "not an ECDSA signature on P-256"));
	CHECK(run_fake(c256, k256, 32, M_LONG, &f, &err) == EK_ECRYPTO);
	CHECK(strstr(err.msg, "too long"));
	CHECK(run_fake(c256, k256, 32, M_FAIL, &f, &err) == EK_EIO);
	CHECK_STR(err.msg, "the fake token is unplugged");
	/* another key on the right curve, DER and raw */
	CHECK(run_fake(c256, DATA "other-p256/key.pem", 32, M_DER, &f, &err) ==
	      EK_ECRYPTO);
	CHECK(strstr(err.msg, "does not verify"));
	CHECK(run_fake(c256, DATA "other-p256/key.pem", 32, M_RAW, &f, &err) ==
	      EK_ECRYPTO);
	/* a P-384 key for a P-256 certificate: 96 raw bytes, or DER with
	 * numbers too wide for P-256 */
	CHECK(run_fake(c256, DATA "p384/key.pem", 48, M_RAW, &f, &err) ==
	      EK_ECRYPTO);
	CHECK(strstr(err.msg, "96 bytes that are not an ECDSA signature on "
			      "P-256"));
	/* a P-256 key for a P-384 certificate: DER parses, does not verify */
	CHECK(run_fake(DATA "p384/cert.pem", k256, 32, M_DER, &f, &err) ==
	      EK_ECRYPTO);
	CHECK(strstr(err.msg, "P-384"));
}

/* The callback's context is released when loading fails too. */
TEST(release_on_failed_load)
{
	struct ek_error err = { 0 };
	struct ek_signer *s = (struct ek_signer *)&err;
	struct fake f = { 0 };

	CHECK(signer_load_external(DATA "nope.pem", fake_sign, fake_release, &f,
				   "fake", &s, &err) < 0);
	CHECK(s == NULL && f.released == 1);
	CHECK(signer_load_external(DATA "rsa/cert.pem", fake_sign, fake_release,
				   &f, "fake", &s, &err) == EK_ECRYPTO);
	CHECK(s == NULL && f.released == 2 && strstr(err.msg, "not EC"));
}

int main(void)
{
	RUN(der_and_raw_on_three_curves);
	RUN(refusals);
	RUN(release_on_failed_load);
	return unit_done();
}
