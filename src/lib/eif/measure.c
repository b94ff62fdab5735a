#include "base/internal.h"

#include <pthread.h>
#include <sys/mman.h>

#include <openssl/evp.h>
#include <libdeflate.h>

#include "eif/measure.h"

void pcr_from_digest(const uint8_t digest[PCR_LEN], uint8_t pcr[PCR_LEN])
{
	uint8_t buf[2 * PCR_LEN];
	unsigned int n = PCR_LEN;

	memset(buf, 0, PCR_LEN);
	memcpy(buf + PCR_LEN, digest, PCR_LEN);
	EVP_Digest(buf, sizeof(buf), pcr, &n, EVP_sha384(), NULL);
}

void pcr_hex(const uint8_t pcr[PCR_LEN], char hex[PCR_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < PCR_LEN; i++) {
		hex[2 * i] = digits[pcr[i] >> 4];
		hex[2 * i + 1] = digits[pcr[i] & 15];
	}
	hex[PCR_HEX_LEN] = '\0';
}

void pcr_of_bytes(const void *data, size_t len, uint8_t pcr[PCR_LEN])
{
	uint8_t d[PCR_LEN];
	unsigned int n = PCR_LEN;

	EVP_Digest(data, len, d, &n, EVP_sha384(), NULL);
	pcr_from_digest(d, pcr);
}

#define SLOTS 16
#define WORKERS 2
#define RING_SIZE ((size_t)SLOTS * HASHPIPE_CHUNK) /* 4 MiB */
#define HUGE_PAGE ((size_t)2 << 20)

struct slot {
	uint8_t *buf;
	size_t len;
	unsigned flags, stream;
};

struct hashpipe;

struct worker {
	struct hashpipe *p;
	pthread_t thread;
	unsigned flags;  /* the hashes this worker computes */
	uint64_t tail;   /* slots it has processed (monotonic) */
	int running;
};

/* Two workers, so that the two SHA-384 streams every byte goes through
 * (PCR0 and one of PCR1/PCR2) run on two cores at once: worker 0 has
 * PCR0, worker 1 the rest of what the caller does not keep. A slot is
 * free again once every worker is past it. */
struct hashpipe {
	pthread_mutex_t mu;
	pthread_cond_t work, freed;
	struct slot slot[SLOTS];
	uint64_t head;   /* submitted (monotonic count) */
	struct worker w[WORKERS];
	int stop;
	unsigned local; /* flags hashed in the caller's thread */
	EVP_MD_CTX *ctx[3];
	uint32_t crc[HASHPIPE_MAX_STREAMS];
	uint64_t len[HASHPIPE_MAX_STREAMS];
	uint8_t *mem;
};

/* Apply the hashes in flags to one buffer. */
static void process(struct hashpipe *p, const struct slot *s, unsigned flags)
{
	for (int i = 0; i < 3; i++)
		if (flags & (HP_PCR0 << i))
			EVP_DigestUpdate(p->ctx[i], s->buf, s->len);
	if (flags & HP_CRC)
		/* libdeflate's CRC-32 (PCLMULQDQ / ARMv8 CRC where the CPU
		 * has them) is zlib's crc32 value, several times faster */
		p->crc[s->stream] = libdeflate_crc32(p->crc[s->stream],
						     s->buf, s->len);
}

/* Slots every running worker has processed. */
static uint64_t done_all(const struct hashpipe *p)
{
	uint64_t t = p->head;

	for (int i = 0; i < WORKERS; i++)
		if (p->w[i].running && p->w[i].tail < t)
			t = p->w[i].tail;
	return t;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct hashpipe *p = w->p;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct slot s;

		while (w->tail == p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (w->tail == p->head)
			break;
		s = p->slot[w->tail % SLOTS];
		pthread_mutex_unlock(&p->mu);
		process(p, &s, s.flags & w->flags);
		pthread_mutex_lock(&p->mu);
		w->tail++;
		pthread_cond_signal(&p->freed);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The ring, in huge pages where the kernel offers them for the asking
 * (transparent huge pages in "madvise" mode, Debian's default): filling
 * it then takes 2 page faults instead of 1,024. On a virtual machine
 * where a fault costs tens of microseconds, as the bench machine is,
 * that was a quarter of a small build's time (make bench's busybox row).
 * 2 MiB-aligned, as a huge page must be: mapped one page larger and the
 * ends cut off. Elsewhere the madvise is refused and plain pages do. */
static uint8_t *ring_alloc(void)
{
	uint8_t *m = mmap(NULL, RING_SIZE + HUGE_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t head;

	if (m == MAP_FAILED)
		return NULL;
	head = (HUGE_PAGE - (uintptr_t)m % HUGE_PAGE) % HUGE_PAGE;
	if (head)
		munmap(m, head);
	munmap(m + head + RING_SIZE, HUGE_PAGE - head);
	m += head;
#ifdef MADV_HUGEPAGE
	madvise(m, RING_SIZE, MADV_HUGEPAGE);
#endif
	return m;
}

static void free_pipe(struct hashpipe *p)
{
	for (int i = 0; i < 3; i++)
		EVP_MD_CTX_free(p->ctx[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->freed);
	if (p->mem)
		munmap(p->mem, RING_SIZE);
	free(p);
}

static void stop_workers(struct hashpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < WORKERS; i++)
		if (p->w[i].running)
			pthread_join(p->w[i].thread, NULL);
}

/* Start worker i for the hashes in flags (none: no thread). */
static int start_worker(struct hashpipe *p, int i, unsigned flags)
{
	p->w[i].p = p;
	p->w[i].flags = flags;
	if (!flags)
		return 0;
	if (pthread_create(&p->w[i].thread, NULL, worker, &p->w[i]) != 0)
		return -1;
	p->w[i].running = 1;
	return 0;
}

int hashpipe_new(unsigned local_flags, struct hashpipe **ret,
		 struct ek_error *err)
{
	struct hashpipe *p = calloc(1, sizeof(*p));
	unsigned rest = (HP_PCR0 | HP_PCR1 | HP_PCR2 | HP_CRC) & ~local_flags;

	if (!p)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	p->local = local_flags;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->freed, NULL);
	p->mem = ring_alloc();
	for (int i = 0; i < 3; i++) {
		p->ctx[i] = EVP_MD_CTX_new();
		if (!p->ctx[i] || !EVP_DigestInit_ex(p->ctx[i], EVP_sha384(), NULL)) {
			free_pipe(p);
			return ek_fail_ssl(err, EK_ECRYPTO, "SHA-384 unavailable");
		}
	}
	if (!p->mem) {
		free_pipe(p);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	for (int i = 0; i < SLOTS; i++)
		p->slot[i].buf = p->mem + (size_t)i * HASHPIPE_CHUNK;
	if (start_worker(p, 0, rest & HP_PCR0) ||
	    start_worker(p, 1, rest & ~HP_PCR0)) {
		stop_workers(p);
		free_pipe(p);
		return ek_fail(err, EK_EIO, "cannot start the hashing threads");
	}
	*ret = p;
	return 0;
}

uint8_t *hashpipe_get(struct hashpipe *p)
{
	uint8_t *buf;

	pthread_mutex_lock(&p->mu);
	while (p->head - done_all(p) >= SLOTS)
		pthread_cond_wait(&p->freed, &p->mu);
	buf = p->slot[p->head % SLOTS].buf;
	pthread_mutex_unlock(&p->mu);
	return buf;
}

void hashpipe_submit(struct hashpipe *p, size_t len, unsigned flags,
		     unsigned stream)
{
	struct slot *s = &p->slot[p->head % SLOTS];

	s->len = len;
	s->flags = flags;
	s->stream = stream < HASHPIPE_MAX_STREAMS ? stream : 0;
	pthread_mutex_lock(&p->mu);
	p->head++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	p->len[s->stream] += len;
	process(p, s, flags & p->local);
}

void hashpipe_finish(struct hashpipe *p, struct hashpipe_result *res)
{
	stop_workers(p);
	for (int i = 0; i < 3; i++) {
		uint8_t d[PCR_LEN];
		unsigned int n = PCR_LEN;

		EVP_DigestFinal_ex(p->ctx[i], d, &n);
		pcr_from_digest(d, res->pcr[i]);
	}
	memcpy(res->crc, p->crc, sizeof(res->crc));
	memcpy(res->len, p->len, sizeof(res->len));
	free_pipe(p);
}

void hashpipe_abort(struct hashpipe *p)
{
	if (!p)
		return;
	stop_workers(p);
	free_pipe(p);
}
