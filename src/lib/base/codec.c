/* codec.c: hex and base64 decoding for text inputs (codec.h). */
#include "base/internal.h"

#include "base/codec.h"

bool codec_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

int codec_hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int codec_base64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int codec_hex_decode(const uint8_t *in, size_t len, uint8_t *out,
		   size_t *out_len, struct ek_error *err)
{
	size_t i, n = 0;
	int hi = -1, v;

	for (i = 0; i < len; i++) {
		if (codec_is_space(in[i]))
			continue;
		v = codec_hex_value(in[i]);
		if (v < 0)
			return ek_fail(err, EK_EFORMAT,
				       "hex: byte %zu is not a hex digit", i);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		return ek_fail(err, EK_EFORMAT, "hex: an odd number of digits");
	*out_len = n;
	return 0;
}

int codec_base64_decode(const uint8_t *in, size_t len, uint8_t *out,
		   size_t *out_len, struct ek_error *err)
{
	uint32_t acc = 0;
	size_t i, n = 0, bits = 0, pad = 0, chars = 0;
	int v;

	for (i = 0; i < len; i++) {
		if (codec_is_space(in[i]))
			continue;
		if (in[i] == '=') {
			pad++;
			continue;
		}
		v = codec_base64_value(in[i]);
		if (v < 0 || pad)
			return ek_fail(err, EK_EFORMAT,
				       "base64: byte %zu is not base64", i);
		chars++;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (chars % 4 == 1 || pad > 2 || (pad && (chars + pad) % 4) ||
	    (acc & ((1u << bits) - 1)))
		return ek_fail(err, EK_EFORMAT,
			       "base64: a wrong length, padding or final bits");
	*out_len = n;
	return 0;
}
