/* test_json.c: json.c against serde_json 1.x and Rust ryu.
 *
 * Expected outputs and error messages were produced by serde_json 1.0.87
 * (default features, as eif_build uses it) with ryu, and checked against
 * the golden vector tests/vectors b-custom-metadata. Every input is
 * parsed from an exact-size heap copy so that AddressSanitizer catches
 * any read past len. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers --------------------------------------------------------- */

static int parse_exact(const char *in, size_t len, struct json_value **v,
		       struct ek_error *err)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	if (!copy)
		return EK_ENOMEM;
	memcpy(copy, in, len);
	rc = json_parse(copy, len, v, err);
	free(copy); /* the tree must not point into the input */
	return rc;
}

/* Serialise v; NULL if the strbuf ran out of memory. */
static char *to_text(const struct json_value *v, int indent, size_t *len)
{
	struct strbuf sb;

	strbuf_init(&sb);
	json_write(&sb, v, indent);
	if (!strbuf_ok(&sb)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, len);
}

static void show(const char *label, const char *s, size_t len)
{
	fprintf(stderr, "  %s: \"", label);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7F && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "\"\n");
}

/* Byte-exact comparison that prints both sides on failure. */
static bool same_bytes(const char *got, size_t got_len, const char *want,
		       size_t want_len, const char *ctx, size_t ctx_len)
{
	if (got && got_len == want_len && memcmp(got, want, want_len) == 0)
		return true;
	show("input", ctx, ctx_len);
	show("got  ", got ? got : "(null)", got ? got_len : 6);
	show("want ", want, want_len);
	return false;
}

/* Parse in[0..in_len) and compare its serialisation with want. */
static bool converts(const char *in, size_t in_len, int indent,
		     const char *want, size_t want_len)
{
	struct json_value *v = NULL;
	struct ek_error err = { 0 };
	char *out = NULL;
	size_t out_len = 0;
	bool ok;

	if (parse_exact(in, in_len, &v, &err) == 0)
		out = to_text(v, indent, &out_len);
	else
		fprintf(stderr, "  parse failed: %s\n", err.msg);
	ok = same_bytes(out, out_len, want, want_len, in, in_len);
	free(out);
	json_free(v);
	return ok;
}

/* ---- the golden vector b-custom-metadata ----------------------------- */

/* vectors/eif/b-custom-metadata/metadata.json, byte for byte */
static const char metadata_in[] =
	"{ \"zeta\": 1, \"alpha\": [1.50, 2e3, \"x/y\", -0.25, 1e-7, 1.5e300"
	", 123456789012],\n"
	"  \"mid\": {\"b\": true, \"a\": null, \"B\": false},\n"
	"  \"text\": \"tab\\tnl\\nquote\\\"back\\\\slash\\u0001 caf\\u00e9 "
	"\\u2603 \\ud83d\\ude00 </script>\",\n"
	"  \"\\u00e9cole\": \"key sorted by bytes\", \"empty\": {}, \"list\""
	": [] }\n";

/* The CustomMetadata value in the metadata section of expected.eif. */
static const char metadata_compact[] =
	"{\"alpha\":[1.5,2000.0,\"x/y\",-0.25,1e-7,1.5e300,123456789012],"
	"\"empty\":{},\"list\":[],\"mid\":{\"B\":false,\"a\":null,\"b\":true},"
	"\"text\":\"tab\\tnl\\nquote\\\"back\\\\slash\\u0001 café ☃ 😀 "
	"</script>\",\"zeta\":1,\"école\":\"key sorted by bytes\"}";

/* serde_json::to_string_pretty of the same value. */
static const char metadata_pretty[] =
	"{\n"
	"  \"alpha\": [\n"
	"    1.5,\n"
	"    2000.0,\n"
	"    \"x/y\",\n"
	"    -0.25,\n"
	"    1e-7,\n"
	"    1.5e300,\n"
	"    123456789012\n"
	"  ],\n"
	"  \"empty\": {},\n"
	"  \"list\": [],\n"
	"  \"mid\": {\n"
	"    \"B\": false,\n"
	"    \"a\": null,\n"
	"    \"b\": true\n"
	"  },\n"
	"  \"text\": \"tab\\tnl\\nquote\\\"back\\\\slash\\u0001 café ☃ 😀 "
	"</script>\",\n"
	"  \"zeta\": 1,\n"
	"  \"école\": \"key sorted by bytes\"\n"
	"}";

/* The "Metadata" object of expected.describe.json, which sits at nesting
 * level 1: nitro-cli flattens CustomMetadata's members into it. */
static const char describe_metadata[] =
	"{\n"
	"    \"BuildTime\": \"2024-01-01T00:00:00+00:00\",\n"
	"    \"BuildTool\": \"eif_build\",\n"
	"    \"BuildToolVersion\": \"0.3.1\",\n"
	"    \"OperatingSystem\": \"OS\",\n"
	"    \"KernelVersion\": \"kernel\",\n"
	"    \"DockerInfo\": null,\n"
	"    \"alpha\": [\n"
	"      1.5,\n"
	"      2000.0,\n"
	"      \"x/y\",\n"
	"      -0.25,\n"
	"      1e-7,\n"
	"      1.5e300,\n"
	"      123456789012\n"
	"    ],\n"
	"    \"empty\": {},\n"
	"    \"list\": [],\n"
	"    \"mid\": {\n"
	"      \"B\": false,\n"
	"      \"a\": null,\n"
	"      \"b\": true\n"
	"    },\n"
	"    \"text\": \"tab\\tnl\\nquote\\\"back\\\\slash\\u0001 café ☃ 😀 "
	"</script>\",\n"
	"    \"zeta\": 1,\n"
	"    \"école\": \"key sorted by bytes\"\n"
	"  }";

#define LIT(s) s, sizeof(s) - 1

TEST(golden_compact)
{
	CHECK(converts(LIT(metadata_in), -1, LIT(metadata_compact)));
}

TEST(golden_pretty)
{
	CHECK(converts(LIT(metadata_in), 0, LIT(metadata_pretty)));
}

static const char *const build_fields[][2] = {
	{ "BuildTime", "2024-01-01T00:00:00+00:00" },
	{ "BuildTool", "eif_build" },
	{ "BuildToolVersion", "0.3.1" },
	{ "OperatingSystem", "OS" },
	{ "KernelVersion", "kernel" },
};

/* What describe builds: the build fields in struct order, then the
 * custom members in their (sorted) stored order. */
static int build_metadata(const struct json_value *custom,
			  struct json_value **ret)
{
	struct json_value *m = json_new_object();
	int rc = m ? 0 : EK_ENOMEM;
	size_t i;

	for (i = 0; !rc && i < N_ELEMS(build_fields); i++)
		rc = json_object_push(m, build_fields[i][0],
				      json_new_string(build_fields[i][1]));
	if (!rc)
		rc = json_object_push(m, "DockerInfo", json_new_null());
	for (i = 0; !rc && i < custom->obj.len; i++)
		rc = json_object_push(m, custom->obj.members[i].key,
				      json_clone(custom->obj.members[i].value));
	if (rc) {
		json_free(m);
		return rc;
	}
	*ret = m;
	return 0;
}

TEST(describe_metadata_level1)
{
	struct json_value *custom = NULL, *m = NULL;
	char *out = NULL;
	size_t len = 0;

	CHECK(json_parse(LIT(metadata_in), &custom, NULL) == 0);
	if (!custom)
		return;
	CHECK(build_metadata(custom, &m) == 0);
	if (m)
		out = to_text(m, 1, &len);
	CHECK(same_bytes(out, len, LIT(describe_metadata), "", 0));
	free(out);
	json_free(m);
	json_free(custom);
}

/* ---- parse and re-serialise ------------------------------------------ */

struct conv {
	const char *in;
	size_t in_len;
	const char *want;
	size_t want_len;
};

#define C(in, want) { in, sizeof(in) - 1, want, sizeof(want) - 1 }

static const struct conv conversions[] = {
	/* numbers: EIF-FORMAT.md 8.2 and the ryu layout rules */
	C("2e3", "2000.0"),
	C("1E2", "100.0"),
	C("1.50", "1.5"),
	C("123456789.125", "123456789.125"),
	C("-1.5e-5", "-0.000015"),
	C("1e16", "1e16"),
	C("1e21", "1e21"),
	C("1e-7", "1e-7"),
	C("1.5e300", "1.5e300"),
	C("1.2345678901234566e16", "1.2345678901234566e16"),
	C("1e15", "1000000000000000.0"),
	C("0.0001", "0.0001"),
	C("0.00001", "0.00001"),
	C("0.000001", "1e-6"),
	C("-0.25", "-0.25"),
	C("123456789012", "123456789012"),
	C("100", "100"),
	C("-5", "-5"),
	C("0", "0"),
	C("-0", "-0.0"),
	C("0.0", "0.0"),
	C("-0.0", "-0.0"),
	C("0e0", "0.0"),
	C("-0e-0", "-0.0"),
	C("1e0", "1.0"),
	C("1E+2", "100.0"),
	C("1e00001", "10.0"),
	/* integers at the u64/i64 edges */
	C("18446744073709551615", "18446744073709551615"),
	C("18446744073709551616", "1.8446744073709552e19"),
	C("-9223372036854775808", "-9223372036854775808"),
	C("-9223372036854775809", "-9.223372036854776e18"),
	C("-18446744073709551616", "-1.8446744073709552e19"),
	C("9007199254740993", "9007199254740993"),
	C("10000000000000000000000000000000000000000", "1e40"),
	/* range edges: underflow is zero, overflow is an error (below) */
	C("1e-400", "0.0"),
	C("-1e-400", "-0.0"),
	C("0e99999999999999999999", "0.0"),
	C("1e-99999999999999999999", "0.0"),
	C("4.9e-324", "5e-324"),
	C("1.7976931348623157e308", "1.7976931348623157e308"),
	C("0.1e309", "1e308"),
	/* serde_json's own float reading (no float_roundtrip feature) is not
	 * correctly rounded; eif_build writes these, not strtod's values */
	C("7.63e149", "7.6299999999999995e149"),
	C("4.39585e-24", "4.3958500000000005e-24"),
	C("2.2250738585072011e-308", "2.2250738585072014e-308"),
	C("1.0000000000000000000000000000001", "1.0"),
	/* strings: serde_json's escaping */
	C("\"\\u0000\"", "\"\\u0000\""),
	C("\"a\\u0000b\"", "\"a\\u0000b\""),
	C("\"\\/\"", "\"/\""),
	C("\"\\u00e9\\u00E9\"", "\"éé\""),
	C("\"\\u007f\x7f\"", "\"\x7f\x7f\""),
	C("\"\\ud83d\\ude00\\uD83D\\uDE00\"", "\"😀😀\""),
	C("\"\\b\\f\\n\\r\\t\\\"\\\\\"", "\"\\b\\f\\n\\r\\t\\\"\\\\\""),
	C("\"\\u0001\\u001F\\u000b\"", "\"\\u0001\\u001f\\u000b\""),
	C("\"\\u0020\"", "\" \""),
	C("\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"", "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\""),
	C("\"</script>\"", "\"</script>\""),
	/* structure and whitespace */
	C(" \t\r\n1 \t\r\n", "1"),
	C("[true, false, null]", "[true,false,null]"),
	C("[ ]", "[]"),
	C("{ }", "{}"),
	C("[[],{},[[]]]", "[[],{},[[]]]"),
	/* objects: byte order, last duplicate wins */
	C("{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}"),
	C("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}"),
	C("{\"a\":[1],\"a\":{},\"a\":\"x\"}", "{\"a\":\"x\"}"),
	C("{\"z\":1,\"é\":2,\"Z\":3,\"ab\":4,\"a\":5,\"\":6}",
	  "{\"\":6,\"Z\":3,\"a\":5,\"ab\":4,\"z\":1,\"é\":2}"),
	C("{\"a\\u0000b\":1,\"a\":2,\"a\\u0000\":3}",
	  "{\"a\":2,\"a\\u0000\":3,\"a\\u0000b\":1}"),
	C("{\"\\u00e9cole\":1,\"ecole\":2}", "{\"ecole\":2,\"école\":1}"),
	C("{\"k\\n\\u0001\":\"v\"}", "{\"k\\n\\u0001\":\"v\"}"),
	C("{\"a\":{\"c\":1,\"b\":2},\"A\":[{\"y\":1,\"x\":2}]}",
	  "{\"A\":[{\"x\":2,\"y\":1}],\"a\":{\"b\":2,\"c\":1}}"),
};

TEST(conversions)
{
	for (size_t i = 0; i < N_ELEMS(conversions); i++) {
		const struct conv *c = &conversions[i];

		CHECK(converts(c->in, c->in_len, -1, c->want, c->want_len));
	}
}

struct bad {
	const char *in;
	size_t in_len;
	const char *msg;
};

#define E(in, msg) { in, sizeof(in) - 1, msg }

/* Each message is serde_json's, reordered to "line L column C: reason". */
static const struct bad errors[] = {
	E("", "line 1 column 0: EOF while parsing a value"),
	E("   ", "line 1 column 3: EOF while parsing a value"),
	E("[1,]", "line 1 column 4: trailing comma"),
	E("{\"a\":1,}", "line 1 column 8: trailing comma"),
	E("[1 2]", "line 1 column 4: expected `,` or `]`"),
	E("{\"a\" 1}", "line 1 column 6: expected `:`"),
	E("{1:2}", "line 1 column 2: key must be a string"),
	E("// c\n1", "line 1 column 1: expected value"), /* no comments */
	E("/* c */ 1", "line 1 column 1: expected value"),
	E("1 x", "line 1 column 3: trailing characters"),
	E("[] []", "line 1 column 4: trailing characters"),
	E("[1]\0", "line 1 column 4: trailing characters"),
	E("\f1", "line 1 column 1: expected value"), /* not whitespace */
	E("\xef\xbb\xbf" "1", "line 1 column 1: expected value"), /* BOM */
	E("tru", "line 1 column 3: EOF while parsing a value"),
	E("True", "line 1 column 1: expected value"),
	E("nulll", "line 1 column 5: trailing characters"),
	E("[", "line 1 column 1: EOF while parsing a list"),
	E("{", "line 1 column 1: EOF while parsing an object"),
	E("[1,", "line 1 column 3: EOF while parsing a value"),
	E("{\"a\":", "line 1 column 5: EOF while parsing a value"),
	E("{\"a\"}", "line 1 column 5: expected `:`"),
	E("{\"a\":1 \"b\":2}", "line 1 column 8: expected `,` or `}`"),
	E("[1,,2]", "line 1 column 4: expected value"),
	E("{,}", "line 1 column 2: key must be a string"),
	E("\n\n  [1,\n  x]", "line 4 column 3: expected value"),
	/* number grammar */
	E("01", "line 1 column 2: invalid number"),
	E("-01", "line 1 column 3: invalid number"),
	E("00", "line 1 column 2: invalid number"),
	E("+1", "line 1 column 1: expected value"),
	E(".5", "line 1 column 1: expected value"),
	E("5.", "line 1 column 2: EOF while parsing a value"),
	E("1.e5", "line 1 column 3: invalid number"),
	E("1e", "line 1 column 2: EOF while parsing a value"),
	E("1e+", "line 1 column 3: EOF while parsing a value"),
	E("-", "line 1 column 1: EOF while parsing a value"),
	E("--1", "line 1 column 2: invalid number"),
	E("0x10", "line 1 column 2: trailing characters"),
	E("NaN", "line 1 column 1: expected value"),
	E("-Infinity", "line 1 column 2: invalid number"),
	/* number range */
	E("1e400", "line 1 column 5: number out of range"),
	E("-1e400", "line 1 column 6: number out of range"),
	E("10e308", "line 1 column 6: number out of range"),
	E("1.7976931348623159e308", "line 1 column 22: number out of range"),
	E("1e99999999999999999999", "line 1 column 12: number out of range"),
	E("184467440737095516150e300", "line 1 column 25: number out of range"),
	/* escapes and surrogates */
	E("\"\\ud83d\"", "line 1 column 8: unexpected end of hex escape"),
	E("\"\\ude00\"", "line 1 column 7: lone leading surrogate in hex escape"),
	E("\"\\ud83dx\"", "line 1 column 8: unexpected end of hex escape"),
	E("\"\\ud83d\\u0041\"",
	  "line 1 column 13: lone leading surrogate in hex escape"),
	E("\"\\ud83d\\ud83d\"",
	  "line 1 column 13: lone leading surrogate in hex escape"),
	E("\"\\ud83d", "line 1 column 7: EOF while parsing a string"),
	E("\"\\u12g4\"", "line 1 column 6: invalid escape"),
	E("\"\\u12\"", "line 1 column 6: EOF while parsing a string"),
	E("\"\\x\"", "line 1 column 3: invalid escape"),
	E("\"\\'\"", "line 1 column 3: invalid escape"),
	/* UTF-8 */
	E("\"\xc3\"", "line 1 column 3: invalid unicode code point"),
	E("\"\xc0\xaf\"", "line 1 column 4: invalid unicode code point"),
	E("\"\xe0\x80\xaf\"", "line 1 column 5: invalid unicode code point"),
	E("\"\xed\xa0\x80\"", "line 1 column 5: invalid unicode code point"),
	E("\"\xf4\x90\x80\x80\"", "line 1 column 6: invalid unicode code point"),
	E("\"\xf5\x80\x80\x80\"", "line 1 column 6: invalid unicode code point"),
	E("\"\x80\"", "line 1 column 3: invalid unicode code point"),
	E("\"\xff\"", "line 1 column 3: invalid unicode code point"),
	E("{\"\xc3\":1}", "line 1 column 4: invalid unicode code point"),
	/* raw control characters */
	E("\"a\tb\"", "line 1 column 3: control character (\\u0000-\\u001F) "
		      "found while parsing a string"),
	E("\"a\nb\"", "line 2 column 0: control character (\\u0000-\\u001F) "
		      "found while parsing a string"),
	E("\"a\0b\"", "line 1 column 3: control character (\\u0000-\\u001F) "
		      "found while parsing a string"),
	E("\"abc", "line 1 column 4: EOF while parsing a string"),
};

TEST(errors)
{
	for (size_t i = 0; i < N_ELEMS(errors); i++) {
		const struct bad *b = &errors[i];
		struct json_value *v = (struct json_value *)&v; /* not NULL */
		struct ek_error err = { 0 };
		int rc = parse_exact(b->in, b->in_len, &v, &err);

		CHECK(rc == EK_EFORMAT && err.code == EK_EFORMAT && !v);
		if (rc == EK_EFORMAT)
			CHECK_STR(err.msg, b->msg);
		else
			show("accepted", b->in, b->in_len);
		if (rc == 0)
			json_free(v);
	}
}

/* Parsing only buf[0..len) of a longer buffer must not look further. */
TEST(stops_at_len)
{
	struct json_value *v = NULL;

	CHECK(json_parse("123456", 3, &v, NULL) == 0 && v &&
	      v->type == JSON_U64 && v->u == 123);
	json_free(v);
	CHECK(json_parse("[1]", 2, &v, NULL) == EK_EFORMAT && !v);
	CHECK(json_parse("\"ab\"", 3, &v, NULL) == EK_EFORMAT);
	CHECK(json_parse("true", 3, &v, NULL) == EK_EFORMAT);
	CHECK(json_parse("1e5", 2, &v, NULL) == EK_EFORMAT);
	CHECK(json_parse("\"\\u00e9\"", 6, &v, NULL) == EK_EFORMAT);
	CHECK(json_parse(NULL, 0, &v, NULL) == EK_EFORMAT && !v);
}

/* json_parse_strict refuses an object with two members of one key, at
 * any depth, naming the key; json_parse keeps the last (serde's
 * BTreeMap); keys equal up to a NUL are not equal. */
TEST(strict_duplicates)
{
	static const char dup[] = "{\"a\":1,\"b\":{\"c\":[{\"k\":1,\"k\":2}]}}";
	static const char nul[] = "{\"k\":1,\"k\\u0000\":2}";
	struct ek_error err;
	struct json_value *v = NULL;

	CHECK(json_parse_strict(LIT(dup), &v, &err) == EK_EFORMAT && !v);
	CHECK_STR(err.msg, "line 1 column 30: duplicate key \"k\"");
	CHECK(json_parse_strict(LIT("{\"a\":1,\"a\":1}"), &v, &err) == EK_EFORMAT);
	CHECK(json_parse(LIT(dup), &v, &err) == 0 && v);
	json_free(v);
	v = NULL;
	CHECK(json_parse_strict(LIT(nul), &v, &err) == 0 && v &&
	      v->obj.len == 2);
	json_free(v);
	CHECK(json_parse_strict(LIT("{\"b\":1,\"a\":2,\"c\":[]}"), &v, &err) == 0 &&
	      v && v->obj.len == 3);
	json_free(v);
}

/* The tree's number types, as serde_json's Number holds them. */
TEST(number_types)
{
	struct json_value *v;

	CHECK(json_parse(LIT("18446744073709551615"), &v, NULL) == 0 &&
	      v->type == JSON_U64 && v->u == UINT64_MAX);
	json_free(v);
	CHECK(json_parse(LIT("-9223372036854775808"), &v, NULL) == 0 &&
	      v->type == JSON_I64 && v->i == INT64_MIN);
	json_free(v);
	CHECK(json_parse(LIT("-1"), &v, NULL) == 0 && v->type == JSON_I64 &&
	      v->i == -1);
	json_free(v);
	CHECK(json_parse(LIT("0"), &v, NULL) == 0 && v->type == JSON_U64 &&
	      v->u == 0);
	json_free(v);
	CHECK(json_parse(LIT("-0"), &v, NULL) == 0 && v->type == JSON_F64 &&
	      v->f == 0 && signbit(v->f));
	json_free(v);
	CHECK(json_parse(LIT("18446744073709551616"), &v, NULL) == 0 &&
	      v->type == JSON_F64 && v->f == 18446744073709551616.0);
	json_free(v);
	CHECK(json_parse(LIT("-9223372036854775809"), &v, NULL) == 0 &&
	      v->type == JSON_F64 && v->f == -9223372036854775808.0);
	json_free(v);
	CHECK(json_parse(LIT("1.0"), &v, NULL) == 0 && v->type == JSON_F64);
	json_free(v);
}

TEST(strings_keep_nul)
{
	struct json_value *v = NULL;
	const struct json_member *m;

	CHECK(json_parse(LIT("{\"k\\u0000ey\":\"a\\u0000b\"}"), &v, NULL) == 0);
	if (!v)
		return;
	CHECK(v->type == JSON_OBJECT && v->obj.len == 1);
	m = &v->obj.members[0];
	CHECK(m->key_len == 4 && memcmp(m->key, "k\0ey", 5) == 0);
	CHECK(m->value->type == JSON_STRING && m->value->str.len == 3);
	CHECK(memcmp(m->value->str.ptr, "a\0b", 4) == 0);
	json_free(v);
}

/* ---- nesting depth --------------------------------------------------- */

/* n levels of open, then a scalar, then n levels of close. */
static char *nested(const char *open, const char *close, size_t n,
		    size_t *len)
{
	size_t lo = strlen(open), lc = strlen(close), k = 0;
	char *s = malloc(n * (lo + lc) + 2);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++, k += lo)
		memcpy(s + k, open, lo);
	s[k++] = '1';
	for (size_t i = 0; i < n; i++, k += lc)
		memcpy(s + k, close, lc);
	*len = k;
	return s;
}

static int parse_nested(const char *open, const char *close, size_t n,
			struct ek_error *err)
{
	struct json_value *v = NULL;
	size_t len = 0;
	char *s = nested(open, close, n, &len);
	int rc = s ? parse_exact(s, len, &v, err) : EK_ENOMEM;

	json_free(v);
	free(s);
	return rc;
}

/* serde_json's recursion budget is 128 and runs out on entering the
 * 128th container: 127 levels parse, 128 do not. */
TEST(depth_limit)
{
	struct ek_error err = { 0 };

	CHECK(parse_nested("[", "]", 127, &err) == 0);
	CHECK(parse_nested("[", "]", 128, &err) == EK_EFORMAT);
	CHECK_STR(err.msg, "line 1 column 128: recursion limit exceeded");
	CHECK(parse_nested("{\"a\":", "}", 127, &err) == 0);
	CHECK(parse_nested("{\"a\":", "}", 128, &err) == EK_EFORMAT);
	CHECK_STR(err.msg, "line 1 column 636: recursion limit exceeded");
	CHECK(parse_nested("[{\"a\":", "}]", 63, &err) == 0);
	CHECK(parse_nested("[{\"a\":", "}]", 64, &err) == EK_EFORMAT);
	/* far deeper input fails cleanly instead of using up the stack */
	CHECK(parse_nested("[", "]", 1000000, &err) == EK_EFORMAT);
}

/* ---- f64 formatting -------------------------------------------------- */

struct fmt {
	double f;
	const char *want;
};

#define F(f, want) { f, want }

/* Rust ryu / serde_json output for each value. */
static const struct fmt formats[] = {
	F(0.0, "0.0"),
	F(-0.0, "-0.0"),
	F(1.0, "1.0"),
	F(-1.0, "-1.0"),
	F(0.5, "0.5"),
	F(-0.25, "-0.25"),
	F(100.0, "100.0"),
	F(2000.0, "2000.0"),
	F(123456.0, "123456.0"),
	F(123456789.125, "123456789.125"),
	F(-1.5e-5, "-0.000015"),
	F(1.25e-5, "0.0000125"),
	F(1e-4, "0.0001"),
	F(1e-5, "0.00001"),
	F(1e-6, "1e-6"),
	F(1e-7, "1e-7"),
	F(1.23e-18, "1.23e-18"),
	F(1e15, "1000000000000000.0"),
	F(4.5e15, "4500000000000000.0"),
	F(9007199254740992.0, "9007199254740992.0"),
	F(1234567890123456.8, "1234567890123456.8"),
	F(1e16, "1e16"),
	F(1.2345678901234566e16, "1.2345678901234566e16"),
	F(9223372036854775808.0, "9.223372036854776e18"),
	F(18446744073709551616.0, "1.8446744073709552e19"),
	F(1e21, "1e21"),
	F(1e22, "1e22"),
	F(1e23, "1e23"),
	F(1.5e300, "1.5e300"),
	F(7.63e149, "7.63e149"),
	F(0.1, "0.1"),
	F(0.3, "0.3"),
	F(1.0 / 3, "0.3333333333333333"),
	F(2.0 / 3, "0.6666666666666666"),
	F(0.00012345, "0.00012345"),
	F(0x1p-20, "9.5367431640625e-7"),
	F(0x1p63, "9.223372036854776e18"),
	F(0x1p1023, "8.98846567431158e307"),
	F(1.7976931348623157e308, "1.7976931348623157e308"),
	F(2.2250738585072014e-308, "2.2250738585072014e-308"),
	F(2.225073858507201e-308, "2.225073858507201e-308"),
	F(0x1p-1021, "4.450147717014403e-308"),
	F(1e-323, "1e-323"),
	F(5e-324, "5e-324"),
	/* powers of two where the double below is nearer than the one
	 * above: the nearest 16 digits fall outside, the next ones up don't */
	F(0x1p-1017, "7.120236347223045e-307"),
	F(0x1p-1007, "7.291122019556398e-304"),
	F(0x1p-957, "8.209073602596753e-289"),
	/* serde_json prints non-finite floats as null */
	F(HUGE_VAL, "null"),
	F(-HUGE_VAL, "null"),
	F(NAN, "null"),
};

TEST(format_f64)
{
	char buf[32];

	for (size_t i = 0; i < N_ELEMS(formats); i++) {
		size_t n = json_format_f64(formats[i].f, buf);

		CHECK_STR(buf, formats[i].want);
		CHECK(n == strlen(formats[i].want));
	}
}

/* Significant digits in a decimal string: "0.000015" has 2, "2000.0" 1. */
static int sig_digits(const char *s)
{
	int n = 0, zeros = 0;

	while (*s == '-' || *s == '0' || *s == '.')
		s++;
	for (; *s && *s != 'e'; s++) {
		if (*s == '.')
			continue;
		zeros = *s == '0' ? zeros + 1 : 0;
		n++;
	}
	return n - zeros;
}

static uint64_t rng_state = 0x243F6A8885A308D3u; /* fixed seed */

static uint64_t next_rand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The output reads back as the same double (bit for bit) and has no
 * more significant digits than "%.17g" needs. ("%.17g" can be shorter
 * in characters: ryu writes 2^52 as "4503599627370496.0" and 1.5e-5 as
 * "0.000015", so the digits are compared, not the lengths.) */
static bool check_round_trip(uint64_t bits)
{
	char out[32], ref[40];
	uint64_t back_bits;
	double f, back;
	size_t n;

	memcpy(&f, &bits, sizeof(f));
	n = json_format_f64(f, out);
	back = strtod(out, NULL);
	memcpy(&back_bits, &back, sizeof(back));
	snprintf(ref, sizeof(ref), "%.17g", f);
	if (back_bits == bits && n == strlen(out) && n < 25 &&
	    sig_digits(out) <= sig_digits(ref) && sig_digits(out) <= 17)
		return true;
	fprintf(stderr, "  bits %016llx: got %s, %%.17g %s\n",
		(unsigned long long)bits, out, ref);
	return false;
}

TEST(format_f64_round_trip)
{
	int bad = 0;

	for (int i = 0; i < 6000; i++) {
		uint64_t bits = next_rand();

		/* half of them in the range where the plain layouts apply */
		if (i & 1)
			bits = (bits & 0x800FFFFFFFFFFFFFu) |
			       (uint64_t)(1023 - 60 + bits % 120) << 52;
		if (((bits >> 52) & 0x7FF) == 0x7FF)
			continue; /* inf and NaN */
		bad += !check_round_trip(bits);
	}
	CHECK(bad == 0);
}

/* ---- building and printing ------------------------------------------- */

TEST(build_keeps_insertion_order)
{
	struct json_value *o = json_new_object(), *a = json_new_array();
	char *out;
	size_t len = 0;

	CHECK(o && a);
	CHECK(json_object_push(o, "zeta", json_new_u64(UINT64_MAX)) == 0);
	CHECK(json_array_push(a, json_new_bool(true)) == 0);
	CHECK(json_array_push(a, json_new_stringn("x\0y", 3)) == 0);
	CHECK(json_array_push(a, json_new_null()) == 0);
	CHECK(json_object_push(o, "alpha", a) == 0);
	CHECK(json_object_push(o, "zeta", json_new_string("again")) == 0);
	out = to_text(o, -1, &len);
	CHECK(same_bytes(out, len, LIT("{\"zeta\":18446744073709551615,"
		"\"alpha\":[true,\"x\\u0000y\",null],\"zeta\":\"again\"}"), "", 0));
	free(out);
	/* first match wins; wrong type or missing key gives NULL */
	CHECK(json_object_get(o, "zeta")->type == JSON_U64);
	CHECK(json_object_get(o, "alpha") == a);
	CHECK(!json_object_get(o, "alph"));
	CHECK(!json_object_get(a, "alpha"));
	json_free(o);
	json_free(NULL);
}

TEST(push_misuse)
{
	struct json_value *a = json_new_array(), *o = json_new_object();

	/* a failed constructor passed straight in */
	CHECK(json_array_push(a, NULL) == EK_ENOMEM);
	CHECK(json_object_push(o, "k", NULL) == EK_ENOMEM);
	/* wrong container: the item is freed (ASan would see a leak) */
	CHECK(json_array_push(o, json_new_null()) == EK_EINVAL);
	CHECK(json_object_push(a, "k", json_new_null()) == EK_EINVAL);
	CHECK(a->arr.len == 0 && o->obj.len == 0);
	CHECK(!json_new_string(NULL));
	json_free(a);
	json_free(o);
}

TEST(write_escaping)
{
	static const char raw[] = "\x01\b\t\n\x0b\f\r\x1f \"\\/\x7f" "é";
	struct json_value *o = json_new_object();
	char *out;
	size_t len = 0;

	CHECK(json_object_push(o, "q\"\n", json_new_stringn(raw, sizeof(raw) - 1))
	      == 0);
	out = to_text(o, -1, &len);
	CHECK(same_bytes(out, len, LIT("{\"q\\\"\\n\":\"\\u0001\\b\\t\\n"
		"\\u000b\\f\\r\\u001f \\\"\\\\/\x7f" "é\"}"), "", 0));
	free(out);
	json_free(o);
}

TEST(write_special_floats)
{
	struct json_value *a = json_new_array(), *f;
	static const double vals[] = { NAN, HUGE_VAL, -0.0, 2e3 };
	char *out;
	size_t len = 0;

	for (size_t i = 0; i < N_ELEMS(vals); i++) {
		f = json_new_null();
		if (f) {
			f->type = JSON_F64;
			f->f = vals[i];
		}
		CHECK(json_array_push(a, f) == 0);
	}
	out = to_text(a, -1, &len);
	CHECK(same_bytes(out, len, LIT("[null,null,-0.0,2000.0]"), "", 0));
	free(out);
	json_free(a);
}

/* Pretty layout for shapes the golden vector lacks, at several levels:
 * the first line is never indented, the rest shift by two a level. */
TEST(pretty_shapes)
{
	static const char in[] = "{\"a\":[],\"b\":{},\"c\":[[1,[]],{\"d\":{}}],"
				 "\"e\":-5}";

	CHECK(converts(LIT("[]"), 0, LIT("[]")));
	CHECK(converts(LIT("{}"), 3, LIT("{}")));
	CHECK(converts(LIT("\"x\""), 2, LIT("\"x\"")));
	CHECK(converts(LIT("[1]"), 0, LIT("[\n  1\n]")));
	CHECK(converts(LIT("[1]"), 2, LIT("[\n      1\n    ]")));
	CHECK(converts(LIT(in), 0, LIT(
		"{\n"
		"  \"a\": [],\n"
		"  \"b\": {},\n"
		"  \"c\": [\n"
		"    [\n"
		"      1,\n"
		"      []\n"
		"    ],\n"
		"    {\n"
		"      \"d\": {}\n"
		"    }\n"
		"  ],\n"
		"  \"e\": -5\n"
		"}")));
}

TEST(clone_is_deep)
{
	struct json_value *v = NULL, *c;
	char *out;
	size_t len = 0;

	CHECK(json_parse(LIT(metadata_in), &v, NULL) == 0);
	c = json_clone(v);
	CHECK(c && c != v);
	json_free(v); /* the clone must not share anything */
	out = to_text(c, -1, &len);
	CHECK(same_bytes(out, len, LIT(metadata_compact), "", 0));
	free(out);
	json_free(c);
	CHECK(!json_clone(NULL));
}

/* json_format_f64 and json_parse must not follow LC_NUMERIC. Only runs
 * where a comma-decimal locale is installed. */
TEST(locale_independent)
{
	static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8",
					     "fr_FR.UTF-8", "fr_FR.utf8" };
	const char *set = NULL;
	char buf[32];

	for (size_t i = 0; i < N_ELEMS(names) && !set; i++)
		set = setlocale(LC_NUMERIC, names[i]);
	if (!set) {
		printf("locale_independent: no comma-decimal locale, skipped\n");
		return;
	}
	json_format_f64(1.5, buf);
	CHECK_STR(buf, "1.5");
	json_format_f64(1.2345678901234566e16, buf);
	CHECK_STR(buf, "1.2345678901234566e16");
	CHECK(converts(LIT("[1.5,2e3,-1.5e-5]"), -1, LIT("[1.5,2000.0,-0.000015]")));
	setlocale(LC_NUMERIC, "C");
}

/* ---- allocation failure ---------------------------------------------- */

/* Fail the n-th allocation of an operation, for every n, and check that
 * it reports EK_ENOMEM and frees everything. This replaces glibc's
 * malloc in this test binary, so it is left out under sanitizers, which
 * bring their own. */
#if defined(__SANITIZE_ADDRESS__)
#define NO_MALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NO_MALLOC_HOOK 1
#endif
#endif

#if defined(__GLIBC__) && !defined(NO_MALLOC_HOOK)
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static bool fi_active;   /* count (and fail) only inside the operation */
static long fi_fail_at;  /* which allocation fails */
static long fi_count;    /* allocations seen */
static long fi_live;     /* allocated and not yet freed */

static bool fi_fail(void)
{
	return fi_active && fi_count++ == fi_fail_at;
}

void *malloc(size_t n)
{
	void *p = fi_fail() ? NULL : __libc_malloc(n);

	fi_live += p && fi_active;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = fi_fail() ? NULL : __libc_calloc(n, size);

	fi_live += p && fi_active;
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p = fi_fail() ? NULL : __libc_realloc(old, n);

	fi_live += p && !old && fi_active;
	return p;
}

void free(void *p)
{
	fi_live -= p && fi_active;
	__libc_free(p);
}

static int op_parse(void)
{
	struct json_value *v = NULL;
	int rc = json_parse(LIT(metadata_in), &v, NULL);

	json_free(v);
	return rc;
}

/* Clone, rebuild describe's object and print it. */
static int op_build(void)
{
	static struct json_value *custom;
	struct json_value *m = NULL;
	char *out = NULL;
	size_t len;
	int rc;

	if (!custom) {
		bool was = fi_active;

		fi_active = false; /* kept for the whole run, not counted */
		json_parse(LIT(metadata_in), &custom, NULL);
		fi_active = was;
	}
	rc = custom ? build_metadata(custom, &m) : EK_EINVAL;
	if (!rc) {
		out = to_text(m, 1, &len);
		rc = out ? 0 : EK_ENOMEM;
	}
	free(out);
	json_free(m);
	return rc;
}

static void fault_sweep(int (*op)(void))
{
	for (long n = 0; n < 100000; n++) {
		int rc;

		fi_count = 0;
		fi_live = 0;
		fi_fail_at = n;
		fi_active = true;
		rc = op();
		fi_active = false;
		CHECK(fi_live == 0);
		if (fi_count <= n) { /* nothing failed: must have worked */
			CHECK(rc == 0);
			return;
		}
		CHECK(rc == EK_ENOMEM);
		if (rc != EK_ENOMEM || fi_live)
			fprintf(stderr, "  failing allocation %ld\n", n);
	}
	CHECK(!"fault_sweep did not finish");
}

/* valgrind and preloaded allocators replace malloc again, and then the
 * hook sees nothing. Calls go through volatile pointers so that the
 * compiler cannot drop the malloc/free pair. */
static bool hook_works(void)
{
	void *(*volatile alloc)(size_t) = malloc;
	void (*volatile release)(void *) = free;
	void *p, *q;

	fi_count = 0;
	fi_live = 0;
	fi_fail_at = 1;
	fi_active = true;
	p = alloc(1);
	q = alloc(1);
	release(p);
	fi_active = false;
	release(q);
	return p && !q && fi_count == 2 && fi_live == 0;
}

TEST(allocation_failure)
{
	if (!hook_works()) {
		printf("allocation_failure: malloc is not ours here, skipped\n");
		return;
	}
	fault_sweep(op_parse);
	fault_sweep(op_build);
}
#else
TEST(allocation_failure)
{
	printf("allocation_failure: malloc hook off under sanitizers\n");
}
#endif

int main(void)
{
	RUN(golden_compact);
	RUN(golden_pretty);
	RUN(describe_metadata_level1);
	RUN(conversions);
	RUN(errors);
	RUN(stops_at_len);
	RUN(number_types);
	RUN(strict_duplicates);
	RUN(strings_keep_nul);
	RUN(depth_limit);
	RUN(format_f64);
	RUN(format_f64_round_trip);
	RUN(build_keeps_insertion_order);
	RUN(push_misuse);
	RUN(write_escaping);
	RUN(write_special_floats);
	RUN(pretty_shapes);
	RUN(clone_is_deep);
	RUN(locale_independent);
	RUN(allocation_failure);
	return unit_done();
}
