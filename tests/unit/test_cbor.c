/* test_cbor.c: base/cbor's tree decoder on RFC 8949's examples (appendix
 * A, written out here by hand) and on what it must refuse, and the
 * writer's heads against the same appendix. */
#include "base/internal.h"

#include <stdio.h>

#include "base/cbor.h"
#include "base/strbuf.h"
#include "unit.h"

static const struct cbor_limits lax = { 16, 1000, false };
static const struct cbor_limits strict = { 16, 1000, true };

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	unsigned v;

	while (sscanf(s + 2 * n, "%2x", &v) == 1)
		out[n++] = (uint8_t)v;
	return n;
}

/* Decode hex; return the ek code, with the message in msg. */
static int dec(const char *hex, const struct cbor_limits *lim,
	       struct cbor_doc *d, char *msg)
{
	static uint8_t buf[4096];
	struct ek_error err;
	size_t n = unhex(hex, buf);
	int rc = cbor_decode(buf, n, lim, d, &err);

	if (msg)
		strcpy(msg, rc ? err.msg : "");
	return rc;
}

TEST(scalars)
{
	struct cbor_doc d;

	CHECK(dec("1bffffffffffffffff", &strict, &d, NULL) == 0);
	CHECK(d.nitems == 1 && d.items[0].type == CBOR_UINT &&
	      d.items[0].val == UINT64_MAX);
	cbor_doc_release(&d);
	CHECK(dec("3903e7", &strict, &d, NULL) == 0); /* -1000 */
	CHECK(d.items[0].type == CBOR_NINT && d.items[0].val == 999);
	cbor_doc_release(&d);
	CHECK(dec("f97c00", &strict, &d, NULL) == 0); /* Infinity, half */
	CHECK(d.items[0].type == CBOR_FLOAT && d.items[0].val == 0x7c00);
	cbor_doc_release(&d);
	CHECK(dec("f6", &strict, &d, NULL) == 0 && d.items[0].type == CBOR_NULL);
	cbor_doc_release(&d);
	CHECK(dec("f7", &strict, &d, NULL) == 0 &&
	      d.items[0].type == CBOR_UNDEFINED);
	cbor_doc_release(&d);
	CHECK(dec("f8ff", &strict, &d, NULL) == 0 &&
	      d.items[0].type == CBOR_SIMPLE && d.items[0].val == 255);
	cbor_doc_release(&d);
	CHECK(dec("c11a514b67b0", &strict, &d, NULL) == 0); /* 1(1363896240) */
	CHECK(d.nitems == 2 && d.items[0].type == CBOR_TAG &&
	      d.items[0].val == 1 && d.items[1].val == 1363896240);
	cbor_doc_release(&d);
}

TEST(nested_and_lookup)
{
	struct cbor_doc d;
	const struct cbor_item *m, *b;

	/* {"a": 1, "b": [2, 3]} */
	CHECK(dec("a26161016162820203", &strict, &d, NULL) == 0);
	m = &d.items[0];
	CHECK(m->type == CBOR_MAP && m->val == 2 && m->end == d.nitems);
	CHECK(cbor_map_text(&d, m, "a")->val == 1);
	b = cbor_map_text(&d, m, "b");
	CHECK(b && b->type == CBOR_ARRAY && b->val == 2);
	CHECK(cbor_child(&d, b, 1)->val == 3 && !cbor_child(&d, b, 2));
	CHECK(!cbor_map_text(&d, m, "c") && !cbor_map_int(&d, m, 1));
	CHECK(cbor_child(&d, m, 2)->type == CBOR_TEXT); /* second key */
	cbor_doc_release(&d);
	/* {1: 2, -1: 4} */
	CHECK(dec("a201022004", &strict, &d, NULL) == 0);
	CHECK(cbor_map_int(&d, &d.items[0], -1)->val == 4);
	CHECK(cbor_map_int(&d, &d.items[0], 1)->val == 2);
	cbor_doc_release(&d);
}

TEST(indefinite_lengths)
{
	struct cbor_doc d;
	const struct cbor_item *m;

	/* (_ h'0102', h'030405') */
	CHECK(dec("5f42010243030405ff", &lax, &d, NULL) == 0);
	CHECK(d.items[0].type == CBOR_BYTES && d.items[0].len == 5 &&
	      !memcmp(d.items[0].str, "\1\2\3\4\5", 5));
	cbor_doc_release(&d);
	/* (_ "strea", "ming") */
	CHECK(dec("7f657374726561646d696e67ff", &lax, &d, NULL) == 0);
	CHECK(d.items[0].len == 9 && !memcmp(d.items[0].str, "streaming", 9));
	cbor_doc_release(&d);
	/* [_ 1, [2, 3], [_ 4, 5]] */
	CHECK(dec("9f018202039f0405ffff", &lax, &d, NULL) == 0);
	CHECK(d.items[0].val == 3 && cbor_child(&d, &d.items[0], 2)->val == 2);
	cbor_doc_release(&d);
	/* {_ "Fun": true, "Amt": -2} */
	CHECK(dec("bf6346756ef563416d7421ff", &lax, &d, NULL) == 0);
	m = &d.items[0];
	CHECK(m->val == 2 && cbor_map_text(&d, m, "Amt")->type == CBOR_NINT);
	cbor_doc_release(&d);
	/* an indefinite key equal to a definite one is a duplicate */
	CHECK(dec("a2626162007f61616162ff00", &lax, &d, NULL) == EK_EFORMAT);
	/* empty indefinite string */
	CHECK(dec("5fff", &lax, &d, NULL) == 0 && d.items[0].len == 0);
	cbor_doc_release(&d);
}

TEST(refused)
{
	static const struct {
		const char *hex, *words;
	} bad[] = {
		{ "", "ends inside a CBOR item" },
		{ "1901", "ends inside a CBOR head" },
		{ "0000", "1 bytes after the CBOR item" },
		{ "a2616100616100", "duplicate map key" },
		{ "a201000100", "duplicate map key" },
		{ "a1f600", "not an integer or a string" },
		{ "a18000", "not an integer or a string" },
		{ "bf00ff", "a map key without a value" },
		{ "ff", "a break outside" },
		{ "81ff", "a break outside" },
		{ "1f", "an indefinite length on an integer" },
		{ "df00", "an indefinite length on an integer or a tag" },
		{ "1c", "reserved" },
		{ "f818", "below 32" },
		{ "5f6161ff", "of another type" },
		{ "5f5f4100ffff", "of another type" },
		{ "62c328", "not UTF-8" },
		{ "7f61c3ff", "not UTF-8" },
		{ "5a00000005", "a string longer than the input" },
		{ "9b0000000100000000", "more items than bytes left" },
		{ "9f00", "ends inside a CBOR item" },
	};
	struct cbor_doc d;
	char msg[EK_MSG_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = dec(bad[i].hex, &lax, &d, msg);

		CHECK(rc == EK_EFORMAT);
		CHECK(d.nitems == 0 && !d.items);
		if (!strstr(msg, bad[i].words))
			fprintf(stderr, "%s: got '%s', want '%s'\n", bad[i].hex,
				msg, bad[i].words);
		CHECK(strstr(msg, bad[i].words) != NULL);
	}
}

TEST(limits)
{
	struct cbor_limits lim = { 3, 5, true };
	struct cbor_doc d;
	char msg[EK_MSG_MAX];

	CHECK(dec("818100", &lim, &d, NULL) == 0); /* depth 3 */
	cbor_doc_release(&d);
	CHECK(dec("81818100", &lim, &d, msg) == EK_ELIMIT);
	CHECK(strstr(msg, "nested deeper than 3") != NULL);
	CHECK(dec("c1c1c100", &lim, &d, msg) == EK_ELIMIT); /* tags nest */
	CHECK(dec("8400000000", &lim, &d, NULL) == 0); /* 5 items */
	cbor_doc_release(&d);
	CHECK(dec("850000000000", &lim, &d, msg) == EK_ELIMIT);
	CHECK(strstr(msg, "more than 5 CBOR items") != NULL);
}

TEST(shortest_heads)
{
	struct cbor_doc d;
	char msg[EK_MSG_MAX];

	CHECK(dec("1817", &strict, &d, msg) == EK_EFORMAT);
	CHECK(strstr(msg, "longer than needed") != NULL);
	CHECK(dec("1817", &lax, &d, NULL) == 0 && d.items[0].val == 23);
	cbor_doc_release(&d);
	CHECK(dec("5900024142", &strict, &d, NULL) == EK_EFORMAT);
	CHECK(dec("5900024142", &lax, &d, NULL) == 0 && d.items[0].len == 2);
	cbor_doc_release(&d);
	CHECK(dec("1818", &strict, &d, NULL) == 0); /* 24 needs the byte */
	cbor_doc_release(&d);
	CHECK(dec("fa47c35000", &strict, &d, NULL) == 0); /* float, any width */
	cbor_doc_release(&d);
}

TEST(writer_heads)
{
	static const struct {
		unsigned major;
		uint64_t arg;
		const char *hex;
	} v[] = {
		{ 0, 0, "00" }, { 0, 23, "17" }, { 0, 24, "1818" },
		{ 0, 255, "18ff" }, { 0, 256, "190100" },
		{ 0, 65536, "1a00010000" },
		{ 0, 4294967296ull, "1b0000000100000000" },
		{ 4, 25, "9819" }, { 2, 4, "44" },
	};
	char hex[40];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct strbuf sb;

		strbuf_init(&sb);
		cbor_put_head(&sb, v[i].major, v[i].arg);
		for (size_t k = 0; k < sb.len; k++)
			snprintf(hex + 2 * k, 3, "%02x", (uint8_t)sb.buf[k]);
		CHECK_STR(hex, v[i].hex);
		strbuf_release(&sb);
	}
}

TEST(round_trip_of_writer)
{
	struct strbuf sb;
	struct cbor_doc d;
	struct ek_error err;

	strbuf_init(&sb);
	cbor_put_head(&sb, CBOR_MAJOR_MAP, 2);
	cbor_put_text(&sb, "k");
	cbor_put_int(&sb, -35);
	cbor_put_int(&sb, 7);
	cbor_put_u8_array(&sb, (const uint8_t *)"\x00\xff", 2);
	CHECK(cbor_decode((uint8_t *)sb.buf, sb.len, &strict, &d, &err) == 0);
	CHECK(cbor_map_text(&d, &d.items[0], "k")->val == 34);
	CHECK(cbor_child(&d, cbor_map_int(&d, &d.items[0], 7), 1)->val == 255);
	cbor_doc_release(&d);
	strbuf_release(&sb);
}

int main(void)
{
	RUN(scalars);
	RUN(nested_and_lookup);
	RUN(indefinite_lengths);
	RUN(refused);
	RUN(limits);
	RUN(shortest_heads);
	RUN(writer_heads);
	RUN(round_trip_of_writer);
	return unit_done();
}
