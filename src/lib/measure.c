#include "internal.h"

#include <pthread.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "measure.h"

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

#define SLOTS 8

struct slot {
	uint8_t *buf;
	size_t len;
	unsigned flags, stream;
};

struct hashpipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, freed;
	struct slot slot[SLOTS];
	uint64_t head, tail; /* submitted, processed (monotonic counts) */
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
		p->crc[s->stream] = (uint32_t)crc32_z(p->crc[s->stream],
						      s->buf, s->len);
}

static void *worker(void *arg)
{
	struct hashpipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct slot s;

		while (p->tail == p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->tail == p->head)
			break;
		s = p->slot[p->tail % SLOTS];
		pthread_mutex_unlock(&p->mu);
		process(p, &s, s.flags & ~p->local);
		pthread_mutex_lock(&p->mu);
		p->tail++;
		pthread_cond_signal(&p->freed);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void free_pipe(struct hashpipe *p)
{
	for (int i = 0; i < 3; i++)
		EVP_MD_CTX_free(p->ctx[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->freed);
	free(p->mem);
	free(p);
}

int hashpipe_new(unsigned local_flags, struct hashpipe **ret,
		 struct ek_error *err)
{
	struct hashpipe *p = calloc(1, sizeof(*p));

	if (!p)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	p->local = local_flags;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->freed, NULL);
	p->mem = malloc((size_t)SLOTS * HASHPIPE_CHUNK);
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
	if (pthread_create(&p->thread, NULL, worker, p) != 0) {
		free_pipe(p);
		return ek_fail(err, EK_EIO, "cannot start the hashing thread");
	}
	*ret = p;
	return 0;
}

uint8_t *hashpipe_get(struct hashpipe *p)
{
	uint8_t *buf;

	pthread_mutex_lock(&p->mu);
	while (p->head - p->tail >= SLOTS)
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
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	p->len[s->stream] += len;
	process(p, s, flags & p->local);
}

static void stop_worker(struct hashpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
}

void hashpipe_finish(struct hashpipe *p, struct hashpipe_result *res)
{
	stop_worker(p);
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
	stop_worker(p);
	free_pipe(p);
}
