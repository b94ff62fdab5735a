/* cbor.h: CBOR (RFC 8949) for the formats eifkit reads and writes.
 *
 * Writing: serde_cbor's layout, which the EIF signature section and COSE
 * need byte for byte: definite lengths, the shortest head for every
 * argument, Vec<u8> as an array of unsigned integers.
 *
 * Reading, the cursor: a strict step-by-step reader for layouts fixed in
 * advance (the signature section). Only definite lengths and the shortest
 * head are accepted, so one logical value has exactly one encoding. */
#ifndef EIFKIT_LIB_CBOR_H
#define EIFKIT_LIB_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

enum cbor_major {
	CBOR_MAJOR_UINT = 0,
	CBOR_MAJOR_NINT = 1,
	CBOR_MAJOR_BYTES = 2,
	CBOR_MAJOR_TEXT = 3,
	CBOR_MAJOR_ARRAY = 4,
	CBOR_MAJOR_MAP = 5,
	CBOR_MAJOR_TAG = 6,
	CBOR_MAJOR_SIMPLE = 7,
};

/* ---- writing (errors are strbuf's sticky oom) ---- */

/* A head: major type and argument, in the shortest form. */
void cbor_put_head(struct strbuf *sb, unsigned major, uint64_t arg);
/* An integer, major 0 or 1 as its sign says. */
void cbor_put_int(struct strbuf *sb, int64_t v);
/* A text string of strlen(s) bytes. */
void cbor_put_text(struct strbuf *sb, const char *s);
void cbor_put_bstr(struct strbuf *sb, const void *p, size_t n);
/* serde_cbor's Vec<u8>: an array of n unsigned integers. */
void cbor_put_u8_array(struct strbuf *sb, const uint8_t *p, size_t n);

/* ---- reading with a cursor ---- */

struct cbor_rd {
	const uint8_t *p;
	size_t len, pos; /* pos: the next byte; where a failure stopped */
};

/* One head of definite length in the shortest form: false on the end of
 * input, a reserved value, an indefinite length or a longer form. */
bool cbor_rd_head(struct cbor_rd *r, unsigned *major, uint64_t *arg);
/* A head of this major type. */
bool cbor_rd_expect(struct cbor_rd *r, unsigned major, uint64_t *arg);
/* A text string equal to want. */
bool cbor_rd_text_is(struct cbor_rd *r, const char *want);
/* A byte string; *p points into the input. */
bool cbor_rd_bstr(struct cbor_rd *r, const uint8_t **p, size_t *len);
/* A Vec<u8> (array of uints <= 255). With out NULL only the shape is
 * checked; else *out gets a malloc'd copy, NUL-terminated. 0, EK_EFORMAT
 * or EK_ENOMEM. */
int cbor_rd_u8_array(struct cbor_rd *r, uint8_t **out, size_t *out_len);

#endif
