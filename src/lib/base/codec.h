/* codec.h: hex and base64 decoding, for inputs people paste or pipe (an
 * attestation document, a nonce). Both skip ASCII whitespace, so that
 * wrapped text decodes. */
#ifndef EIFKIT_LIB_CODEC_H
#define EIFKIT_LIB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Space, tab, newline, carriage return, vertical tab, form feed. */
bool codec_is_space(uint8_t c);
/* The value of a hex digit (either case), or -1. */
int codec_hex_value(uint8_t c);
/* The value of a base64 character of RFC 4648's standard or URL-safe
 * alphabet, or -1 ('=' is -1). */
int codec_base64_value(uint8_t c);

/* Decode in[0..len) into out, which has room for len bytes; *out_len gets
 * the bytes written. EK_EFORMAT with "hex: ..." for a byte that is not a
 * digit or an odd number of digits. */
int codec_hex_decode(const uint8_t *in, size_t len, uint8_t *out,
		     size_t *out_len, struct ek_error *err);
/* The same for base64, standard or URL-safe alphabet (mixed is allowed),
 * padding optional but, if present, complete and last; unused final bits
 * must be zero. EK_EFORMAT with "base64: ...". */
int codec_base64_decode(const uint8_t *in, size_t len, uint8_t *out,
			size_t *out_len, struct ek_error *err);

#endif
