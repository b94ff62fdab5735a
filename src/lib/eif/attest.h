/* attest.h: AWS Nitro Enclaves attestation documents: read one from
 * hostile bytes, check it as AWS's attestation process does, and hand
 * back what it says (../shared/docs/ATTESTATION.md has the facts).
 *
 * COSE_Sign1 (tag 18 optional) = [protected {1: -35}, unprotected,
 *   payload, signature], payload = {module_id, digest "SHA384", timestamp,
 *   pcrs {0..31: bstr}, certificate, cabundle [root, ..., intermediate],
 *   public_key, user_data, nonce (bstr or null)}.
 *
 * Order, as AWS's: attest_parse does the syntactic checks (envelope,
 * protected header ES384, every payload field's type and size);
 * attest_verify the semantic ones (cabundle[0] is the trusted root, the
 * chain root -> cabundle -> certificate in that order with OpenSSL's X.509
 * verification at a given time, the document's timestamp inside every
 * certificate's validity, then the COSE signature with the leaf key). Only
 * a document that passed both may be compared with expected values. */
#ifndef EIFKIT_LIB_ATTEST_H
#define EIFKIT_LIB_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cbor.h"
#include "base/error.h"
#include "eif/cose.h"

#define ATTEST_DOC_MAX (64 * 1024)  /* bytes of COSE_Sign1; genuine: ~5 KB */
#define ATTEST_PCRS_MAX 32
#define ATTEST_PCR_LEN 48           /* SHA384 */
#define ATTEST_FIELD_MAX 1024       /* a certificate, key, user_data, nonce */
#define ATTEST_CABUNDLE_MAX 16      /* genuine: 4 */
#define ATTEST_CHAIN_MAX (ATTEST_CABUNDLE_MAX + 1)
/* SHA-256 of the DER of AWS Nitro Enclaves root G1 (AWS's user guide,
 * "Verifying the root of trust"). */
#define ATTEST_ROOT_G1_SHA256 \
	"641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

/* An optional field: present false for CBOR null. */
struct attest_blob {
	const uint8_t *p;
	size_t len;
	bool present;
};

/* One certificate of the verified chain, root first. */
struct attest_cert {
	char *subject;  /* RFC 2253 text, from a hostile file: escape it */
	int64_t not_before, not_after; /* seconds since the epoch */
};

struct attest_doc {
	uint8_t *raw;
	size_t raw_len;
	struct cbor_doc env, prot, payload;
	struct cose_sign1 cose;
	/* the payload; pointers into raw */
	const uint8_t *module_id; /* UTF-8, not NUL-terminated */
	size_t module_id_len;
	uint64_t timestamp_ms;
	const uint8_t *pcr[ATTEST_PCRS_MAX]; /* NULL: not in the document */
	size_t npcrs;
	struct attest_blob certificate;
	struct attest_blob cabundle[ATTEST_CABUNDLE_MAX];
	size_t ncabundle;
	struct attest_blob public_key, user_data, nonce;
	/* filled by attest_verify */
	struct attest_cert chain[ATTEST_CHAIN_MAX];
	size_t chain_len;
	int64_t verified_at;
	uint8_t root_sha256[32];
};

/* Take the document's bytes apart and make AWS's syntactic checks.
 * EK_EFORMAT or EK_ELIMIT with a message naming the field; EK_ENOMEM.
 * buf is copied. Release doc either way. */
int attest_parse(const uint8_t *buf, size_t len, struct attest_doc *doc,
		 struct ek_error *err);
void attest_doc_release(struct attest_doc *doc);

/* PCRs 0, 1 and 2 all zero: an enclave run in debug mode. */
bool attest_is_debug(const struct attest_doc *doc);

/* The trust anchor: root_pem NULL for the embedded AWS Nitro Enclaves
 * root G1 (checked against ATTEST_ROOT_G1_SHA256), else a PEM
 * certificate. at: the validation time in seconds, or NULL for the
 * document's own timestamp. EK_ECRYPTO with a message naming the first
 * failed check (the root, the chain and which certificate, the time, the
 * signature); EK_EFORMAT for a root_pem that is not a certificate. */
int attest_verify(struct attest_doc *doc, const uint8_t *root_pem,
		  size_t root_pem_len, const int64_t *at, struct ek_error *err);

/* SHA-256 of the trust anchor's DER that attest_verify used, as hex. */
void attest_root_fingerprint(const struct attest_doc *doc,
			     char hex[2 * 32 + 1]);

/* Input encodings of a document. */
enum attest_format {
	ATTEST_FMT_AUTO,
	ATTEST_FMT_RAW,    /* CBOR */
	ATTEST_FMT_BASE64, /* RFC 4648, standard or URL-safe alphabet,
	                      padding optional, ASCII whitespace ignored */
	ATTEST_FMT_HEX,    /* whitespace ignored */
};

/* Decode in to CBOR bytes (*out malloc'd); with AUTO, hex if every
 * non-whitespace byte is a hex digit, else base64 if every one is of the
 * base64 alphabets or '=', else raw (a COSE_Sign1 opens with a byte
 * >= 0x80, so raw CBOR is never taken for text). *used gets the format
 * that was used. EK_EFORMAT, EK_ENOMEM. */
int attest_decode_input(const uint8_t *in, size_t len, enum attest_format fmt,
			uint8_t **out, size_t *out_len, enum attest_format *used,
			struct ek_error *err);

/* Does the document's public_key equal key[0..len): byte for byte, or,
 * if key is a PEM public key, its DER SubjectPublicKeyInfo? */
bool attest_public_key_matches(const struct attest_doc *doc,
			       const uint8_t *key, size_t len);

#endif
