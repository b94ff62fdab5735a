/* measure.h: PCR measurements (EIF-FORMAT.md section 7) and the hashing
 * pipeline that computes them beside the I/O on other threads.
 *
 * PCR = SHA384(48 zero bytes || SHA384(measured bytes)). PCR0 covers
 * kernel, cmdline and every ramdisk; PCR1 kernel, cmdline and ramdisk 0;
 * PCR2 the other ramdisks. Every byte is hashed twice (PCR0 and one of
 * PCR1/PCR2), so the pipeline splits the work between the caller's thread
 * and up to two workers (one for PCR0, one for the rest), as
 * hashpipe_new's local_flags say. */
#ifndef EIFKIT_LIB_MEASURE_H
#define EIFKIT_LIB_MEASURE_H

#include <stdint.h>
#include <stddef.h>

#include "base/error.h"

#define PCR_LEN 48
#define PCR_HEX_LEN 96
#define HASHPIPE_CHUNK (256 * 1024)
#define HASHPIPE_MAX_STREAMS 32 /* one CRC per EIF section */

/* Extend an all-zero PCR with a content digest. */
void pcr_from_digest(const uint8_t digest[PCR_LEN], uint8_t pcr[PCR_LEN]);
/* Lowercase hex, NUL-terminated. */
void pcr_hex(const uint8_t pcr[PCR_LEN], char hex[PCR_HEX_LEN + 1]);
/* PCR of len bytes in memory. */
void pcr_of_bytes(const void *data, size_t len, uint8_t pcr[PCR_LEN]);

enum hashpipe_flags {
	HP_PCR0 = 1 << 0,
	HP_PCR1 = 1 << 1,
	HP_PCR2 = 1 << 2,
	HP_CRC = 1 << 3,
};

struct hashpipe;

struct hashpipe_result {
	uint8_t pcr[3][PCR_LEN];               /* PCR0, PCR1, PCR2 */
	uint32_t crc[HASHPIPE_MAX_STREAMS];    /* CRC32 of each stream's bytes */
	uint64_t len[HASHPIPE_MAX_STREAMS];    /* bytes in each stream */
};

/* local_flags: the hashes hashpipe_submit computes in the caller's thread.
 * Of the rest, PCR0 runs on one worker thread and the others on a second
 * (a worker with nothing to do is not started). A reader, whose thread
 * only reads, keeps HP_PCR0 | HP_CRC; a writer, whose thread also writes
 * the output (as costly as a hash), keeps only HP_CRC: its two SHA-384
 * streams then run on two cores at once. */
int hashpipe_new(unsigned local_flags, struct hashpipe **ret,
		 struct ek_error *err);
/* A buffer of HASHPIPE_CHUNK bytes to fill; waits until one is free. */
uint8_t *hashpipe_get(struct hashpipe *p);
/* Hand over the buffer from the last hashpipe_get with len bytes of
 * stream `stream` (< HASHPIPE_MAX_STREAMS) for the hashes in flags. The
 * caller may still read the buffer (to write it out) until its next
 * hashpipe_get, but must not change it. */
void hashpipe_submit(struct hashpipe *p, size_t len, unsigned flags,
		     unsigned stream);
/* Wait for the worker, fill res and free p. */
void hashpipe_finish(struct hashpipe *p, struct hashpipe_result *res);
/* Stop and free without results (error paths). NULL is fine. */
void hashpipe_abort(struct hashpipe *p);

#endif
