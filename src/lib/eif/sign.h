/* sign.h: the EIF signature section (type 4): certificates, PCR8, COSE
 * Sign1 with ES256/ES384/ES512, and the serde_cbor byte layout.
 *
 * EIF-FORMAT.md section 9 is the specification; 7.2 gives PCR8.
 * section = CBOR [ { "signing_certificate": [PEM bytes as uints],
 *                    "signature": [COSE_Sign1 bytes as uints] } ]
 * COSE payload = CBOR { "register_index": 0, "register_value": [48 uints] } */
#ifndef EIFKIT_LIB_SIGN_H
#define EIFKIT_LIB_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/json.h"

#define SIGN_SECTION_MAX 32768 /* EIF-FORMAT.md 3.1, SIGNATURE_MAX_SIZE */
#define SIGN_PCR_LEN 48        /* SHA-384 */

struct ek_signer; /* a certificate plus the private key that matches it */

/* Load a PEM certificate and a PEM private key (PKCS#8 or traditional
 * EC). Refuses: unreadable files (message names the file), a key that is
 * not EC on P-256, P-384 or P-521, a key whose public half is not the
 * certificate's public key. *ret is freed with signer_free. */
int signer_load(const char *cert_path, const char *key_path,
		struct ek_signer **ret, struct ek_error *err);
void signer_free(struct ek_signer *s); /* NULL is fine */

/* PCR8 of the signer's certificate: SHA384(0^48 || SHA384(DER)). */
void signer_pcr8(const struct ek_signer *s, uint8_t pcr8[SIGN_PCR_LEN]);

/* Build the whole signature section for PCR0 (a fresh ECDSA signature,
 * randomised). *sec_ret is malloc'd, caller frees. */
int signer_make_section(const struct ek_signer *s,
			const uint8_t pcr0[SIGN_PCR_LEN], uint8_t **sec_ret,
			size_t *sec_len_ret, struct ek_error *err);

/* PCR8 of a PEM certificate file (nitro-cli pcr --signing-certificate). */
int sign_cert_file_pcr8(const char *cert_path, uint8_t pcr8[SIGN_PCR_LEN],
			struct ek_error *err);

/* What a signature section says, for describe and verify. */
struct sig_info {
	uint8_t pcr8[SIGN_PCR_LEN];  /* of the embedded certificate */
	bool cose_valid;             /* COSE signature verifies with the cert key
	                                and the protected alg matches its curve */
	bool payload_ok;             /* payload decodes as PcrInfo */
	uint32_t register_index;     /* from the payload */
	uint8_t register_value[64];  /* from the payload */
	size_t register_value_len;
	struct json_value *cert_json; /* describe's "SigningCertificate"
	                                 object, keys in nitro-cli's order:
	                                 IssuerName (sorted map of OpenSSL long
	                                 names), Algorithm, NotBefore, NotAfter,
	                                 Signature (uppercase hex, ':'-joined) */
	char *cert_pem;              /* the embedded PEM, NUL-terminated */
	size_t cert_pem_len;
};

/* Parse a signature section read from a (hostile) EIF. EK_EFORMAT if the
 * bytes are not the layout above (wrong CBOR shape, entries that are not
 * uint8, not PEM, ...). A COSE signature that does not verify is not an
 * error: it is reported as cose_valid = false. Free with sig_info_release. */
int sign_parse_section(const uint8_t *sec, size_t len, struct sig_info *ret,
		       struct ek_error *err);
void sig_info_release(struct sig_info *info);

/* True if info's payload is PcrInfo{0, pcr0}. */
bool sig_info_matches_pcr0(const struct sig_info *info,
			   const uint8_t pcr0[SIGN_PCR_LEN]);

/* Does this PEM certificate file hold the same certificate (same DER) as
 * the one embedded? Used by verify --signing-certificate. */
int sign_cert_file_matches(const char *cert_path, const struct sig_info *info,
			   bool *match_ret, struct ek_error *err);

/* The section's CBOR, in serde_cbor's layout (EIF-FORMAT.md 9.2), for
 * the signer and for the tests that check it against the official
 * vectors: PcrInfo {register_index, register_value}, and the section
 * [{signing_certificate, signature}] around a PEM and a COSE_Sign1. */
struct strbuf;
void sign_encode_pcr_info(struct strbuf *sb, uint32_t index,
			  const uint8_t *value, size_t len);
void sign_encode_section(struct strbuf *sb, const uint8_t *pem,
			 size_t pem_len, const uint8_t *cose, size_t cose_len);

#endif
