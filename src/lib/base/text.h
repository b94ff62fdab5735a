/* text.h: UTF-8 and text that reaches a terminal.
 *
 * One decoder and one escaper for the whole project: names from archives,
 * strings from metadata and certificates, and every error message pass
 * through here before a person sees them. */
#ifndef EIFKIT_LIB_TEXT_H
#define EIFKIT_LIB_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

/* Length of the well-formed UTF-8 sequence at s (len > 0 bytes left) and
 * its code point in *cp, or 0 when it is not one: overlong forms, UTF-16
 * surrogates, code points past U+10FFFF and cut-short sequences are not
 * (as Rust's str::from_utf8 and RFC 3629 say). ASCII is length 1. */
size_t text_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* Is s[0..len) well-formed UTF-8 (NUL bytes included as such)? */
bool text_utf8_valid(const char *s, size_t len);

/* Escaping, reversible, so that hostile text can neither run terminal
 * escapes nor fake a line or a column: printable ASCII and valid UTF-8
 * stay as they are; '\\' becomes "\\\\"; \a \b \t \n \v \f \r become C
 * escapes; as \xHH per byte: other control bytes, DEL, C1 controls,
 * Unicode spaces, zero-width and bidi characters, line and paragraph
 * separators, the BOM, and bytes that are not valid UTF-8. The ASCII
 * space is escaped too (as \x20) unless TEXT_KEEP_SPACES is given: a
 * column of names must not gain a column, a sentence may keep its
 * spaces. */
enum {
	TEXT_KEEP_SPACES = 1,
	/* '\\' as is: for messages, whose quoted parts were escaped once
	 * where they were made (an archive's name in a cpio error) */
	TEXT_KEEP_BACKSLASH = 2,
};

void text_escape(struct strbuf *sb, const char *s, size_t len, unsigned flags);

/* The same into out[cap] (cap >= 4), cut with "..." where it does not fit;
 * for error messages, which have a fixed size. */
void text_escape_fixed(char *out, size_t cap, const char *s, size_t len,
		       unsigned flags);

/* Does s hold a byte that text_escape would change (other than '\\' and,
 * with TEXT_KEEP_SPACES, ' ')? For refusing such text where it is made. */
bool text_needs_escape(const char *s, size_t len, unsigned flags);

#endif
