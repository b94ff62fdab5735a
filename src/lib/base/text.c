#include "base/internal.h"

#include <stdio.h>

#include "base/text.h"

/* Restricting the second byte is what rejects overlong forms (E0, F0),
 * surrogates (ED) and code points past U+10FFFF (F4). */
size_t text_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	*cp = c & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return n;
}

bool text_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = text_utf8_next(u + i, len - i, &cp)) == 0)
			return false;
	return true;
}

/* Code points that terminals act on, or that reorder, break or pad the
 * line invisibly (a no-break space would fake a column): C1 controls
 * (0x9b is CSI on some terminals), spaces other than ASCII's, zero-width
 * characters, bidi marks, embeddings, overrides and isolates, line and
 * paragraph separators, the byte order mark. */
static bool unsafe_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xa0) || cp == 0x061c || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
	       cp == 0x205f || cp == 0x2060 || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x3000 || cp == 0xfeff;
}

/* Escape the next character of s into out (at most 16 bytes + NUL);
 * returns the number of input bytes used (at least 1). */
static size_t escape_step(const unsigned char *s, size_t len, unsigned flags,
			  char out[17])
{
	static const char cesc[] = "abtnvfr"; /* for bytes 7 to 13 */
	uint32_t cp;
	size_t n;

	if (s[0] == '\\')
		return snprintf(out, 17, flags & TEXT_KEEP_BACKSLASH ? "\\"
								: "\\\\"), 1;
	if ((s[0] > ' ' && s[0] < 0x7f) ||
	    (s[0] == ' ' && (flags & TEXT_KEEP_SPACES)))
		return snprintf(out, 17, "%c", s[0]), 1;
	if (s[0] >= 7 && s[0] <= 13)
		return snprintf(out, 17, "\\%c", cesc[s[0] - 7]), 1;
	n = s[0] >= 0x80 ? text_utf8_next(s, len, &cp) : 0;
	if (n == 0)
		return snprintf(out, 17, "\\x%02x", s[0]), 1;
	out[0] = '\0';
	for (size_t i = 0, o = 0; i < n; i++, o = strlen(out))
		snprintf(out + o, 17 - o, unsafe_cp(cp) ? "\\x%02x" : "%c", s[i]);
	return n;
}

void text_escape(struct strbuf *sb, const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	char piece[17];

	while (len > 0) {
		size_t used = escape_step(p, len, flags, piece);

		strbuf_addstr(sb, piece);
		p += used;
		len -= used;
	}
}

void text_escape_fixed(char *out, size_t cap, const char *s, size_t len,
		       unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	char piece[17];

	out[0] = '\0';
	while (len > 0) {
		size_t used = escape_step(p, len, flags, piece), n = strlen(piece);

		if (o + n + 4 > cap) {
			snprintf(out + o, cap - o, "...");
			return;
		}
		memcpy(out + o, piece, n + 1);
		o += n;
		p += used;
		len -= used;
	}
}

bool text_needs_escape(const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	char piece[17];

	while (len > 0) {
		size_t used = escape_step(p, len, flags, piece);

		if (p[0] != '\\' && (strlen(piece) != used ||
				     memcmp(piece, p, used)))
			return true;
		p += used;
		len -= used;
	}
	return false;
}
