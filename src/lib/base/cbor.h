/* cbor.h: CBOR (RFC 8949) for the formats eifkit reads and writes.
 *
 * Writing: serde_cbor's layout, which the EIF signature section and COSE
 * need byte for byte: definite lengths, the shortest head for every
 * argument, Vec<u8> as an array of unsigned integers.
 *
 * Reading, the cursor: a strict step-by-step reader for layouts fixed in
 * advance (the signature section). Only definite lengths and the shortest
 * head are accepted, so one logical value has exactly one encoding.
 *
 * Reading, the tree: cbor_decode checks that a whole input is exactly one
 * well-formed CBOR data item (RFC 8949 section 5.3.1: definite and
 * indefinite lengths, every major type, tags, floats, simple values) and
 * valid (UTF-8 text, no duplicate map keys), within limits of nesting and
 * item count, with nothing after it, and hands back a flat tree for
 * hostile input (attestation documents). Stricter than the standard in
 * one way, so that a map key has one meaning: keys must be integers or
 * strings. */
#ifndef EIFKIT_LIB_CBOR_H
#define EIFKIT_LIB_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
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

/* ---- reading into a tree ---- */

enum cbor_type {
	CBOR_UINT,      /* val */
	CBOR_NINT,      /* -1 - val */
	CBOR_BYTES,     /* str, len */
	CBOR_TEXT,      /* str, len: valid UTF-8, not NUL-terminated */
	CBOR_ARRAY,     /* val items follow */
	CBOR_MAP,       /* val pairs follow: key, value, key, value... */
	CBOR_TAG,       /* tag number val; one item follows */
	CBOR_FALSE,
	CBOR_TRUE,
	CBOR_NULL,
	CBOR_UNDEFINED,
	CBOR_SIMPLE,    /* another simple value, val */
	CBOR_FLOAT,     /* val: the raw bits of a half, single or double */
};

struct cbor_item {
	enum cbor_type type;
	uint64_t val;
	const uint8_t *str; /* into the input, or the decoder's own copy of
	                       an indefinite-length string's chunks */
	size_t len;
	size_t end;         /* index of the item after this one's subtree */
};

struct cbor_limits {
	unsigned max_depth; /* nesting of arrays, maps and tags: 1 = flat */
	size_t max_items;   /* data items in all, keys included */
	bool shortest;      /* refuse heads longer than needed */
};

/* items[0] is the root; an item's children follow it in order, each
 * child's subtree ending at its .end. */
struct cbor_doc {
	struct cbor_item *items;
	size_t nitems, alloc;
	uint8_t *chunks;
};

/* Decode in[0..len) as one data item. The items point into in, which
 * must outlive doc. EK_EFORMAT (message "byte N: reason"), EK_ELIMIT
 * (depth or item count), EK_ENOMEM. doc is empty on failure; release it
 * either way. */
int cbor_decode(const uint8_t *in, size_t len, const struct cbor_limits *lim,
		struct cbor_doc *doc, struct ek_error *err);
void cbor_doc_release(struct cbor_doc *doc);

/* The i-th child of an array (i < val), tag (i = 0) or map (2k the k-th
 * key, 2k+1 its value); NULL when out of range. */
const struct cbor_item *cbor_child(const struct cbor_doc *doc,
				   const struct cbor_item *it, size_t i);
/* The value of key in a map: a text key, or an integer key. NULL if the
 * map has no such key (or it is not a map). */
const struct cbor_item *cbor_map_text(const struct cbor_doc *doc,
				      const struct cbor_item *map,
				      const char *key);
const struct cbor_item *cbor_map_int(const struct cbor_doc *doc,
				     const struct cbor_item *map, int64_t key);
/* A readable name for a type: "unsigned integer", "map", ... */
const char *cbor_type_name(enum cbor_type t);

#endif
