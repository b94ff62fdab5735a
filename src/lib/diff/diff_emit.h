/* diff_emit.h: buffered output for the two report formats, and the
 * words both use. */
#ifndef EIFKIT_LIB_DIFF_EMIT_H
#define EIFKIT_LIB_DIFF_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "diff/diff.h"

/* Text goes into sb and out to the callback every 64 KiB: a report of
 * many entries is never held whole. */
struct emit {
	diff_out_fn out;
	void *ctx;
	struct ek_error *err;
	struct strbuf sb;
	int ret;
};

void emit_init(struct emit *e, diff_out_fn out, void *ctx,
	       struct ek_error *err);
/* Send what is buffered if it is over 64 KiB (or always, with force). */
void emit_flush(struct emit *e, bool force);
/* Flush, release; returns the first error. */
int emit_finish(struct emit *e);

/* "file", "directory", "symlink", ... for a mode's type bits. */
const char *diff_type_word(uint32_t mode);
/* Lowercase hex of n bytes. */
void diff_hex(struct strbuf *sb, const uint8_t *p, size_t n);
/* "ramdisk 1 (user)" */
void diff_ramdisk_name(struct strbuf *sb, const struct diff_ramdisk *d);
/* Header field names for enum diff_header_bits, bit 0 first. */
extern const char *const diff_header_names[8];

#endif
