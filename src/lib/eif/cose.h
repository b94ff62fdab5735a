/* cose.h: COSE_Sign1 (RFC 9052) with ECDSA on P-256, P-384 and P-521:
 * the signature of the EIF signature section (EIF-FORMAT.md 9) and of a
 * Nitro attestation document.
 *
 * COSE_Sign1 = [protected: bstr, unprotected: map, payload: bstr,
 *               signature: bstr (r || s, each of the curve's size)]
 * signed over the Sig_structure ["Signature1", protected, h'', payload]. */
#ifndef EIFKIT_LIB_COSE_H
#define EIFKIT_LIB_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/error.h"
#include "base/strbuf.h"

#define COSE_ALG_ES256 (-7)
#define COSE_ALG_ES384 (-35)
#define COSE_ALG_ES512 (-36)
#define COSE_RS_MAX (2 * 66) /* r || s on P-521 */

struct cose_alg {
	int nid;                /* the curve */
	int cose_alg;           /* COSE_ALG_* */
	const EVP_MD *(*md)(void);
	size_t coord;           /* bytes of r and of s in the signature */
};

/* The algorithm for an EC key on a supported curve, else NULL. */
const struct cose_alg *cose_alg_for_pkey(const EVP_PKEY *pk);

/* The protected header {1: alg}, not yet wrapped in a bstr. */
void cose_encode_protected(struct strbuf *sb, int alg);
/* The Sig_structure, the bytes that are signed. */
void cose_encode_sig_structure(struct strbuf *sb, const uint8_t *prot,
			       size_t prot_len, const uint8_t *payload,
			       size_t payload_len);

/* COSE_Sign1 over payload, untagged, protected {1: alg}, unprotected {},
 * appended to cose. key must be on alg's curve. A fresh, randomised
 * ECDSA signature each call. */
int cose_sign1_build(EVP_PKEY *key, const struct cose_alg *alg,
		     const uint8_t *payload, size_t payload_len,
		     struct strbuf *cose, struct ek_error *err);

/* A COSE_Sign1 taken apart; the pointers are into the bytes read. */
struct cose_sign1 {
	const uint8_t *prot, *payload, *sig;
	size_t prot_len, payload_len, sig_len;
	int64_t alg; /* from the protected header */
	bool tagged; /* was wrapped in tag 18 */
};

/* The EIF signer's exact form: tagged (18) or untagged, protected header
 * exactly {1: alg}, unprotected header {}, shortest heads, nothing after.
 * false if p is not that. */
bool cose_sign1_read_strict(const uint8_t *p, size_t len,
			    struct cose_sign1 *c);

/* Verify c with pub: 1 if c->alg is the algorithm of pub's curve and the
 * signature verifies, 0 if not, EK_ENOMEM. */
int cose_sign1_verify(const struct cose_sign1 *c, EVP_PKEY *pub);

#endif
