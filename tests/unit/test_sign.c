/* test_sign.c: the signature section (sign.c) against EIF-FORMAT.md 9.2's
 * official CBOR vectors and three signed EIFs made by AWS's reference
 * builder (tests/unit/data/sign/p256, p384, p521: cert.pem, key.pem, the
 * signature section section.cbor, describe's SigningCertificate and PCR8).
 * Other fixtures there were made with the openssl CLI: other-p256 (a pair
 * that does not match the vectors), rsa, ed25519, secp256k1, names (an
 * issuer with a quote, a tab, a repeated OU and a non-ASCII value),
 * big (an 18 KB certificate), p256/key-encrypted.pem (passphrase
 * "secret"), p384/key-pkcs8.pem, vector-b-cert.pem (EIF-FORMAT.md 16.3).
 * Run from the repository root. */
#include "base/internal.h"

#include <stdio.h>

#include <openssl/err.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "eif/cose.h"
#include "eif/sign.h"
#include "unit.h"

#define DATA "tests/unit/data/sign/"

static const char *const curves[] = { "p256", "p384", "p521" };
static const size_t coords[] = { 32, 48, 66 };

/* PCR0 of every vector image (one kernel, cmdline, one ramdisk). */
static const char vec_pcr0[] =
	"f747ae356bd32914b8a5e3155c8f45221979a938e20a06e889e35d3e83ed0e80"
	"25173c9447909771cadddc3b6f84563a";

/* ---- helpers ---- */

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = 0;
	}
	fclose(f);
	return buf;
}

static uint8_t *slurp_vec(const char *curve, const char *file, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), DATA "%s/%s", curve, file);
	return slurp(path, len);
}

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (n < max && sscanf(s + 2 * n, "%2x", &v) == 1)
		out[n++] = (uint8_t)v;
	return n;
}

static char *tohex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = 0;
	return out;
}

static void trim_newline(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

static char *json_compact(const struct json_value *v)
{
	struct strbuf sb;

	strbuf_init(&sb);
	if (v)
		json_write(&sb, v, -1);
	return strbuf_detach(&sb, NULL);
}

/* The test's own reader for a well-formed section: pem and cose arrays
 * (shortest heads only, 1 entry). Returns false on anything else. */
static bool rd_u8s(const uint8_t *p, size_t len, size_t *pos, uint8_t *out,
		   size_t *n)
{
	size_t cnt, i;

	if (*pos + 3 <= len && p[*pos] == 0x99) {
		cnt = (size_t)p[*pos + 1] << 8 | p[*pos + 2];
		*pos += 3;
	} else if (*pos + 2 <= len && p[*pos] == 0x98) {
		cnt = p[*pos + 1];
		*pos += 2;
	} else {
		return false;
	}
	for (i = 0; i < cnt; i++) {
		if (*pos < len && p[*pos] < 24)
			out[i] = p[(*pos)++];
		else if (*pos + 1 < len && p[*pos] == 0x18)
			out[i] = p[*pos + 1], *pos += 2;
		else
			return false;
	}
	*n = cnt;
	return true;
}

struct parts {
	uint8_t pem[4096], cose[4096];
	size_t pem_len, cose_len;
	size_t pem_arr, sig_key, cose_arr; /* offsets in the section */
};

static bool split(const uint8_t *sec, size_t len, struct parts *pt)
{
	size_t pos = 22; /* 81 a2 73 "signing_certificate" */

	pt->pem_arr = pos;
	if (len < pos || memcmp(sec, "\x81\xa2\x73signing_certificate", 22) ||
	    !rd_u8s(sec, len, &pos, pt->pem, &pt->pem_len))
		return false;
	pt->sig_key = pos;
	if (pos + 10 > len || memcmp(sec + pos, "\x69signature", 10))
		return false;
	pos += 10;
	pt->cose_arr = pos;
	return rd_u8s(sec, len, &pos, pt->cose, &pt->cose_len) && pos == len;
}

static uint8_t *build(const struct parts *pt, size_t *len)
{
	struct strbuf sb;

	strbuf_init(&sb);
	sign_encode_section(&sb, pt->pem, pt->pem_len, pt->cose, pt->cose_len);
	return (uint8_t *)strbuf_detach(&sb, len);
}

/* in[0..len) with del bytes at off replaced by ins[0..ins_len). */
static uint8_t *splice(const uint8_t *in, size_t len, size_t off, size_t del,
		       const void *ins, size_t ins_len, size_t *out_len)
{
	uint8_t *out = malloc(len - del + ins_len + 1);

	memcpy(out, in, off);
	memcpy(out + off, ins, ins_len);
	memcpy(out + off + ins_len, in + off + del, len - off - del);
	*out_len = len - del + ins_len;
	return out;
}

static int parse_rc(const uint8_t *sec, size_t len, struct ek_error *err)
{
	struct sig_info info;
	int rc = sign_parse_section(sec, len, &info, err);

	if (rc == 0)
		sig_info_release(&info);
	return rc;
}

/* ---- the official CBOR vectors (EIF-FORMAT.md 9.2, 16.3) ---- */

TEST(cbor_signature_vector)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n"
				  "-----END CERTIFICATE-----\n";
	static const uint8_t cose[] = { 0xd2, 0x84, 0x44, 0xa1, 0x01,
					0x38, 0x22, 0xa0, 0x40, 0x40 };
	static const char want[] =
		"81a2737369676e696e675f6365727469666963617465983b182d182d18"
		"2d182d182d1842184518471849184e1820184318451852185418491846"
		"18491843184118541845182d182d182d182d182d0a184d184918491842"
		"0a182d182d182d182d182d1845184e1844182018431845185218541849"
		"184618491843184118541845182d182d182d182d182d0a697369676e61"
		"747572658a18d21884184418a1011838182218a018401840";
	char hex[1024];
	struct strbuf sb;

	CHECK(sizeof(pem) - 1 == 59);
	strbuf_init(&sb);
	sign_encode_section(&sb, (const uint8_t *)pem, sizeof(pem) - 1, cose,
			    sizeof(cose));
	CHECK(strbuf_ok(&sb) && sb.len * 2 < sizeof(hex));
	CHECK_STR(tohex((uint8_t *)sb.buf, sb.len, hex), want);
	strbuf_release(&sb);
}

TEST(cbor_pcr_info_vector)
{
	static const char want[] =
		"a26e72656769737465725f696e646578006e72656769737465725f7661"
		"6c75659830000102030405060708090a0b0c0d0e0f1011121314151617"
		"18181819181a181b181c181d181e181f1820182118221823182418251826"
		"182718281829182a182b182c182d182e182f";
	uint8_t value[48];
	char hex[512];
	struct strbuf sb;
	size_t i;

	for (i = 0; i < sizeof(value); i++)
		value[i] = (uint8_t)i;
	strbuf_init(&sb);
	sign_encode_pcr_info(&sb, 0, value, sizeof(value));
	CHECK(strbuf_ok(&sb));
	CHECK_STR(tohex((uint8_t *)sb.buf, sb.len, hex), want);
	strbuf_release(&sb);
}

/* 16.3: the payload for vector B's PCR0 and its ES384 Sig_structure. */
TEST(cbor_vector_b_payload_and_sig_structure)
{
	static const char pcr0[] =
		"e83678353ac5886bbeda424daf21bfdbd6654d28acb2364132132b4fdbf1d2d1"
		"b13626cc264c8d57bbbaa62dc246fc18";
	static const char want[] =
		"a26e72656769737465725f696e646578006e72656769737465725f76616c"
		"7565983018e8183618781835183a18c51888186b18be18da1842184d18af"
		"182118bf18db18d61865184d182818ac18b218361841183213182b184f18"
		"db18f118d218d118b11836182618cc1826184c188d185718bb18ba18a618"
		"2d18c2184618fc1818";
	static const uint8_t prot[] = { 0xa1, 0x01, 0x38, 0x22 };
	static const uint8_t head[] = { 0x84, 0x6a, 'S', 'i', 'g', 'n', 'a',
					't', 'u', 'r', 'e', '1', 0x44, 0xa1,
					0x01, 0x38, 0x22, 0x40, 0x58, 0x81 };
	uint8_t value[48];
	char hex[512];
	struct strbuf pl, tbs;

	CHECK(unhex(pcr0, value, sizeof(value)) == 48);
	strbuf_init(&pl);
	strbuf_init(&tbs);
	sign_encode_pcr_info(&pl, 0, value, sizeof(value));
	CHECK(pl.len == 129);
	CHECK_STR(tohex((uint8_t *)pl.buf, pl.len, hex), want);
	cose_encode_sig_structure(&tbs, prot, sizeof(prot), (uint8_t *)pl.buf,
				  pl.len);
	CHECK(tbs.len == 149);
	CHECK(memcmp(tbs.buf, head, sizeof(head)) == 0);
	CHECK(memcmp(tbs.buf + sizeof(head), pl.buf, pl.len) == 0);
	strbuf_release(&pl);
	strbuf_release(&tbs);
}

/* Splitting the reference sections and encoding them again gives the
 * same bytes: the encoder matches the official builder on real data. */
TEST(reencode_reference_sections)
{
	size_t i, len, len2;

	for (i = 0; i < ARRAY_SIZE(curves); i++) {
		uint8_t *sec = slurp_vec(curves[i], "section.cbor", &len), *again;
		struct parts pt;

		CHECK(sec && split(sec, len, &pt));
		again = build(&pt, &len2);
		CHECK(again && len2 == len && memcmp(again, sec, len) == 0);
		free(again);
		free(sec);
	}
}

/* ---- parsing the reference sections ---- */

static void check_reference(const char *curve)
{
	size_t len, plen, jlen, clen;
	uint8_t *sec = slurp_vec(curve, "section.cbor", &len);
	char *pcr8 = (char *)slurp_vec(curve, "pcr8.hex", &plen);
	char *want_json = (char *)slurp_vec(curve, "signing-certificate.json",
					    &jlen);
	uint8_t *pem = slurp_vec(curve, "cert.pem", &clen);
	struct ek_error err = { 0 };
	struct sig_info info;
	uint8_t pcr0[48];
	char hex[100], *json;

	CHECK(sec && pcr8 && want_json && pem);
	if (!sec || !pcr8 || !want_json || !pem)
		goto out;
	trim_newline(pcr8);
	trim_newline(want_json);
	unhex(vec_pcr0, pcr0, sizeof(pcr0));
	CHECK(sign_parse_section(sec, len, &info, &err) == 0);
	CHECK_STR(tohex(info.pcr8, 48, hex), pcr8);
	CHECK(info.cose_valid);
	CHECK(info.payload_ok && info.register_index == 0 &&
	      info.register_value_len == 48);
	CHECK(sig_info_matches_pcr0(&info, pcr0));
	pcr0[47] ^= 1;
	CHECK(!sig_info_matches_pcr0(&info, pcr0));
	CHECK(info.cert_pem_len == clen && info.cert_pem &&
	      memcmp(info.cert_pem, pem, clen) == 0 &&
	      info.cert_pem[clen] == 0);
	json = json_compact(info.cert_json);
	CHECK_STR(json, want_json);
	free(json);
	CHECK(ERR_peek_error() == 0);
	sig_info_release(&info);
out:
	free(sec);
	free(pcr8);
	free(want_json);
	free(pem);
}

TEST(parse_reference_p256) { check_reference("p256"); }
TEST(parse_reference_p384) { check_reference("p384"); }
TEST(parse_reference_p521) { check_reference("p521"); }

TEST(cert_file_pcr8)
{
	struct ek_error err = { 0 };
	uint8_t pcr8[48];
	char hex[100], path[256], *want;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(curves); i++) {
		want = (char *)slurp_vec(curves[i], "pcr8.hex", &n);
		CHECK(want);
		if (!want)
			continue;
		trim_newline(want);
		snprintf(path, sizeof(path), DATA "%s/cert.pem", curves[i]);
		CHECK(sign_cert_file_pcr8(path, pcr8, &err) == 0);
		CHECK_STR(tohex(pcr8, 48, hex), want);
		free(want);
	}
	CHECK(sign_cert_file_pcr8(DATA "vector-b-cert.pem", pcr8, &err) == 0);
	CHECK_STR(tohex(pcr8, 48, hex),
		  "a486d695a71bc0463025b18686de8cabf4a9a99a10f0f961ca35eb7f957c"
		  "d4c7f9ecb0fbd279ae64cda48083ac058223");
	CHECK(sign_cert_file_pcr8(DATA "nope.pem", pcr8, &err) == EK_EIO);
	CHECK(strstr(err.msg, "nope.pem") && strstr(err.msg, "No such file"));
	CHECK(sign_cert_file_pcr8(DATA "p256/key.pem", pcr8, &err) ==
	      EK_ECRYPTO);
}

TEST(cert_file_matches)
{
	struct ek_error err = { 0 };
	struct sig_info info;
	size_t len;
	uint8_t *sec = slurp_vec("p384", "section.cbor", &len);
	bool match = false;

	CHECK(sec && sign_parse_section(sec, len, &info, &err) == 0);
	CHECK(sign_cert_file_matches(DATA "p384/cert.pem", &info, &match,
				     &err) == 0 &&
	      match);
	CHECK(sign_cert_file_matches(DATA "p256/cert.pem", &info, &match,
				     &err) == 0 &&
	      !match);
	CHECK(sign_cert_file_matches(DATA "missing.pem", &info, &match,
				     &err) == EK_EIO);
	sig_info_release(&info);
	sig_info_release(&info); /* twice is fine */
	sig_info_release(NULL);
	free(sec);
}

/* ---- signing ---- */

static void check_roundtrip(size_t i, const char *key_file)
{
	char cert[256], key[256], hex[100], *pcr8_want;
	size_t len, ref_len, n;
	uint8_t pcr0[48], pcr8[48], *sec = NULL;
	uint8_t *ref = slurp_vec(curves[i], "section.cbor", &ref_len);
	struct ek_error err = { 0 };
	struct ek_signer *s = NULL;
	struct sig_info info;

	pcr8_want = (char *)slurp_vec(curves[i], "pcr8.hex", &n);
	CHECK(ref && pcr8_want);
	if (!ref || !pcr8_want)
		goto out;
	trim_newline(pcr8_want);
	snprintf(cert, sizeof(cert), DATA "%s/cert.pem", curves[i]);
	snprintf(key, sizeof(key), DATA "%s/%s", curves[i], key_file);
	unhex(vec_pcr0, pcr0, sizeof(pcr0));
	CHECK(signer_load(cert, key, &s, &err) == 0);
	if (!s)
		goto out;
	signer_pcr8(s, pcr8);
	CHECK_STR(tohex(pcr8, 48, hex), pcr8_want);
	CHECK(signer_make_section(s, pcr0, &sec, &len, &err) == 0);
	/* Identical to the reference up to the randomised r || s. */
	CHECK(len > 4 * coords[i] && ref_len > 4 * coords[i] &&
	      memcmp(sec, ref, ref_len - 4 * coords[i]) == 0);
	CHECK(sign_parse_section(sec, len, &info, &err) == 0);
	CHECK(info.cose_valid && info.payload_ok);
	CHECK(sig_info_matches_pcr0(&info, pcr0));
	CHECK(memcmp(info.pcr8, pcr8, 48) == 0);
	CHECK(ERR_peek_error() == 0);
	sig_info_release(&info);
out:
	signer_free(s);
	free(sec);
	free(ref);
	free(pcr8_want);
}

TEST(make_section_roundtrip)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(curves); i++)
		check_roundtrip(i, "key.pem");
	check_roundtrip(1, "key-pkcs8.pem");
	signer_free(NULL);
}

/* Two signatures of the same input differ (ECDSA is randomised). */
TEST(make_section_randomised)
{
	struct ek_error err = { 0 };
	struct ek_signer *s = NULL;
	uint8_t pcr0[48] = { 0 }, *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;

	CHECK(signer_load(DATA "p256/cert.pem", DATA "p256/key.pem", &s,
			  &err) == 0);
	if (!s)
		return;
	CHECK(signer_make_section(s, pcr0, &a, &la, &err) == 0);
	CHECK(signer_make_section(s, pcr0, &b, &lb, &err) == 0);
	CHECK(a && b && (la != lb || memcmp(a, b, la) != 0));
	free(a);
	free(b);
	signer_free(s);
}

TEST(issuer_name_rules)
{
	struct ek_error err = { 0 };
	struct ek_signer *s = NULL;
	struct sig_info info;
	uint8_t pcr0[48] = { 1 }, *sec = NULL;
	size_t len;
	char *json;

	CHECK(signer_load(DATA "names/cert.pem", DATA "names/key.pem", &s,
			  &err) == 0);
	if (!s)
		return;
	CHECK(signer_make_section(s, pcr0, &sec, &len, &err) == 0);
	CHECK(sign_parse_section(sec, len, &info, &err) == 0);
	CHECK(info.cose_valid && sig_info_matches_pcr0(&info, pcr0));
	json = json_compact(json_object_get(info.cert_json, "IssuerName"));
	/* sorted, last OU wins, '"' -> '\', tab -> "\t" (Rust Debug) */
	CHECK_STR(json, "{\"commonName\":\"a\\\\b\",\"localityName\":\"caf\xc3\xa9\","
			"\"organizationName\":\"tab\\\\there\","
			"\"organizationalUnitName\":\"y\"}");
	free(json);
	json = json_compact(json_object_get(info.cert_json, "Algorithm"));
	CHECK_STR(json, "\"ecdsa-with-SHA384\"");
	free(json);
	sig_info_release(&info);
	free(sec);
	signer_free(s);
}

/* A certificate too large for the 32 KiB section (big/cert.pem is an
 * 18 KB PEM: ~36 KB as CBOR uints). */
TEST(make_section_too_large)
{
	struct ek_error err = { 0 };
	struct ek_signer *s = NULL;
	uint8_t pcr0[48] = { 0 }, *sec = NULL;
	size_t len = 0;

	CHECK(signer_load(DATA "big/cert.pem", DATA "big/key.pem", &s, &err) ==
	      0);
	if (!s)
		return;
	CHECK(signer_make_section(s, pcr0, &sec, &len, &err) == EK_ELIMIT);
	CHECK(sec == NULL && strstr(err.msg, "32768"));
	signer_free(s);
}

/* ---- refusing bad signers ---- */

static int load_rc(const char *cert, const char *key, struct ek_error *err)
{
	struct ek_signer *s = (struct ek_signer *)err; /* must become NULL */
	int rc = signer_load(cert, key, &s, err);

	if (rc == 0)
		signer_free(s);
	else if (s)
		return 99;
	return rc;
}

TEST(signer_refusals)
{
	struct ek_error err = { 0 };

	CHECK(load_rc(DATA "p256/cert.pem", DATA "other-p256/key.pem",
		      &err) == EK_ECRYPTO);
	CHECK(strstr(err.msg, "other-p256/key.pem") &&
	      strstr(err.msg, "p256/cert.pem") && strstr(err.msg, "match"));
	CHECK(load_rc(DATA "p384/cert.pem", DATA "p256/key.pem", &err) ==
	      EK_ECRYPTO);
	CHECK(load_rc(DATA "rsa/cert.pem", DATA "rsa/key.pem", &err) ==
	      EK_ECRYPTO);
	CHECK_STR(err.msg, "private key '" DATA "rsa/key.pem': unsupported "
			   "key type (need EC P-256, P-384 or P-521)");
	CHECK(load_rc(DATA "ed25519/cert.pem", DATA "ed25519/key.pem",
		      &err) == EK_ECRYPTO);
	CHECK(strstr(err.msg, "unsupported key type"));
	CHECK(load_rc(DATA "secp256k1/cert.pem", DATA "secp256k1/key.pem",
		      &err) == EK_ECRYPTO);
	CHECK(strstr(err.msg, "unsupported key type"));
	CHECK(load_rc(DATA "p256/cert.pem", DATA "p256/key-encrypted.pem",
		      &err) == EK_ECRYPTO);
	CHECK(strstr(err.msg, "encrypted"));
	CHECK(load_rc(DATA "p256/key.pem", DATA "p256/key.pem", &err) ==
	      EK_ECRYPTO);
	CHECK(strstr(err.msg, "certificate '" DATA "p256/key.pem'"));
	CHECK(load_rc(DATA "p256/cert.pem", DATA "p256/cert.pem", &err) ==
	      EK_ECRYPTO);
	CHECK(strstr(err.msg, "private key '" DATA "p256/cert.pem'"));
	CHECK(load_rc(DATA "nope.pem", DATA "p256/key.pem", &err) == EK_EIO);
	CHECK(strstr(err.msg, "certificate '" DATA "nope.pem'") &&
	      strstr(err.msg, "No such file"));
	CHECK(load_rc(DATA "p256/cert.pem", DATA "nokey.pem", &err) == EK_EIO);
	CHECK(strstr(err.msg, "private key '" DATA "nokey.pem'") &&
	      strstr(err.msg, "No such file"));
	CHECK(load_rc(DATA "p256/cert.pem", DATA, &err) == EK_EIO);
	CHECK(ERR_peek_error() == 0);
}

/* ---- hostile sections ---- */

/* The reference section with its COSE object changed by edit(). */
static int parse_edited(void (*edit)(struct parts *), struct sig_info *info)
{
	struct ek_error err = { 0 };
	struct parts *pt = calloc(1, sizeof(*pt));
	size_t len, len2;
	uint8_t *sec = slurp_vec("p384", "section.cbor", &len), *sec2 = NULL;
	int rc = -100;

	if (sec && pt && split(sec, len, pt)) {
		edit(pt);
		sec2 = build(pt, &len2);
		rc = sign_parse_section(sec2, len2, info, &err);
	}
	free(sec);
	free(sec2);
	free(pt);
	return rc;
}

static void flip_sig(struct parts *pt) { pt->cose[pt->cose_len - 1] ^= 1; }
static void flip_payload(struct parts *pt) { pt->cose[44] ^= 1; }
static void es512_alg(struct parts *pt) { pt->cose[5] = 0x23; }
static void bad_payload(struct parts *pt) { pt->cose[9] = 0xa3; }
static void tag18(struct parts *pt)
{
	memmove(pt->cose + 1, pt->cose, pt->cose_len++);
	pt->cose[0] = 0xd2;
}
static void tag17(struct parts *pt)
{
	tag18(pt);
	pt->cose[0] = 0xd1;
}
static void short_rs(struct parts *pt) /* 58 60 <96> -> 58 5f <95> */
{
	pt->cose[pt->cose_len - 97]--;
	pt->cose_len--;
}
static void unprot_nonempty(struct parts *pt) { pt->cose[6] = 0xa1; }
static void junk_pem(struct parts *pt)
{
	memcpy(pt->pem, "hello\n", 6);
	pt->pem_len = 6;
}
static void nul_pem(struct parts *pt) { pt->pem[pt->pem_len - 1] = 0; }

TEST(cose_checks)
{
	struct sig_info info;
	uint8_t pcr0[48];

	unhex(vec_pcr0, pcr0, sizeof(pcr0));
	/* p384 COSE: 84 44 a1013822 a0 58 7e <payload: a2 ... 98 30 18 f7 ...>
	 * 58 60 <r||s> */
	CHECK(parse_edited(flip_sig, &info) == 0);
	CHECK(!info.cose_valid && info.payload_ok);
	CHECK(!sig_info_matches_pcr0(&info, pcr0));
	CHECK(info.cert_json && info.cert_pem);
	sig_info_release(&info);
	CHECK(parse_edited(flip_payload, &info) == 0);
	CHECK(!info.cose_valid && info.payload_ok);
	CHECK(!sig_info_matches_pcr0(&info, pcr0));
	sig_info_release(&info);
	CHECK(parse_edited(es512_alg, &info) == 0);
	CHECK(!info.cose_valid);
	sig_info_release(&info);
	CHECK(parse_edited(bad_payload, &info) == 0);
	CHECK(!info.cose_valid && !info.payload_ok);
	sig_info_release(&info);
	CHECK(parse_edited(tag18, &info) == 0);
	CHECK(info.cose_valid && sig_info_matches_pcr0(&info, pcr0));
	sig_info_release(&info);
	CHECK(parse_edited(tag17, &info) == EK_EFORMAT);
	CHECK(parse_edited(short_rs, &info) == 0);
	CHECK(!info.cose_valid);
	sig_info_release(&info);
	CHECK(parse_edited(unprot_nonempty, &info) == EK_EFORMAT);
	CHECK(parse_edited(junk_pem, &info) == EK_EFORMAT);
	CHECK(parse_edited(nul_pem, &info) == EK_EFORMAT);
	CHECK(ERR_peek_error() == 0);
}

TEST(format_errors)
{
	struct ek_error err = { 0 };
	size_t len, n2, i;
	uint8_t *sec = slurp_vec("p256", "section.cbor", &len), *b;
	struct parts pt;

	CHECK(sec && split(sec, len, &pt));
	if (!sec)
		return;
	for (i = 0; i < len; i++) /* every truncation */
		CHECK(parse_rc(sec, i, &err) == EK_EFORMAT);
	b = splice(sec, len, len, 0, "", 1, &n2); /* a trailing byte */
	CHECK(parse_rc(b, n2, &err) == EK_EFORMAT &&
	      strstr(err.msg, "1 bytes after"));
	free(b);
	/* first PEM item "18 2d": 256, then a non-shortest 45 */
	b = splice(sec, len, pt.pem_arr + 3, 2, "\x19\x01\x00", 3, &n2);
	CHECK(parse_rc(b, n2, &err) == EK_EFORMAT && strstr(err.msg, "CBOR"));
	free(b);
	b = splice(sec, len, pt.pem_arr + 3, 2, "\x19\x00\x2d", 3, &n2);
	CHECK(parse_rc(b, n2, &err) == EK_EFORMAT && strstr(err.msg, "CBOR"));
	free(b);
	b = splice(sec, len, pt.pem_arr + 3, 2, "\x38\x2d", 2, &n2);
	CHECK(parse_rc(b, n2, &err) == EK_EFORMAT && strstr(err.msg, "CBOR"));
	free(b);
	/* keys swapped: 81 a2 "signature" [cose] "signing_certificate" [pem] */
	b = malloc(len);
	memcpy(b, sec, 2);
	memcpy(b + 2, sec + pt.sig_key, len - pt.sig_key);
	memcpy(b + 2 + len - pt.sig_key, sec + 2, pt.sig_key - 2);
	CHECK(parse_rc(b, len, &err) == EK_EFORMAT && strstr(err.msg, "CBOR"));
	free(b);
	/* two entries: fine; a second entry of another shape: not */
	b = splice(sec, len, len, 0, sec + 1, len - 1, &n2);
	b[0] = 0x82;
	CHECK(parse_rc(b, n2, &err) == 0);
	free(b);
	b = splice(sec, len, len, 0, "\xa0", 1, &n2);
	b[0] = 0x82;
	CHECK(parse_rc(b, n2, &err) == EK_EFORMAT);
	free(b);
	/* indefinite-length outer array */
	b = splice(sec, len, len, 0, "\xff", 1, &n2);
	b[0] = 0x9f;
	CHECK(parse_rc(b, n2, &err) == EK_EFORMAT);
	free(b);
	CHECK(parse_rc((const uint8_t *)"\x80", 1, &err) == EK_EFORMAT);
	CHECK(parse_rc((const uint8_t *)"", 0, &err) == EK_EFORMAT);
	CHECK(parse_rc(sec, SIGN_SECTION_MAX + 1, &err) == EK_EFORMAT);
	free(sec);
}

/* Random byte changes: never a crash, leak or undefined behaviour. */
TEST(mutations_do_not_crash)
{
	struct ek_error err = { 0 };
	uint32_t x = 12345;
	size_t len, i, k;
	uint8_t *sec = slurp_vec("p521", "section.cbor", &len), *b = NULL;
	int ok = 0;

	CHECK(sec && (b = malloc(len)));
	if (!sec || !b) {
		free(sec);
		return;
	}
	for (i = 0; i < 3000; i++) {
		memcpy(b, sec, len);
		for (k = 0; k < 1 + i % 4; k++) {
			x = x * 1103515245 + 12345;
			b[(x >> 8) % len] = (uint8_t)(x >> 20);
		}
		x = x * 1103515245 + 12345;
		ok += parse_rc(b, len - (i % 7 == 0 ? (x >> 8) % len : 0),
			       &err) == 0;
	}
	CHECK(ok > 0);
	CHECK(ERR_peek_error() == 0);
	free(b);
	free(sec);
}

int main(void)
{
	RUN(cbor_signature_vector);
	RUN(cbor_pcr_info_vector);
	RUN(cbor_vector_b_payload_and_sig_structure);
	RUN(reencode_reference_sections);
	RUN(parse_reference_p256);
	RUN(parse_reference_p384);
	RUN(parse_reference_p521);
	RUN(cert_file_pcr8);
	RUN(cert_file_matches);
	RUN(make_section_roundtrip);
	RUN(make_section_randomised);
	RUN(issuer_name_rules);
	RUN(make_section_too_large);
	RUN(signer_refusals);
	RUN(cose_checks);
	RUN(format_errors);
	RUN(mutations_do_not_crash);
	return unit_done();
}
