/* json.c: the JSON value tree, a serde_json-compatible parser and printer.
 *
 * What this writes goes into EIF metadata sections that must be byte for
 * byte what eif_build writes, and describe must print what nitro-cli
 * prints. So every choice below copies serde_json 1.x (and ryu, for
 * floats), not what would be most natural in C, down to its error
 * messages and positions. The comments name the serde detail copied. */
#include "base/internal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "base/json.h"
#include "base/text.h"
#include "base/strbuf.h"

/* serde_json starts with remaining_depth = 128 and fails when entering a
 * container brings it to 0: 127 nested arrays/objects parse, 128 don't. */
#define JSON_DEPTH_BUDGET 128

/* ---- values ---------------------------------------------------------- */

static struct json_value *new_value(enum json_type type)
{
	struct json_value *v = calloc(1, sizeof(*v));

	if (v)
		v->type = type;
	return v;
}

struct json_value *json_new_null(void)
{
	return new_value(JSON_NULL);
}

struct json_value *json_new_bool(bool b)
{
	struct json_value *v = new_value(JSON_BOOL);

	if (v)
		v->b = b;
	return v;
}

struct json_value *json_new_u64(uint64_t u)
{
	struct json_value *v = new_value(JSON_U64);

	if (v)
		v->u = u;
	return v;
}

/* Copy len bytes and NUL-terminate, so keys and strings are also usable
 * as C strings when they hold no NUL. */
static char *dup_bytes(const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = malloc(len + 1);
	if (!p)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

struct json_value *json_new_stringn(const char *s, size_t len)
{
	struct json_value *v;
	char *p = dup_bytes(s, len);

	if (!p)
		return NULL;
	v = new_value(JSON_STRING);
	if (!v) {
		free(p);
		return NULL;
	}
	v->str.ptr = p;
	v->str.len = len;
	return v;
}

struct json_value *json_new_string(const char *s)
{
	return s ? json_new_stringn(s, strlen(s)) : NULL;
}

struct json_value *json_new_array(void)
{
	return new_value(JSON_ARRAY);
}

struct json_value *json_new_object(void)
{
	return new_value(JSON_OBJECT);
}

void json_free(struct json_value *v)
{
	size_t i;

	if (!v)
		return;
	switch (v->type) {
	case JSON_STRING:
		free(v->str.ptr);
		break;
	case JSON_ARRAY:
		for (i = 0; i < v->arr.len; i++)
			json_free(v->arr.items[i]);
		free(v->arr.items);
		break;
	case JSON_OBJECT:
		for (i = 0; i < v->obj.len; i++) {
			free(v->obj.members[i].key);
			json_free(v->obj.members[i].value);
		}
		free(v->obj.members);
		break;
	default:
		break;
	}
	free(v);
}


int json_array_push(struct json_value *arr, struct json_value *item)
{
	void *p;

	/* NULL item: a constructor failed in the caller's argument list. */
	if (!item)
		return EK_ENOMEM;
	if (!arr || arr->type != JSON_ARRAY) {
		json_free(item);
		return EK_EINVAL;
	}
	p = ek_grow(arr->arr.items, arr->arr.len, &arr->arr.alloc,
		    sizeof(*arr->arr.items), 4);
	if (!p) {
		json_free(item);
		return EK_ENOMEM;
	}
	arr->arr.items = p;
	arr->arr.items[arr->arr.len++] = item;
	return 0;
}

/* Append a member that owns key (klen bytes) and value; both are freed
 * on failure. Used by the parser and clone, whose keys may hold NUL. */
static int member_take(struct json_value *obj, char *key, size_t klen,
		       struct json_value *value)
{
	struct json_member *m;
	void *p;

	if (!key || !value)
		goto nomem;
	p = ek_grow(obj->obj.members, obj->obj.len, &obj->obj.alloc,
		    sizeof(*m), 4);
	if (!p)
		goto nomem;
	obj->obj.members = p;
	m = &obj->obj.members[obj->obj.len++];
	m->key = key;
	m->key_len = klen;
	m->value = value;
	return 0;
nomem:
	free(key);
	json_free(value);
	return EK_ENOMEM;
}

int json_object_push(struct json_value *obj, const char *key,
		     struct json_value *value)
{
	size_t klen;

	if (!obj || obj->type != JSON_OBJECT || !key) {
		json_free(value);
		return value ? EK_EINVAL : EK_ENOMEM;
	}
	klen = strlen(key);
	return member_take(obj, value ? dup_bytes(key, klen) : NULL, klen,
			   value);
}

struct json_value *json_object_get(const struct json_value *obj,
				   const char *key)
{
	size_t i, klen;

	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	klen = strlen(key);
	for (i = 0; i < obj->obj.len; i++) {
		const struct json_member *m = &obj->obj.members[i];

		if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
			return m->value;
	}
	return NULL;
}

static struct json_value *clone_array(const struct json_value *v)
{
	struct json_value *c = json_new_array();
	size_t i;

	for (i = 0; c && i < v->arr.len; i++) {
		if (json_array_push(c, json_clone(v->arr.items[i]))) {
			json_free(c);
			c = NULL;
		}
	}
	return c;
}

static struct json_value *clone_object(const struct json_value *v)
{
	struct json_value *c = json_new_object();
	size_t i;

	for (i = 0; c && i < v->obj.len; i++) {
		const struct json_member *m = &v->obj.members[i];

		/* Not json_object_push: the key may contain NUL bytes. */
		if (member_take(c, dup_bytes(m->key, m->key_len), m->key_len,
				json_clone(m->value))) {
			json_free(c);
			c = NULL;
		}
	}
	return c;
}

struct json_value *json_clone(const struct json_value *v)
{
	struct json_value *c;

	if (!v)
		return NULL;
	switch (v->type) {
	case JSON_STRING:
		return json_new_stringn(v->str.ptr, v->str.len);
	case JSON_ARRAY:
		return clone_array(v);
	case JSON_OBJECT:
		return clone_object(v);
	default:
		c = new_value(v->type);
		if (c)
			*c = *v; /* scalars: the union holds everything */
		return c;
	}
}

/* ---- parser ---------------------------------------------------------- */

struct parser {
	const unsigned char *s;
	size_t len;
	size_t pos;
	unsigned depth_left;
	bool no_duplicates;     /* json_parse_strict */
	struct ek_error *err;
};

/* Report a syntax error caused by the byte at offset `at` (or by the end
 * of input) where serde_json would: it counts lines and columns over the
 * input up to and including that byte, so a bad byte is at its 1-based
 * column, and a bad newline is at column 0 of the next line. */
static int perr(const struct parser *p, size_t at, const char *reason)
{
	size_t i, end, line = 1, line_start = 0;

	end = at < p->len ? at + 1 : p->len;
	for (i = 0; i < end; i++) {
		if (p->s[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	}
	return ek_fail(p->err, EK_EFORMAT, "line %zu column %zu: %s", line,
		       end - line_start, reason);
}

static int nomem(const struct parser *p)
{
	return ek_fail(p->err, EK_ENOMEM, "out of memory parsing JSON");
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? p->s[p->pos] : -1;
}

/* JSON whitespace only: no form feed, no vertical tab, no comments. */
static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int parse_value(struct parser *p, struct json_value **out);

static int parse_literal(struct parser *p, const char *word,
			 enum json_type type, struct json_value **out)
{
	size_t i, n = strlen(word);
	struct json_value *v;

	for (i = 0; i < n; i++) {
		if (p->pos + i >= p->len)
			return perr(p, p->len, "EOF while parsing a value");
		if (p->s[p->pos + i] != (unsigned char)word[i])
			return perr(p, p->pos + i, "expected ident");
	}
	v = new_value(type);
	if (!v)
		return nomem(p);
	v->b = word[0] == 't';
	p->pos += n;
	*out = v;
	return 0;
}

/* Step over bytes that stand for themselves; stop at '"', '\\' or end.
 * UTF-8 is checked once the string is complete, as serde_json does, so
 * that a broken string reports the same error as there. */
static int scan_raw(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];

		if (c == '"' || c == '\\')
			return 0;
		if (c < 0x20)
			return perr(p, p->pos, "control character "
				    "(\\u0000-\\u001F) found while parsing a string");
		p->pos++;
	}
	return 0;
}

static int read_hex4(const struct parser *p, size_t at, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	if (at > p->len || p->len - at < 4)
		return perr(p, p->len, "EOF while parsing a string");
	for (i = 0; i < 4; i++) {
		int c = p->s[at + i];

		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return perr(p, at + i, "invalid escape");
		v = v << 4 | (unsigned)c;
	}
	*ret = v;
	return 0;
}

/* The second half of a surrogate pair must come next. */
static int expect_byte(const struct parser *p, size_t at, unsigned char c)
{
	if (at >= p->len)
		return perr(p, p->len, "EOF while parsing a string");
	if (p->s[at] != c)
		return perr(p, at, "unexpected end of hex escape");
	return 0;
}

static void put_utf8(struct strbuf *sb, unsigned cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | cp >> 6);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | cp >> 12);
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | cp >> 18);
		n = 4;
	}
	for (size_t i = 1; i < n; i++)
		b[i] = (unsigned char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3F));
	strbuf_add(sb, b, n);
}

/* \uXXXX at p->pos. A high surrogate must be followed at once by a
 * \u low surrogate: serde_json refuses lone halves when the target is a
 * String, and so must we, or we would emit invalid UTF-8. The messages
 * are serde's, even "leading" for a lone trailing surrogate. */
static int parse_uescape(struct parser *p, struct strbuf *sb)
{
	size_t at = p->pos + 2;
	unsigned cp, lo;
	int rc;

	rc = read_hex4(p, at, &cp);
	if (rc)
		return rc;
	at += 4;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return perr(p, at - 1, "lone leading surrogate in hex escape");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		rc = expect_byte(p, at, '\\');
		if (!rc)
			rc = expect_byte(p, at + 1, 'u');
		if (rc)
			return rc;
		rc = read_hex4(p, at + 2, &lo);
		if (rc)
			return rc;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return perr(p, at + 5, "lone leading surrogate in hex escape");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		at += 6;
	}
	put_utf8(sb, cp);
	p->pos = at;
	return 0;
}

/* One escape sequence; p->pos is at the backslash. */
static int parse_escape(struct parser *p, struct strbuf *sb)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	size_t at = p->pos + 1;
	const char *hit;

	if (at >= p->len)
		return perr(p, p->len, "EOF while parsing a string");
	if (p->s[at] == 'u')
		return parse_uescape(p, sb);
	/* memchr, not strchr: a NUL byte must not match the terminator. */
	hit = memchr(from, p->s[at], sizeof(from) - 1);
	if (!hit)
		return perr(p, at, "invalid escape");
	strbuf_addch(sb, to[hit - from]);
	p->pos = at + 1;
	return 0;
}

/* The string starting at the '"' at p->pos, unescaped into a new
 * NUL-terminated buffer (*len_ret excludes the NUL; NULs may be inside). */
static int parse_string(struct parser *p, char **ret, size_t *len_ret)
{
	struct strbuf sb;
	size_t start;
	int rc;

	strbuf_init(&sb);
	p->pos++;
	for (;;) {
		start = p->pos;
		rc = scan_raw(p);
		if (rc)
			break;
		strbuf_add(&sb, p->s + start, p->pos - start);
		if (p->pos >= p->len) {
			rc = perr(p, p->len, "EOF while parsing a string");
			break;
		}
		if (p->s[p->pos] == '"') {
			if (strbuf_ok(&sb) && !text_utf8_valid(sb.buf, sb.len))
				rc = perr(p, p->pos, "invalid unicode code point");
			p->pos++;
			break;
		}
		rc = parse_escape(p, &sb);
		if (rc)
			break;
	}
	if (!rc && strbuf_ok(&sb)) {
		*ret = strbuf_detach(&sb, len_ret);
		if (*ret)
			return 0;
	}
	strbuf_release(&sb);
	return rc ? rc : nomem(p);
}

static int parse_string_value(struct parser *p, struct json_value **out)
{
	struct json_value *v;
	char *s;
	size_t len;
	int rc;

	rc = parse_string(p, &s, &len);
	if (rc)
		return rc;
	v = new_value(JSON_STRING);
	if (!v) {
		free(s);
		return nomem(p);
	}
	v->str.ptr = s;
	v->str.len = len;
	*out = v;
	return 0;
}

/* Where the parts of a number literal are, after its grammar is checked. */
struct num {
	bool neg;
	size_t int_at, int_len;   /* digits before the '.' */
	size_t frac_at, frac_len; /* digits after it; 0 if there is no '.' */
	bool has_exp, exp_neg;
	size_t exp_at, exp_len;
};

static size_t count_digits(const struct parser *p, size_t at)
{
	size_t n = 0;

	while (at + n < p->len && p->s[at + n] >= '0' && p->s[at + n] <= '9')
		n++;
	return n;
}

/* A digit was required at `at` but is not there. */
static int num_err(const struct parser *p, size_t at)
{
	if (at >= p->len)
		return perr(p, at, "EOF while parsing a value");
	return perr(p, at, "invalid number");
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(struct parser *p, struct num *n)
{
	size_t at = p->pos;

	memset(n, 0, sizeof(*n));
	if (p->s[at] == '-') {
		n->neg = true;
		at++;
	}
	n->int_at = at;
	n->int_len = count_digits(p, at);
	if (!n->int_len)
		return num_err(p, at);
	if (p->s[at] == '0' && n->int_len > 1)
		return perr(p, at + 1, "invalid number");
	at += n->int_len;
	if (at < p->len && p->s[at] == '.') {
		n->frac_at = ++at;
		n->frac_len = count_digits(p, at);
		if (!n->frac_len)
			return num_err(p, at);
		at += n->frac_len;
	}
	if (at < p->len && (p->s[at] == 'e' || p->s[at] == 'E')) {
		n->has_exp = true;
		if (++at < p->len && (p->s[at] == '+' || p->s[at] == '-'))
			n->exp_neg = p->s[at++] == '-';
		n->exp_at = at;
		n->exp_len = count_digits(p, at);
		if (!n->exp_len)
			return num_err(p, at);
		at += n->exp_len;
	}
	p->pos = at;
	return 0;
}

/* serde_json's overflow! test: would v * 10 + d pass UINT64_MAX? */
static bool u64_overflows(uint64_t v, unsigned d)
{
	return v >= UINT64_MAX / 10 &&
	       (v > UINT64_MAX / 10 || d > UINT64_MAX % 10);
}

static bool digits_to_u64(const unsigned char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (u64_overflows(v, s[i] - '0'))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* Floats: serde_json without its float_roundtrip feature (eif_build does
 * not enable it) does not round decimal literals correctly.
 * It keeps the digits that fit a u64, then multiplies or divides by one
 * power of ten from a table. That differs from strtod in the last bit
 * for many ordinary inputs (7.63e149, 4.39585e-24), and the shortest
 * form printed afterwards shows that bit, so its arithmetic is repeated
 * here operation for operation instead of calling strtod. As a bonus
 * nothing here depends on the locale. */

/* Excess precision (x87) would round differently from Rust's f64. */
#if FLT_EVAL_METHOD != 0
#error "serde_json float parsing is replicated with plain double arithmetic"
#endif

#define P10_ROW(r) 1e##r##0, 1e##r##1, 1e##r##2, 1e##r##3, 1e##r##4, \
		   1e##r##5, 1e##r##6, 1e##r##7, 1e##r##8, 1e##r##9

/* serde_json's POW10: 1e0 .. 1e308, each literal correctly rounded by
 * the compiler as rustc rounds serde's. */
static const double pow10_tab[309] = {
	P10_ROW(), P10_ROW(1), P10_ROW(2), P10_ROW(3), P10_ROW(4),
	P10_ROW(5), P10_ROW(6), P10_ROW(7), P10_ROW(8), P10_ROW(9),
	P10_ROW(10), P10_ROW(11), P10_ROW(12), P10_ROW(13), P10_ROW(14),
	P10_ROW(15), P10_ROW(16), P10_ROW(17), P10_ROW(18), P10_ROW(19),
	P10_ROW(20), P10_ROW(21), P10_ROW(22), P10_ROW(23), P10_ROW(24),
	P10_ROW(25), P10_ROW(26), P10_ROW(27), P10_ROW(28), P10_ROW(29),
	1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308,
};

/* serde_json's f64_from_parts: one multiply or divide when 10^|e| is in
 * the table, else divide by 1e308 steps; overflow to inf is an error. */
static int f64_from_parts(const struct parser *p, uint64_t sig, int32_t e,
			  double *ret)
{
	double f = (double)sig;
	uint32_t mag;

	for (;;) {
		mag = e < 0 ? 0u - (uint32_t)e : (uint32_t)e;
		if (mag < ARRAY_SIZE(pow10_tab)) {
			if (e < 0)
				f /= pow10_tab[mag];
			else if (isinf(f *= pow10_tab[mag]))
				return perr(p, p->pos - 1, "number out of range");
			break;
		}
		if (f == 0)
			break;
		if (e >= 0)
			return perr(p, p->pos - 1, "number out of range");
		f /= 1e308;
		e += 308;
	}
	*ret = f;
	return 0;
}

/* serde_json's parse_integer, parse_long_integer and parse_decimal:
 * digits join the u64 significand until one would overflow it; after
 * that integer digits only count as powers of ten and the remaining
 * fraction digits are dropped. */
static void split_digits(const struct parser *p, const struct num *n,
			uint64_t *sig_ret, int64_t *e_ret)
{
	bool full = false;
	uint64_t sig = 0;
	int64_t e = 0;
	unsigned d;
	size_t i;

	for (i = 0; i < n->int_len; i++) {
		d = p->s[n->int_at + i] - '0';
		full = full || u64_overflows(sig, d);
		if (full)
			e++;
		else
			sig = sig * 10 + d;
	}
	for (i = 0; i < n->frac_len; i++) {
		d = p->s[n->frac_at + i] - '0';
		if (u64_overflows(sig, d))
			break;
		sig = sig * 10 + d;
		e--;
	}
	*sig_ret = sig;
	*e_ret = e;
}

static int32_t clamp_i32(int64_t v)
{
	return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

/* serde_json's parse_exponent: an exponent literal past i32 means out of
 * range (non-zero significand, positive exponent) or else zero. */
static int apply_exponent(const struct parser *p, const struct num *n,
			  uint64_t sig, int64_t e, double *ret)
{
	int32_t x = 0;
	size_t i;
	int d;

	for (i = 0; i < n->exp_len; i++) {
		d = p->s[n->exp_at + i] - '0';
		if (x > INT32_MAX / 10 || (x == INT32_MAX / 10 && d > INT32_MAX % 10)) {
			if (sig && !n->exp_neg)
				return perr(p, n->exp_at + i, "number out of range");
			*ret = 0.0;
			return 0;
		}
		x = x * 10 + d;
	}
	e = n->exp_neg ? e - x : e + x;
	return f64_from_parts(p, sig, clamp_i32(e), ret);
}

/* Any number that is not an integer fitting u64/i64. */
static int to_double(const struct parser *p, const struct num *n, double *ret)
{
	uint64_t sig;
	int64_t e;
	int rc;

	split_digits(p, n, &sig, &e);
	if (n->has_exp)
		rc = apply_exponent(p, n, sig, e, ret);
	else
		rc = f64_from_parts(p, sig, clamp_i32(e), ret);
	if (!rc && n->neg)
		*ret = -*ret;
	return rc;
}

/* serde_json: a non-negative integer that fits is u64, a negative one
 * that fits is i64, and "-0" and anything below INT64_MIN are f64. */
static void set_integer(struct json_value *v, bool neg, uint64_t u)
{
	const uint64_t min_mag = (uint64_t)INT64_MAX + 1;

	if (!neg) {
		v->type = JSON_U64;
		v->u = u;
	} else if (u == 0 || u > min_mag) {
		v->type = JSON_F64;
		v->f = -(double)u;
	} else {
		v->type = JSON_I64;
		v->i = u == min_mag ? INT64_MIN : -(int64_t)u;
	}
}

static int parse_number(struct parser *p, struct json_value **out)
{
	struct json_value *v;
	struct num n;
	uint64_t u;
	int rc;

	rc = scan_number(p, &n);
	if (rc)
		return rc;
	v = new_value(JSON_F64);
	if (!v)
		return nomem(p);
	if (!n.frac_len && !n.has_exp &&
	    digits_to_u64(p->s + n.int_at, n.int_len, &u)) {
		set_integer(v, n.neg, u);
	} else {
		rc = to_double(p, &n, &v->f);
		if (rc) {
			free(v);
			return rc;
		}
	}
	*out = v;
	return 0;
}

/* Entering an array or object uses up one level of serde's budget. */
static int enter(struct parser *p)
{
	if (--p->depth_left == 0)
		return perr(p, p->pos, "recursion limit exceeded");
	p->pos++;
	skip_ws(p);
	return 0;
}

/* After an element: 1 when the container closed, 0 after a comma with
 * another element to come, or a negative error code. */
static int next_or_close(struct parser *p, int close)
{
	int c;

	skip_ws(p);
	c = peek(p);
	if (c == close) {
		p->pos++;
		return 1;
	}
	if (c == ',') {
		p->pos++;
		skip_ws(p);
		if (peek(p) == close)
			return perr(p, p->pos, "trailing comma");
		if (peek(p) < 0)
			return perr(p, p->len, "EOF while parsing a value");
		return 0;
	}
	if (c < 0)
		return perr(p, p->len, close == ']' ? "EOF while parsing a list"
						    : "EOF while parsing an object");
	return perr(p, p->pos, close == ']' ? "expected `,` or `]`"
					    : "expected `,` or `}`");
}

static int parse_array(struct parser *p, struct json_value **out)
{
	struct json_value *arr, *item;
	int rc;

	rc = enter(p);
	if (rc)
		return rc;
	if (peek(p) < 0)
		return perr(p, p->len, "EOF while parsing a list");
	arr = json_new_array();
	if (!arr)
		return nomem(p);
	rc = peek(p) == ']';
	if (rc)
		p->pos++;
	while (rc == 0) {
		rc = parse_value(p, &item);
		if (rc)
			break;
		if (json_array_push(arr, item)) {
			rc = nomem(p);
			break;
		}
		rc = next_or_close(p, ']');
	}
	if (rc < 0) {
		json_free(arr);
		return rc;
	}
	p->depth_left++;
	*out = arr;
	return 0;
}

static int parse_member(struct parser *p, struct json_value *obj)
{
	struct json_value *value;
	size_t klen;
	char *key;
	int rc;

	if (peek(p) != '"')
		return perr(p, p->pos, peek(p) < 0 ? "EOF while parsing an object"
						   : "key must be a string");
	rc = parse_string(p, &key, &klen);
	if (rc)
		return rc;
	skip_ws(p);
	if (peek(p) != ':') {
		free(key);
		return perr(p, p->pos, peek(p) < 0 ? "EOF while parsing an object"
						   : "expected `:`");
	}
	p->pos++;
	rc = parse_value(p, &value);
	if (rc) {
		free(key);
		return rc;
	}
	if (member_take(obj, key, klen, value))
		return nomem(p);
	return 0;
}

/* Key order of serde_json's BTreeMap<String, Value>: bytewise, and a
 * proper prefix sorts first. */
static int key_cmp(const struct json_member *a, const struct json_member *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = n ? memcmp(a->key, b->key, n) : 0;

	if (c)
		return c;
	return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static void merge(const struct json_member *src, struct json_member *dst,
		  size_t lo, size_t mid, size_t hi)
{
	size_t i = lo, j = mid, k = lo;

	/* Take from the left run on ties: that keeps the sort stable. */
	while (i < mid && j < hi)
		dst[k++] = key_cmp(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
	while (i < mid)
		dst[k++] = src[i++];
	while (j < hi)
		dst[k++] = src[j++];
}

/* The first key that appears twice in a sorted object, or NULL. */
static const struct json_member *first_duplicate(const struct json_value *obj)
{
	for (size_t i = 1; i < obj->obj.len; i++)
		if (key_cmp(&obj->obj.members[i - 1], &obj->obj.members[i]) == 0)
			return &obj->obj.members[i];
	return NULL;
}

/* After a stable sort, equal keys sit together in input order; keep the
 * last of each run, as BTreeMap::insert replaces the earlier value. */
static void drop_duplicates(struct json_value *obj)
{
	struct json_member *m = obj->obj.members;
	size_t i, n = obj->obj.len, kept = 0;

	for (i = 0; i < n; i++) {
		if (i + 1 < n && key_cmp(&m[i], &m[i + 1]) == 0) {
			free(m[i].key);
			json_free(m[i].value);
			continue;
		}
		m[kept++] = m[i];
	}
	obj->obj.len = kept;
}

/* Bottom-up merge sort: stable and O(n log n) whatever the input. */
static int sort_members(struct json_value *obj, bool keep_duplicates)
{
	struct json_member *src = obj->obj.members, *dst, *tmp, *t;
	size_t n = obj->obj.len, width, lo, mid, hi;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp)); /* no overflow: members has n */
	if (!tmp)
		return EK_ENOMEM;
	dst = tmp;
	for (width = 1; width < n; width *= 2) {
		for (lo = 0; lo < n; lo += 2 * width) {
			mid = n - lo > width ? lo + width : n;
			hi = n - mid > width ? mid + width : n;
			merge(src, dst, lo, mid, hi);
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != obj->obj.members)
		memcpy(obj->obj.members, src, n * sizeof(*src));
	free(tmp);
	if (!keep_duplicates)
		drop_duplicates(obj);
	return 0;
}

static int parse_object(struct parser *p, struct json_value **out)
{
	struct json_value *obj;
	int rc;

	rc = enter(p);
	if (rc)
		return rc;
	obj = json_new_object();
	if (!obj)
		return nomem(p);
	rc = peek(p) == '}';
	if (rc)
		p->pos++;
	while (rc == 0) {
		rc = parse_member(p, obj);
		if (!rc)
			rc = next_or_close(p, '}');
	}
	if (rc > 0 && sort_members(obj, p->no_duplicates))
		rc = nomem(p);
	if (rc > 0 && p->no_duplicates && first_duplicate(obj)) {
		const struct json_member *d = first_duplicate(obj);
		char why[128];

		snprintf(why, sizeof(why), "duplicate key \"%.*s\"",
			 (int)(d->key_len > 80 ? 80 : d->key_len), d->key);
		rc = perr(p, p->pos - 1, why);
	}
	if (rc < 0) {
		json_free(obj);
		return rc;
	}
	p->depth_left++;
	*out = obj;
	return 0;
}

static int parse_value(struct parser *p, struct json_value **out)
{
	int c;

	skip_ws(p);
	c = peek(p);
	switch (c) {
	case -1:
		return perr(p, p->len, "EOF while parsing a value");
	case 'n':
		return parse_literal(p, "null", JSON_NULL, out);
	case 't':
		return parse_literal(p, "true", JSON_BOOL, out);
	case 'f':
		return parse_literal(p, "false", JSON_BOOL, out);
	case '"':
		return parse_string_value(p, out);
	case '[':
		return parse_array(p, out);
	case '{':
		return parse_object(p, out);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p, out);
		return perr(p, p->pos, "expected value");
	}
}

static int parse_top(const char *buf, size_t len, bool strict,
		     struct json_value **ret, struct ek_error *err)
{
	struct parser p = {
		.s = (const unsigned char *)buf,
		.len = buf ? len : 0,
		.depth_left = JSON_DEPTH_BUDGET,
		.no_duplicates = strict,
		.err = err,
	};
	struct json_value *v = NULL;
	int rc;

	*ret = NULL;
	rc = parse_value(&p, &v);
	if (rc)
		return rc;
	skip_ws(&p);
	if (p.pos < p.len) {
		json_free(v);
		return perr(&p, p.pos, "trailing characters");
	}
	*ret = v;
	return 0;
}

int json_parse(const char *buf, size_t len, struct json_value **ret,
	       struct ek_error *err)
{
	return parse_top(buf, len, false, ret, err);
}

int json_parse_strict(const char *buf, size_t len, struct json_value **ret,
		      struct ek_error *err)
{
	return parse_top(buf, len, true, ret, err);
}

/* ---- writer ---------------------------------------------------------- */

/* serde_json's escape table: the short escapes it knows, \u00xx with
 * lowercase hex for the other bytes below 0x20, all else raw. */
static const char *short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		return NULL;
	}
}

static void write_string(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0' };
	size_t i, start = 0;
	const char *esc;

	strbuf_addch(sb, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_add(sb, s + start, i - start);
		start = i + 1;
		esc = short_escape(c);
		if (esc) {
			strbuf_addstr(sb, esc);
			continue;
		}
		u[4] = hex[c >> 4];
		u[5] = hex[c & 0xF];
		strbuf_add(sb, u, sizeof(u));
	}
	strbuf_add(sb, s + start, len - start);
	strbuf_addch(sb, '"');
}

static void newline_indent(struct strbuf *sb, int level)
{
	strbuf_addch(sb, '\n');
	for (int i = 0; i < level; i++)
		strbuf_add(sb, "  ", 2);
}

static void write_value(struct strbuf *sb, const struct json_value *v,
			int level, bool pretty);

/* serde's PrettyFormatter: every element on its own line one level in,
 * the closing bracket back at this level, empty containers as [] / {}. */
static void write_array(struct strbuf *sb, const struct json_value *v,
			int level, bool pretty)
{
	size_t i;

	strbuf_addch(sb, '[');
	for (i = 0; i < v->arr.len; i++) {
		if (i)
			strbuf_addch(sb, ',');
		if (pretty)
			newline_indent(sb, level + 1);
		write_value(sb, v->arr.items[i], level + 1, pretty);
	}
	if (pretty && v->arr.len)
		newline_indent(sb, level);
	strbuf_addch(sb, ']');
}

static void write_object(struct strbuf *sb, const struct json_value *v,
			 int level, bool pretty)
{
	size_t i;

	strbuf_addch(sb, '{');
	for (i = 0; i < v->obj.len; i++) {
		const struct json_member *m = &v->obj.members[i];

		if (i)
			strbuf_addch(sb, ',');
		if (pretty)
			newline_indent(sb, level + 1);
		write_string(sb, m->key, m->key_len);
		if (pretty)
			strbuf_add(sb, ": ", 2);
		else
			strbuf_addch(sb, ':');
		write_value(sb, m->value, level + 1, pretty);
	}
	if (pretty && v->obj.len)
		newline_indent(sb, level);
	strbuf_addch(sb, '}');
}

static void write_value(struct strbuf *sb, const struct json_value *v,
			int level, bool pretty)
{
	char num[32];

	/* No NULL can get into a tree through the API; print it as null
	 * rather than crash if a caller built one by hand. */
	switch (v ? v->type : JSON_NULL) {
	case JSON_NULL:
		strbuf_addstr(sb, "null");
		break;
	case JSON_BOOL:
		strbuf_addstr(sb, v->b ? "true" : "false");
		break;
	case JSON_U64:
		strbuf_addf(sb, "%" PRIu64, v->u);
		break;
	case JSON_I64:
		strbuf_addf(sb, "%" PRId64, v->i);
		break;
	case JSON_F64:
		strbuf_add(sb, num, json_format_f64(v->f, num));
		break;
	case JSON_STRING:
		write_string(sb, v->str.ptr, v->str.len);
		break;
	case JSON_ARRAY:
		write_array(sb, v, level, pretty);
		break;
	case JSON_OBJECT:
		write_object(sb, v, level, pretty);
		break;
	}
}

void json_write(struct strbuf *sb, const struct json_value *v, int indent)
{
	write_value(sb, v, indent < 0 ? 0 : indent, indent >= 0);
}

/* ---- f64 formatting (ryu's format64 layout) -------------------------- */

/* A positive finite double as value = 0.d[0..n) * 10^kk. */
struct decimal {
	char d[24];
	int n;
	int kk;
};

/* Does d * 10^(kk-n) read back as exactly a? Written without a decimal
 * point so that no locale's radix character matters to strtod. */
static bool round_trips(const struct decimal *dec, double a)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%.*se%d", dec->n, dec->d, dec->kk - dec->n);
	return strtod(buf, NULL) == a;
}

/* The correctly rounded p+1 significant digits of a, from "%.*e". Only
 * the ASCII digits and the exponent are used, never the radix, so the
 * locale (LC_NUMERIC) cannot change the result. */
static void rounded_digits(double a, int p, struct decimal *dec)
{
	char buf[64], *s;
	int e = 0, sign = 1;

	snprintf(buf, sizeof(buf), "%.*e", p, a);
	dec->n = 0;
	for (s = buf; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && dec->n < (int)sizeof(dec->d))
			dec->d[dec->n++] = *s;
	if (*s == 'e')
		s++;
	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	for (; *s >= '0' && *s <= '9'; s++)
		e = e * 10 + (*s - '0');
	dec->kk = sign * e + 1;
}

/* One unit up in the last digit; 99..9 becomes 10..0 one decade up. */
static void bump(struct decimal *dec)
{
	int i = dec->n - 1;

	while (i >= 0 && dec->d[i] == '9')
		dec->d[i--] = '0';
	if (i >= 0) {
		dec->d[i]++;
	} else {
		dec->d[0] = '1';
		dec->kk++;
	}
}

/* The shortest digit string that reads back as a, and of those the one
 * nearest to a: ryu's result. Rounding to p+1 digits gives the nearest,
 * so the first p that round-trips wins, with one exception: when a is a
 * power of two the gap to the next double below is half the gap above,
 * so the nearest p+1 digit number can fall out below while the next one
 * up still reads back as a. ryu finds that one, so we try it too. */
static void shortest(double a, struct decimal *dec)
{
	struct decimal up;
	uint64_t bits;
	bool pow2;
	int p;

	/* Zero fraction bits and a biased exponent of 2 or more: below the
	 * smallest normal the spacing is even on both sides. */
	memcpy(&bits, &a, sizeof(bits));
	pow2 = (bits & ((UINT64_C(1) << 52) - 1)) == 0 && (bits >> 52) > 1;

	for (p = 0; p < 17; p++) {
		rounded_digits(a, p, dec);
		if (round_trips(dec, a))
			break;
		up = *dec;
		bump(&up);
		if (pow2 && round_trips(&up, a)) {
			*dec = up;
			break;
		}
	}
	while (dec->n > 1 && dec->d[dec->n - 1] == '0')
		dec->n--;
}

/* ryu format64, for 0 < kk <= 16: 1234e7 -> 12340000000.0, 1234e-2 -> 12.34 */
static char *layout_plain(const struct decimal *dec, char *o)
{
	if (dec->n <= dec->kk) {
		memcpy(o, dec->d, dec->n);
		memset(o + dec->n, '0', dec->kk - dec->n);
		o += dec->kk;
		*o++ = '.';
		*o++ = '0';
	} else {
		memcpy(o, dec->d, dec->kk);
		o += dec->kk;
		*o++ = '.';
		memcpy(o, dec->d + dec->kk, dec->n - dec->kk);
		o += dec->n - dec->kk;
	}
	return o;
}

/* ryu format64, for -5 < kk <= 0: 1234e-6 -> 0.001234 */
static char *layout_small(const struct decimal *dec, char *o)
{
	*o++ = '0';
	*o++ = '.';
	memset(o, '0', -dec->kk);
	o += -dec->kk;
	memcpy(o, dec->d, dec->n);
	return o + dec->n;
}

/* ryu format64 otherwise: 1e30, 1.234e33, 1e-7; no '+', no zero padding */
static char *layout_exp(const struct decimal *dec, char *o)
{
	*o++ = dec->d[0];
	if (dec->n > 1) {
		*o++ = '.';
		memcpy(o, dec->d + 1, dec->n - 1);
		o += dec->n - 1;
	}
	return o + sprintf(o, "e%d", dec->kk - 1);
}

size_t json_format_f64(double f, char *buf)
{
	struct decimal dec;
	char *o = buf;

	/* serde_json writes non-finite floats as null. */
	if (isnan(f) || isinf(f)) {
		memcpy(buf, "null", 5);
		return 4;
	}
	if (signbit(f)) {
		*o++ = '-';
		f = -f;
	}
	if (f == 0) {
		memcpy(o, "0.0", 4);
		return (size_t)(o - buf) + 3;
	}
	shortest(f, &dec);
	if (dec.kk > 0 && dec.kk <= 16)
		o = layout_plain(&dec, o);
	else if (dec.kk > -5 && dec.kk <= 0)
		o = layout_small(&dec, o);
	else
		o = layout_exp(&dec, o);
	*o = '\0';
	return (size_t)(o - buf);
}
