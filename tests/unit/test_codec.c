/* test_codec.c: base/codec's hex and base64 decoders, against values
 * written out by hand (RFC 4648 section 10's vectors for base64). */
#include "base/internal.h"

#include "base/codec.h"
#include "unit.h"

static int b64(const char *in, char *out, size_t *n)
{
	return codec_base64_decode((const uint8_t *)in, strlen(in),
				   (uint8_t *)out, n, NULL);
}

static int hex(const char *in, char *out, size_t *n)
{
	return codec_hex_decode((const uint8_t *)in, strlen(in),
				(uint8_t *)out, n, NULL);
}

TEST(base64_rfc4648)
{
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v",
					   "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *const dec[] = { "", "f", "fo", "foo", "foob",
					   "fooba", "foobar" };
	char out[16];
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(enc); i++) {
		CHECK(b64(enc[i], out, &n) == 0);
		CHECK(n == strlen(dec[i]) && !memcmp(out, dec[i], n));
	}
}

TEST(base64_forms)
{
	char out[16];
	size_t n;

	CHECK(b64("Zm9vYg", out, &n) == 0 && n == 4); /* no padding */
	CHECK(b64(" Zm9v\nYmFy\r\n", out, &n) == 0 && n == 6);
	CHECK(b64("-_8", out, &n) == 0 && n == 2 && /* URL-safe */
	      (uint8_t)out[0] == 0xfb && (uint8_t)out[1] == 0xff);
	CHECK(b64("+/8=", out, &n) == 0 && (uint8_t)out[0] == 0xfb);
}

TEST(base64_refused)
{
	static const char *const bad[] = {
		"Z", "Zg=", "Zg===", "Z===", "Zh==", /* unused bits set */
		"Zg==Zg==", "Zm9v!", "Zm=9v", "Zm9vY",
	};
	char out[16];
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(b64(bad[i], out, &n) == EK_EFORMAT);
		if (b64(bad[i], out, &n) != EK_EFORMAT)
			fprintf(stderr, "accepted: '%s'\n", bad[i]);
	}
}

TEST(hex)
{
	char out[8];
	size_t n;

	CHECK(hex("00fFa5", out, &n) == 0 && n == 3 &&
	      !memcmp(out, "\x00\xff\xa5", 3));
	CHECK(hex("0 0\n", out, &n) == 0 && n == 1 && out[0] == 0);
	CHECK(hex("", out, &n) == 0 && n == 0);
	CHECK(hex("abc", out, &n) == EK_EFORMAT);
	CHECK(hex("0g", out, &n) == EK_EFORMAT);
	CHECK(codec_hex_value('F') == 15 && codec_hex_value('g') == -1);
	CHECK(codec_base64_value('=') == -1 && codec_base64_value('/') == 63);
}

int main(void)
{
	RUN(base64_rfc4648);
	RUN(base64_forms);
	RUN(base64_refused);
	RUN(hex);
	return unit_done();
}
