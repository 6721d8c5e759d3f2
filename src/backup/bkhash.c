/* SHA-256 on a worker thread through a ring of 1 MiB slots (see bkhash.h).
 * The caller fills the slot after the queued ones; the worker hashes the
 * queued slots oldest first, so the digest sees the bytes in order. */
#include "bkhash.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "util.h"

#define SLOT_SIZE ((size_t)1 << 20)
#define NSLOTS 4 /* 4 MiB at most: enough to ride over the worker's scheduling gaps */

struct bk_hash {
	EVP_MD_CTX *md;               /* the worker's while it runs, the caller's otherwise */
	unsigned char *slot[NSLOTS];  /* allocated on first use */
	size_t len[NSLOTS];
	unsigned fill;                /* the slot the caller fills: never a queued one */
	bool running;                 /* a worker exists (caller's field) */
	bool inline_only;             /* no worker could start: hash on the caller's thread */
	pthread_t th;
	pthread_mutex_t mu;           /* guards the fields below */
	pthread_cond_t ready;         /* a slot was queued, or finish/stop was set */
	pthread_cond_t freed;         /* the worker is done with a slot */
	unsigned next;                /* the oldest queued slot */
	unsigned queued;              /* slots next, next+1, ... waiting for the worker */
	bool finish;                  /* hash what is queued, then end */
	bool stop;                    /* end now, the digest is not wanted */
};

static void *worker(void *arg)
{
	struct bk_hash *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		unsigned i;

		while (!h->queued && !h->finish && !h->stop)
			pthread_cond_wait(&h->ready, &h->mu);
		if (h->stop || !h->queued)
			break;
		i = h->next;
		/* the slot is ours until queued drops: hash it without the lock */
		pthread_mutex_unlock(&h->mu);
		EVP_DigestUpdate(h->md, h->slot[i], h->len[i]);
		pthread_mutex_lock(&h->mu);
		h->next = (i + 1) % NSLOTS;
		h->queued--;
		pthread_cond_signal(&h->freed);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct bk_hash *bk_hash_new(void)
{
	struct bk_hash *h = xcalloc(1, sizeof(*h));

	h->md = bk_sha_new();
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->ready, NULL);
	pthread_cond_init(&h->freed, NULL);
	return h;
}

/* The worker, with every signal blocked: SIGTERM/SIGINT must reach the
 * thread that streams, which checks for a cancel between pieces. */
static void start(struct bk_hash *h)
{
	if (thread_start(&h->th, worker, h) == 0) {
		h->running = true;
		pthread_setname_np(h->th, "xentui-sha"); /* to tell it apart in top, perf and gdb */
	} else {
		h->inline_only = true;
	}
}

/* Hands the full (or last) fill slot over and waits for a free one. */
static void queue_fill(struct bk_hash *h)
{
	if (!h->running && !h->inline_only)
		start(h);
	if (h->inline_only) {
		EVP_DigestUpdate(h->md, h->slot[h->fill], h->len[h->fill]);
		h->len[h->fill] = 0;
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->queued++;
	h->fill = (h->fill + 1) % NSLOTS;
	pthread_cond_signal(&h->ready);
	while (h->queued == NSLOTS)
		pthread_cond_wait(&h->freed, &h->mu);
	pthread_mutex_unlock(&h->mu);
	h->len[h->fill] = 0;
}

void bk_hash_update(struct bk_hash *h, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		size_t k;

		if (!h->slot[h->fill])
			h->slot[h->fill] = xmalloc(SLOT_SIZE);
		k = SLOT_SIZE - h->len[h->fill];
		if (k > n)
			k = n;
		memcpy(h->slot[h->fill] + h->len[h->fill], p, k);
		h->len[h->fill] += k;
		p += k;
		n -= k;
		if (h->len[h->fill] == SLOT_SIZE)
			queue_fill(h);
	}
}

/* Ends the worker (after the queued slots unless stop) and waits for it. */
static void join(struct bk_hash *h, bool stop)
{
	if (!h->running)
		return;
	pthread_mutex_lock(&h->mu);
	if (stop)
		h->stop = true;
	else
		h->finish = true;
	pthread_cond_signal(&h->ready);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	h->running = false;
}

static void destroy(struct bk_hash *h)
{
	for (size_t i = 0; i < NSLOTS; i++)
		free(h->slot[i]);
	pthread_cond_destroy(&h->freed);
	pthread_cond_destroy(&h->ready);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void bk_hash_hex(struct bk_hash *h, char out[65])
{
	if (h->len[h->fill]) {
		if (h->running)
			queue_fill(h);
		else /* under one slot in all: not worth a thread */
			EVP_DigestUpdate(h->md, h->slot[h->fill], h->len[h->fill]);
	}
	join(h, false);
	bk_sha_hex(h->md, out);
	destroy(h);
}

void bk_hash_free(struct bk_hash *h)
{
	if (!h)
		return;
	join(h, true);
	EVP_MD_CTX_free(h->md);
	destroy(h);
}
