/* cbor.c: CBOR writing in serde_cbor's layout and the strict cursor
 * reader (cbor.h). */
#include "base/internal.h"

#include "base/cbor.h"

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
