/* json.h: a JSON value tree with serde_json-compatible parse and print.
 *
 * The EIF metadata section must hold exactly the bytes serde_json 1.x
 * (without preserve_order) writes, and describe must print exactly what
 * serde_json::to_string_pretty prints. EIF-FORMAT.md section 8.2 gives
 * the rules. json-c was measured and cannot be used for this: it clamps
 * integers beyond u64/i64 instead of turning them into f64, reads "-0" as
 * the integer 0, and accepts 1e400 and lone surrogates. So the parser for
 * this one job is ours, and OCI documents use it too (json_parse_strict,
 * see docs/design-notes.md): one parser, one reading of a config.
 *
 * Objects keep their members in the stored order. The parser stores them
 * sorted by key bytes with duplicates resolved "last one wins" (serde's
 * BTreeMap); objects built with json_object_push keep insertion order
 * (serde's struct field order). */
#ifndef EIFKIT_LIB_JSON_H
#define EIFKIT_LIB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/strbuf.h"

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_U64,    /* non-negative integer literal that fits u64 */
	JSON_I64,    /* negative integer literal that fits i64 */
	JSON_F64,    /* any other number */
	JSON_STRING, /* UTF-8, may contain NUL: use str.len */
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

struct json_value {
	enum json_type type;
	union {
		bool b;
		uint64_t u;
		int64_t i;
		double f;
		struct {
			char *ptr; /* NUL-terminated too */
			size_t len;
		} str;
		struct {
			struct json_value **items;
			size_t len, alloc;
		} arr;
		struct {
			struct json_member *members;
			size_t len, alloc;
		} obj;
	};
};

struct json_member {
	char *key; /* NUL-terminated; may contain NUL, use key_len */
	size_t key_len;
	struct json_value *value;
};

/* Parse exactly one JSON value from buf[0..len) as serde_json::from_slice
 * does: surrounding whitespace allowed, nothing else after the value,
 * strict RFC 8259 (no comments, no trailing commas), strings must be valid
 * UTF-8 and \u escapes must pair surrogates, nesting depth at most 127
 * (serde_json refuses the 128th nested container),
 * numbers out of f64 range (1e400) refused. Integer literals become
 * JSON_U64 (>= 0) or JSON_I64 (< 0) when they fit, otherwise JSON_F64;
 * "-0" becomes F64 -0.0, as serde_json does.
 * On success *ret owns a tree, freed with json_free. On failure returns
 * EK_EFORMAT with "line L column C: reason" in err. */
int json_parse(const char *buf, size_t len, struct json_value **ret,
	       struct ek_error *err);

/* The same, but an object with two members of one key is refused
 * ("line L column C: duplicate key \"k\"", at the object's closing
 * brace): for OCI indexes, manifests and configs, where two readers
 * taking different ones of the two would see two images. */
int json_parse_strict(const char *buf, size_t len, struct json_value **ret,
		      struct ek_error *err);

void json_free(struct json_value *v); /* NULL is fine */

/* Constructors: return NULL on allocation failure. */
struct json_value *json_new_null(void);
struct json_value *json_new_bool(bool b);
struct json_value *json_new_u64(uint64_t u);
struct json_value *json_new_string(const char *s); /* copies s */
struct json_value *json_new_stringn(const char *s, size_t len);
struct json_value *json_new_array(void);
struct json_value *json_new_object(void);
/* Take ownership of item/value (freed here on failure). Return 0 or
 * EK_ENOMEM. push appends, keeping insertion order. */
int json_array_push(struct json_value *arr, struct json_value *item);
int json_object_push(struct json_value *obj, const char *key,
		     struct json_value *value);
/* First member named key (NUL-terminated), or NULL. */
struct json_value *json_object_get(const struct json_value *obj,
				   const char *key);
/* Deep copy, NULL on allocation failure. */
struct json_value *json_clone(const struct json_value *v);

/* Append the serialisation of v to sb.
 * indent < 0: compact, as serde_json::to_vec.
 * indent >= 0: pretty, as serde_json::to_string_pretty, with v itself at
 * nesting level `indent` (2 spaces a level; the first line is not
 * indented, so callers can embed it after "key": ).
 * Floats as Rust's ryu shortest round trip (2000.0, 1e-7, 1.5e300, -0.0);
 * non-finite floats print as null, as serde_json does.
 * Errors are sticky in sb (strbuf_ok). */
void json_write(struct strbuf *sb, const struct json_value *v, int indent);

/* Format one f64 as serde_json does into buf (at least 32 bytes);
 * returns the length. Exposed for tests. */
size_t json_format_f64(double f, char *buf);

#endif
