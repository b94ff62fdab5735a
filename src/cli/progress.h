/* progress.h: a progress line on stderr for build, assemble and sign,
 * shown only when stderr is a terminal, without --quiet, and once the
 * work has taken more than a second; erased when it ends, so that it
 * leaves nothing in the terminal or in what stdout prints. */
#ifndef EIFKIT_CLI_PROGRESS_H
#define EIFKIT_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct eif_wsection;
struct eif_write_opts;

struct progress {
	const char *cmd;
	uint64_t total;      /* bytes expected, about; 0: unknown (a pipe) */
	bool on, shown;
	double after;        /* seconds before the first line */
	struct timespec start, last;
};

/* The bytes eif_write will write for these sections, when all of them
 * have a known size; 0 otherwise. extra: bytes of sections whose size
 * the caller estimated (build's ramdisks). */
uint64_t progress_total(const struct eif_wsection *secs, unsigned n,
			uint64_t extra);
/* Start; hook p into wo when it is to be shown. */
void progress_start(struct progress *p, const char *cmd, bool quiet,
		    uint64_t total, struct eif_write_opts *wo);
/* The eif_write_opts.progress callback. */
void progress_update(void *p, uint64_t done);
/* Erase the line, if one was shown. */
void progress_end(struct progress *p);

#endif
