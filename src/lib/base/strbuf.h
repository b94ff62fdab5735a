/* strbuf.h: a growable byte buffer.
 *
 * Invariants (as git's strbuf): buf is never NULL after strbuf_init and
 * is always NUL-terminated at buf[len]. Allocation failure is sticky:
 * sb->oom is set, later appends do nothing, and the owner checks oom once
 * at the end (strbuf_ok). */
#ifndef EIFKIT_LIB_STRBUF_H
#define EIFKIT_LIB_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
	bool oom;
};

void strbuf_init(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Returns true when no allocation failed since init. */
static inline bool strbuf_ok(const struct strbuf *sb) { return !sb->oom; }
/* Hand over the buffer (caller frees with free()); sb is re-initialised. */
char *strbuf_detach(struct strbuf *sb, size_t *len_ret);

#endif
