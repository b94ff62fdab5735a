/* progress.c: the progress line of build, assemble and sign. */
#include "base/internal.h"

#include <stdio.h>
#include <unistd.h>

#include "eif/eif.h"
#include "progress.h"

/* Lines at most this often: a terminal is slower than the writer. */
#define PROGRESS_INTERVAL 0.25

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

uint64_t progress_total(const struct eif_wsection *secs, unsigned n,
			uint64_t extra)
{
	uint64_t t = EIF_HDR_SIZE + extra;

	for (unsigned i = 0; i < n; i++) {
		const struct eif_source *s = &secs[i].src;

		t += EIF_SEC_HDR_SIZE;
		if (s->read)
			continue; /* estimated by the caller, in extra */
		if (s->fd < 0)
			t += s->mem_len;
		else if (s->len == EIF_LEN_TO_EOF)
			return 0;
		else
			t += s->len;
	}
	return t;
}

/* EIFKIT_PROGRESS_AFTER: seconds before the first line (default 1), so
 * that tests under a pseudo-terminal need not wait or time anything. */
static double delay(void)
{
	const char *s = getenv("EIFKIT_PROGRESS_AFTER");
	char *end;
	double d;

	if (!s || !*s)
		return 1.0;
	d = strtod(s, &end);
	return *end || !(d >= 0 && d < 3600) ? 1.0 : d;
}

void progress_start(struct progress *p, const char *cmd, bool quiet,
		    uint64_t total, struct eif_write_opts *wo)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->total = total;
	p->on = !quiet && isatty(STDERR_FILENO);
	if (!p->on)
		return;
	p->after = delay();
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	wo->progress = progress_update;
	wo->progress_ctx = p;
}

static void human(char *buf, size_t cap, double bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (bytes >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

void progress_update(void *ctx, uint64_t done)
{
	struct progress *p = ctx;
	struct timespec now;
	char d[32], t[32], r[32], line[160];
	double secs, rate;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = since(&p->start, &now);
	if (secs < p->after ||
	    (p->shown && since(&p->last, &now) < PROGRESS_INTERVAL))
		return;
	p->last = now;
	rate = secs > 0 ? (double)done / secs : 0;
	human(d, sizeof(d), (double)done);
	human(r, sizeof(r), rate);
	if (p->total > done) {
		human(t, sizeof(t), (double)p->total);
		n = snprintf(line, sizeof(line), "eifkit %s: %s of %s (%u%%), "
			     "%s/s, %.0f s left", p->cmd, d, t,
			     (unsigned)((double)done * 100 / (double)p->total),
			     r, rate > 0 ? (double)(p->total - done) / rate : 0);
	} else {
		n = snprintf(line, sizeof(line), "eifkit %s: %s, %s/s",
			     p->cmd, d, r);
	}
	if (n > 0) /* the terminal's line: erased, then rewritten */
		fprintf(stderr, "\r\033[K%s", line);
	p->shown = true;
}

void progress_end(struct progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = false;
}
