#include "base/internal.h"

#include "image/paxcheck.h"

int paxcheck_init(struct paxcheck *c, struct ek_error *err)
{
	c->fed = 0;
	c->ring = malloc(PAXCHECK_RING);
	return c->ring ? 0 : ek_fail(err, EK_ENOMEM, "out of memory");
}

void paxcheck_release(struct paxcheck *c)
{
	free(c->ring);
	c->ring = NULL;
}

void paxcheck_feed(struct paxcheck *c, const void *buf, size_t n)
{
	const uint8_t *b = buf;

	if (n > PAXCHECK_RING) { /* only the last bytes can matter */
		b += n - PAXCHECK_RING;
		c->fed += n - PAXCHECK_RING;
		n = PAXCHECK_RING;
	}
	while (n) {
		size_t at = (size_t)(c->fed % PAXCHECK_RING);
		size_t k = PAXCHECK_RING - at < n ? PAXCHECK_RING - at : n;

		memcpy(c->ring + at, b, k);
		b += k;
		n -= k;
		c->fed += k;
	}
}

void paxcheck_skip(struct paxcheck *c, uint64_t n)
{
	c->fed += n;
}

/* Copy bytes [off, off+n) of the stream out of the ring; -1 if they
 * are not all there (not fed yet, or already overwritten). */
static int take(const struct paxcheck *c, uint64_t off, uint8_t *out, size_t n)
{
	if (off > c->fed || n > c->fed - off || c->fed - off > PAXCHECK_RING)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = c->ring[(off + i) % PAXCHECK_RING];
	return 0;
}

/* A header's size field: octal, or base-256 when the top bit is set. */
static uint64_t hdr_size(const uint8_t *h)
{
	const uint8_t *f = h + 124;
	uint64_t v = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80 || f[1] || f[2] || f[3])
			return UINT64_MAX; /* negative or beyond 2^64 */
		for (int i = 4; i < 12; i++)
			v = v << 8 | f[i];
		return v;
	}
	for (int i = 0; i < 12 && (f[i] == ' ' || (f[i] >= '0' && f[i] <= '7')); i++)
		if (f[i] != ' ')
			v = v << 3 | (uint64_t)(f[i] - '0');
	return v;
}

static bool is_special(uint8_t type)
{
	return type && strchr("AgKLVXx", type);
}

static bool text_key(const uint8_t *k, size_t n)
{
	static const char *const keys[] = { "path", "linkpath", "uname",
					    "gname", "GNU.sparse.name" };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (n == strlen(keys[i]) && !memcmp(k, keys[i], n))
			return true;
	return false;
}

/* "LEN key=value\n" records, LEN counting the whole record. */
static int check_records(const uint8_t *b, size_t n, const char *layer,
			 struct ek_error *err)
{
	size_t at = 0;

	while (at < n) {
		size_t len = 0, i = at, eq;

		while (i < n && b[i] >= '0' && b[i] <= '9' && len < n)
			len = len * 10 + (size_t)(b[i++] - '0');
		if (i == at || i >= n || b[i] != ' ' || len > n - at ||
		    len < i - at + 3 || b[at + len - 1] != '\n')
			return ek_fail(err, EK_EFORMAT, "'%s': a malformed pax "
				       "record at byte %zu of a header", layer, at);
		i++;
		for (eq = i; eq < at + len - 1 && b[eq] != '='; eq++)
			;
		if (eq == at + len - 1 || eq == i || memchr(b + i, 0, eq - i))
			return ek_fail(err, EK_EFORMAT, "'%s': a pax record "
				       "without a key, or with a NUL in it", layer);
		if (text_key(b + i, eq - i) &&
		    memchr(b + eq + 1, 0, at + len - 1 - (eq + 1)))
			return ek_fail(err, EK_EFORMAT, "'%s': the pax record "
				       "'%.*s' holds a NUL", layer,
				       (int)(eq - i), (const char *)b + i);
		at += len;
	}
	return 0;
}

int paxcheck_entry(const struct paxcheck *c, uint64_t off, const char *layer,
		   struct ek_error *err)
{
	uint8_t h[512];

	for (;;) {
		uint64_t size;
		uint8_t *body;
		int r;

		/* libarchive has read these headers: they were fed */
		if (take(c, off, h, sizeof(h)))
			return ek_fail(err, EK_ELIMIT, "'%s': the headers of an "
				       "entry are too large", layer);
		if (!is_special(h[156]))
			return 0;
		size = hdr_size(h);
		if (size > PAXCHECK_RING / 4)
			return ek_fail(err, EK_ELIMIT, "'%s': a special tar "
				       "header of %llu bytes", layer,
				       (unsigned long long)size);
		if (strchr("gXx", h[156])) {
			body = malloc(size ? (size_t)size : 1);
			if (!body)
				return ek_fail(err, EK_ENOMEM, "out of memory");
			r = take(c, off + 512, body, (size_t)size)
				? ek_fail(err, EK_ELIMIT, "'%s': the headers of an "
					  "entry are too large", layer)
				: check_records(body, (size_t)size, layer, err);
			free(body);
			if (r)
				return r;
		}
		off += 512 + (size + 511) / 512 * 512;
	}
}
