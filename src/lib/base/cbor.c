/* cbor.c: CBOR writing in serde_cbor's layout and the strict cursor
 * reader (cbor.h). */
#include "base/internal.h"

#include "base/cbor.h"
#include "base/text.h"

/* ---- writing ---- */

void cbor_put_head(struct strbuf *sb, unsigned major, uint64_t arg)
{
	uint8_t b[9];
	size_t n, i;

	b[0] = (uint8_t)(major << 5);
	if (arg < 24) {
		b[0] |= (uint8_t)arg;
		strbuf_add(sb, b, 1);
		return;
	}
	if (arg <= 0xff)
		n = 1, b[0] |= 24;
	else if (arg <= 0xffff)
		n = 2, b[0] |= 25;
	else if (arg <= 0xffffffff)
		n = 4, b[0] |= 26;
	else
		n = 8, b[0] |= 27;
	for (i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
	strbuf_add(sb, b, 1 + n);
}

void cbor_put_int(struct strbuf *sb, int64_t v)
{
	if (v < 0)
		cbor_put_head(sb, CBOR_MAJOR_NINT, (uint64_t)(-1 - v));
	else
		cbor_put_head(sb, CBOR_MAJOR_UINT, (uint64_t)v);
}

void cbor_put_text(struct strbuf *sb, const char *s)
{
	cbor_put_head(sb, CBOR_MAJOR_TEXT, strlen(s));
	strbuf_addstr(sb, s);
}

void cbor_put_bstr(struct strbuf *sb, const void *p, size_t n)
{
	cbor_put_head(sb, CBOR_MAJOR_BYTES, n);
	strbuf_add(sb, p, n);
}

void cbor_put_u8_array(struct strbuf *sb, const uint8_t *p, size_t n)
{
	size_t i;

	cbor_put_head(sb, CBOR_MAJOR_ARRAY, n);
	for (i = 0; i < n; i++)
		cbor_put_head(sb, CBOR_MAJOR_UINT, p[i]);
}

/* ---- reading with a cursor ---- */

bool cbor_rd_head(struct cbor_rd *r, unsigned *major, uint64_t *arg)
{
	unsigned ai;
	size_t n, i;
	uint64_t v = 0;

	if (r->pos >= r->len)
		return false;
	*major = r->p[r->pos] >> 5;
	ai = r->p[r->pos++] & 31;
	if (ai < 24) {
		*arg = ai;
		return true;
	}
	if (ai > 27) /* reserved, or an indefinite length */
		return false;
	n = (size_t)1 << (ai - 24); /* 1, 2, 4 or 8 bytes follow */
	if (r->len - r->pos < n)
		return false;
	for (i = 0; i < n; i++)
		v = v << 8 | r->p[r->pos++];
	if (v < (n == 1 ? 24 : (uint64_t)1 << (4 * n)))
		return false; /* would fit in a shorter head */
	*arg = v;
	return true;
}

bool cbor_rd_expect(struct cbor_rd *r, unsigned major, uint64_t *arg)
{
	unsigned m;

	return cbor_rd_head(r, &m, arg) && m == major;
}

bool cbor_rd_text_is(struct cbor_rd *r, const char *want)
{
	size_t wl = strlen(want);
	uint64_t n;

	if (!cbor_rd_expect(r, CBOR_MAJOR_TEXT, &n) || n != wl ||
	    r->len - r->pos < wl || memcmp(r->p + r->pos, want, wl) != 0)
		return false;
	r->pos += wl;
	return true;
}

bool cbor_rd_bstr(struct cbor_rd *r, const uint8_t **p, size_t *len)
{
	uint64_t n;

	if (!cbor_rd_expect(r, CBOR_MAJOR_BYTES, &n) || n > r->len - r->pos)
		return false;
	*p = r->p + r->pos;
	*len = (size_t)n;
	r->pos += (size_t)n;
	return true;
}

int cbor_rd_u8_array(struct cbor_rd *r, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	uint64_t n, v;
	size_t i;

	if (!cbor_rd_expect(r, CBOR_MAJOR_ARRAY, &n) || n > r->len - r->pos)
		return EK_EFORMAT; /* each item takes at least one byte */
	if (out && !(buf = malloc((size_t)n + 1)))
		return EK_ENOMEM;
	for (i = 0; i < n; i++) {
		if (!cbor_rd_expect(r, CBOR_MAJOR_UINT, &v) || v > 255) {
			free(buf);
			return EK_EFORMAT;
		}
		if (buf)
			buf[i] = (uint8_t)v;
	}
	if (buf) {
		buf[n] = 0;
		*out = buf;
		*out_len = (size_t)n;
	}
	return 0;
}

/* ---- reading into a tree ---- */

struct dec {
	const uint8_t *p;
	size_t len, pos;
	const struct cbor_limits *lim;
	struct cbor_doc *doc;
	struct strbuf chunks; /* indefinite-length strings, joined */
	struct ek_error *err;
};

static int bad(struct dec *d, size_t at, const char *what)
{
	return ek_fail(d->err, EK_EFORMAT, "byte %zu: %s", at, what);
}

/* A head. *ai is the additional information: 31 means an indefinite
 * length (or a break), which the caller judges. */
static int dec_head(struct dec *d, unsigned *major, unsigned *ai,
		    uint64_t *arg)
{
	size_t at = d->pos, n, i;
	uint64_t v = 0;

	if (d->pos >= d->len)
		return bad(d, at, "the input ends inside a CBOR item");
	*major = d->p[d->pos] >> 5;
	*ai = d->p[d->pos++] & 31;
	if (*ai < 24 || *ai == 31) {
		*arg = *ai == 31 ? 0 : *ai;
		return 0;
	}
	if (*ai > 27)
		return bad(d, at, "reserved additional information 28-30");
	n = (size_t)1 << (*ai - 24);
	if (d->len - d->pos < n)
		return bad(d, at, "the input ends inside a CBOR head");
	for (i = 0; i < n; i++)
		v = v << 8 | d->p[d->pos++];
	if (d->lim->shortest && *major != CBOR_MAJOR_SIMPLE &&
	    v < (n == 1 ? 24 : (uint64_t)1 << (4 * n)))
		return bad(d, at, "a head longer than needed");
	*arg = v;
	return 0;
}

static int new_item(struct dec *d, enum cbor_type type, uint64_t val,
		    size_t *idx)
{
	struct cbor_doc *doc = d->doc;
	struct cbor_item *it;

	if (doc->nitems >= d->lim->max_items)
		return ek_fail(d->err, EK_ELIMIT,
			       "byte %zu: more than %zu CBOR items", d->pos,
			       d->lim->max_items);
	it = ek_grow(doc->items, doc->nitems, &doc->alloc, sizeof(*it), 16);
	if (!it)
		return ek_fail(d->err, EK_ENOMEM, "out of memory");
	doc->items = it;
	*idx = doc->nitems++;
	it = &doc->items[*idx];
	memset(it, 0, sizeof(*it));
	it->type = type;
	it->val = val;
	return 0;
}

/* A definite string of n bytes at the cursor: its bytes, text checked. */
static int dec_str_bytes(struct dec *d, unsigned major, uint64_t n,
			 size_t at, const uint8_t **s)
{
	if (n > d->len - d->pos)
		return bad(d, at, "a string longer than the input");
	*s = d->p + d->pos;
	if (major == CBOR_MAJOR_TEXT && !text_utf8_valid((const char *)*s, n))
		return bad(d, at, "a text string that is not UTF-8");
	d->pos += (size_t)n;
	return 0;
}

/* A string: definite, or indefinite as definite chunks of its own major
 * type up to a break (each text chunk UTF-8 on its own, as 3.2.3 says). */
static int dec_string(struct dec *d, unsigned major, unsigned ai,
		      uint64_t n, size_t idx, size_t at)
{
	struct cbor_item *it = &d->doc->items[idx];
	const uint8_t *s;
	size_t off = d->chunks.len, cat;
	unsigned m, cai;
	int rc;

	if (ai != 31) {
		rc = dec_str_bytes(d, major, n, at, &s);
		it->str = s;
		it->len = (size_t)n;
		return rc;
	}
	for (;;) {
		cat = d->pos;
		if (d->pos < d->len && d->p[d->pos] == 0xff) {
			d->pos++;
			break;
		}
		rc = dec_head(d, &m, &cai, &n);
		if (rc)
			return rc;
		if (m != major || cai == 31)
			return bad(d, cat, "an indefinite-length string chunk "
					   "of another type");
		rc = dec_str_bytes(d, major, n, cat, &s);
		if (rc)
			return rc;
		strbuf_add(&d->chunks, s, (size_t)n);
		if (!strbuf_ok(&d->chunks))
			return ek_fail(d->err, EK_ENOMEM, "out of memory");
	}
	it = &d->doc->items[idx];
	it->str = NULL; /* fixed up when decoding ends */
	it->val = off;
	it->len = d->chunks.len - off;
	return 0;
}

static const uint8_t *item_bytes(const struct dec *d,
				 const struct cbor_item *it)
{
	return it->str ? it->str : (const uint8_t *)d->chunks.buf + it->val;
}

static bool same_key(const struct dec *d, const struct cbor_item *a,
		     const struct cbor_item *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == CBOR_UINT || a->type == CBOR_NINT)
		return a->val == b->val;
	return a->len == b->len &&
	       memcmp(item_bytes(d, a), item_bytes(d, b), a->len) == 0;
}

/* The key just decoded at kidx: an integer or a string, and new in the
 * map at midx (npairs pairs before it). */
static int check_key(struct dec *d, size_t midx, uint64_t npairs,
		     size_t kidx, size_t at)
{
	const struct cbor_item *items = d->doc->items, *k = &items[kidx];
	size_t i = midx + 1;
	uint64_t j;

	if (k->type != CBOR_UINT && k->type != CBOR_NINT &&
	    k->type != CBOR_TEXT && k->type != CBOR_BYTES)
		return bad(d, at, "a map key that is not an integer or a string");
	for (j = 0; j < npairs; j++) {
		if (same_key(d, &items[i], k))
			return bad(d, at, "a duplicate map key");
		i = items[items[i].end].end; /* past the key and its value */
	}
	return 0;
}

static int dec_item(struct dec *d, unsigned depth);

/* The items of an array (per = 1) or the pairs of a map (per = 2). */
static int dec_children(struct dec *d, size_t idx, unsigned ai, uint64_t n,
			unsigned per, unsigned depth)
{
	uint64_t count = 0;
	size_t at, kidx;
	int rc;

	if (ai != 31 && n > (d->len - d->pos) / per)
		return bad(d, d->pos, "more items than bytes left");
	for (;;) {
		at = d->pos;
		if (ai == 31 && d->pos < d->len && d->p[d->pos] == 0xff) {
			d->pos++;
			break;
		}
		if (ai != 31 && count == n)
			break;
		kidx = d->doc->nitems; /* the item dec_item adds first */
		rc = dec_item(d, depth + 1);
		if (!rc && per == 2) {
			rc = check_key(d, idx, count, kidx, at);
			if (!rc && d->pos < d->len && d->p[d->pos] == 0xff)
				rc = bad(d, d->pos, "a map key without a value");
			if (!rc)
				rc = dec_item(d, depth + 1);
		}
		if (rc)
			return rc;
		count++;
	}
	d->doc->items[idx].val = count;
	return 0;
}

/* Major type 7: false, true, null, undefined, other simple values,
 * floats; a break here is outside any indefinite-length item. */
static int dec_simple(struct dec *d, unsigned ai, uint64_t v, size_t at,
		      size_t *idx)
{
	enum cbor_type t = CBOR_SIMPLE;

	if (ai == 31)
		return bad(d, at, "a break outside an indefinite-length item");
	if (ai == 24 && v < 32)
		return bad(d, at, "a two-byte simple value below 32");
	if (ai >= 25)
		t = CBOR_FLOAT;
	else if (v >= 20 && v <= 23)
		t = (enum cbor_type)(CBOR_FALSE + (v - 20));
	return new_item(d, t, v, idx);
}

static int dec_item(struct dec *d, unsigned depth)
{
	static const enum cbor_type types[] = {
		CBOR_UINT, CBOR_NINT, CBOR_BYTES, CBOR_TEXT,
		CBOR_ARRAY, CBOR_MAP, CBOR_TAG,
	};
	size_t at = d->pos, idx;
	unsigned major, ai;
	uint64_t arg;
	int rc;

	if (depth > d->lim->max_depth)
		return ek_fail(d->err, EK_ELIMIT,
			       "byte %zu: CBOR nested deeper than %u", at,
			       d->lim->max_depth);
	rc = dec_head(d, &major, &ai, &arg);
	if (rc)
		return rc;
	if (major == CBOR_MAJOR_SIMPLE)
		rc = dec_simple(d, ai, arg, at, &idx);
	else if (ai == 31 && major != CBOR_MAJOR_BYTES &&
		 major != CBOR_MAJOR_TEXT && major != CBOR_MAJOR_ARRAY &&
		 major != CBOR_MAJOR_MAP)
		rc = bad(d, at, "an indefinite length on an integer or a tag");
	else
		rc = new_item(d, types[major], arg, &idx);
	if (rc)
		return rc;
	if (major == CBOR_MAJOR_BYTES || major == CBOR_MAJOR_TEXT)
		rc = dec_string(d, major, ai, arg, idx, at);
	else if (major == CBOR_MAJOR_ARRAY || major == CBOR_MAJOR_MAP)
		rc = dec_children(d, idx, ai, arg,
				  major == CBOR_MAJOR_MAP ? 2 : 1, depth);
	else if (major == CBOR_MAJOR_TAG)
		rc = dec_item(d, depth + 1);
	d->doc->items[idx].end = d->doc->nitems;
	return rc;
}

void cbor_doc_release(struct cbor_doc *doc)
{
	free(doc->items);
	free(doc->chunks);
	memset(doc, 0, sizeof(*doc));
}

int cbor_decode(const uint8_t *in, size_t len, const struct cbor_limits *lim,
		struct cbor_doc *doc, struct ek_error *err)
{
	struct dec d = { in, len, 0, lim, doc, { 0 }, err };
	size_t i;
	int rc;

	memset(doc, 0, sizeof(*doc));
	strbuf_init(&d.chunks);
	rc = dec_item(&d, 1);
	if (!rc && d.pos != len)
		rc = ek_fail(err, EK_EFORMAT,
			     "byte %zu: %zu bytes after the CBOR item", d.pos,
			     len - d.pos);
	if (!rc) {
		doc->chunks = (uint8_t *)strbuf_detach(&d.chunks, NULL);
		if (!doc->chunks)
			rc = ek_fail(err, EK_ENOMEM, "out of memory");
	}
	for (i = 0; !rc && i < doc->nitems; i++) {
		struct cbor_item *it = &doc->items[i];

		if ((it->type == CBOR_BYTES || it->type == CBOR_TEXT) &&
		    !it->str) {
			it->str = doc->chunks + it->val;
			it->val = 0;
		}
	}
	strbuf_release(&d.chunks);
	if (rc)
		cbor_doc_release(doc);
	return rc;
}

const struct cbor_item *cbor_child(const struct cbor_doc *doc,
				   const struct cbor_item *it, size_t i)
{
	size_t n, k, idx;

	if (it->type == CBOR_ARRAY)
		n = it->val;
	else if (it->type == CBOR_MAP)
		n = it->val > SIZE_MAX / 2 ? SIZE_MAX : 2 * it->val;
	else if (it->type == CBOR_TAG)
		n = 1;
	else
		return NULL;
	if (i >= n)
		return NULL;
	idx = (size_t)(it - doc->items) + 1;
	for (k = 0; k < i; k++)
		idx = doc->items[idx].end;
	return &doc->items[idx];
}

static const struct cbor_item *map_find(const struct cbor_doc *doc,
					const struct cbor_item *map,
					const struct cbor_item *want)
{
	size_t idx, k;

	if (map->type != CBOR_MAP)
		return NULL;
	idx = (size_t)(map - doc->items) + 1;
	for (k = 0; k < map->val; k++) {
		const struct cbor_item *key = &doc->items[idx];
		size_t v = key->end;

		if (key->type == want->type &&
		    (key->type == CBOR_TEXT || key->type == CBOR_BYTES
			     ? key->len == want->len &&
				       memcmp(key->str, want->str, key->len) == 0
			     : key->val == want->val))
			return &doc->items[v];
		idx = doc->items[v].end;
	}
	return NULL;
}

const struct cbor_item *cbor_map_text(const struct cbor_doc *doc,
				      const struct cbor_item *map,
				      const char *key)
{
	struct cbor_item want = { .type = CBOR_TEXT,
				  .str = (const uint8_t *)key,
				  .len = strlen(key) };

	return map_find(doc, map, &want);
}

const struct cbor_item *cbor_map_int(const struct cbor_doc *doc,
				     const struct cbor_item *map, int64_t key)
{
	struct cbor_item want = { .type = key < 0 ? CBOR_NINT : CBOR_UINT,
				  .val = key < 0 ? (uint64_t)(-1 - key)
						 : (uint64_t)key };

	return map_find(doc, map, &want);
}

const char *cbor_type_name(enum cbor_type t)
{
	static const char *const names[] = {
		"unsigned integer", "negative integer", "byte string",
		"text string", "array", "map", "tag", "false", "true", "null",
		"undefined", "simple value", "float",
	};

	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "?";
}
