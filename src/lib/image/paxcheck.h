/* paxcheck.h: what libarchive does not say about a tar entry's headers.
 *
 * libarchive 3.6 copies a pax record's value up to its first NUL, so a
 * path "a\0b" becomes "a" with no warning, where Go's archive/tar (docker,
 * containerd, umoci) refuses the header: two tools, two trees. It keeps no
 * copy of the records either. So the plain tar stream is kept, as it is
 * fed to libarchive, in a ring of its last PAXCHECK_RING bytes, and each
 * entry's special headers (pax 'x', 'g', 'X', GNU 'L', 'K', ...) are read
 * again from the offset libarchive reports for the entry: only headers,
 * never file data, so no reading of sizes can put the two out of step. */
#ifndef EIFKIT_LIB_PAXCHECK_H
#define EIFKIT_LIB_PAXCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define PAXCHECK_RING (8u << 20)

struct paxcheck {
	uint8_t *ring;
	uint64_t fed;      /* bytes fed so far: ring holds the last ones */
};

int paxcheck_init(struct paxcheck *c, struct ek_error *err);
void paxcheck_release(struct paxcheck *c);
void paxcheck_feed(struct paxcheck *c, const void *buf, size_t n);
/* n bytes of file data passed over unread (they are never looked at). */
void paxcheck_skip(struct paxcheck *c, uint64_t n);

/* Check the special headers of the entry whose first header is at off
 * of the tar stream: every pax record well formed, and no NUL in the
 * value of path, linkpath, uname, gname or GNU.sparse.name, nor in any
 * key. layer names the layer in messages. */
int paxcheck_entry(const struct paxcheck *c, uint64_t off, const char *layer,
		   struct ek_error *err);

#endif
