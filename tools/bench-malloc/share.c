/* SPDX-License-Identifier: MIT */
/*
 * tools/bench-malloc/share.c: the workloads whose objects cross threads:
 * producer-consumer, a larson-like server simulation, and a
 * cache-scratch-like test of false sharing between threads' objects.
 */
#include <sched.h>
#include <stdlib.h>
#include "bench-malloc.h"

/* Waits for the other side: spins briefly, then gives the CPU away (with
 * more threads than CPUs the other side may not be running). */
static void wait_a_bit(unsigned *spins)
{
	if (++*spins < 64) {
		__builtin_ia32_pause();
		return;
	}
	*spins = 0;
	sched_yield();
}

/* prodcons: threads 2k and 2k+1 are a pair; the first allocates 64 B
 * objects and passes them through a bounded single-producer,
 * single-consumer queue to the second, which frees them. An odd last
 * thread has no partner and idles. */
struct queue {
	_Alignas(CACHE_LINE) atomic_size_t head;	/* next to pop */
	_Alignas(CACHE_LINE) atomic_size_t tail;	/* next to push */
	_Alignas(CACHE_LINE) atomic_int done;		/* producer stopped */
	void *slot[QUEUE_SLOTS];
};

static int q_push(struct queue *q, void *p)
{
	size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (t - atomic_load_explicit(&q->head, memory_order_acquire) == QUEUE_SLOTS)
		return 0;
	q->slot[t % QUEUE_SLOTS] = p;
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	return 1;
}

static void *q_pop(struct queue *q)
{
	size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	void *p;

	if (h == atomic_load_explicit(&q->tail, memory_order_acquire))
		return NULL;
	p = q->slot[h % QUEUE_SLOTS];
	atomic_store_explicit(&q->head, h + 1, memory_order_release);
	return p;
}

int setup_prodcons(struct run *run)
{
	size_t n = (size_t)(run->threads / 2);
	struct queue *q = aligned_alloc(CACHE_LINE, n * sizeof(*q));

	if (q == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		atomic_init(&q[i].head, 0);
		atomic_init(&q[i].tail, 0);
		atomic_init(&q[i].done, 0);
	}
	run->shared = q;
	return 0;
}

void teardown_prodcons(struct run *run)
{
	free(run->shared);
}

static void produce(struct run *run, struct queue *q)
{
	unsigned spins = 0;

	while (!stopped(run)) {
		void *p = malloc(64);

		touch(p, 64);
		while (!q_push(q, p)) {
			if (stopped(run)) {
				free(p);
				goto out;
			}
			wait_a_bit(&spins);
		}
	}
out:
	atomic_store_explicit(&q->done, 1, memory_order_release);
}

static uint64_t consume(struct queue *q)
{
	unsigned spins = 0;
	uint64_t n = 0;
	void *p;

	for (;;) {
		p = q_pop(q);
		if (p != NULL) {
			free(p);
			n++;
			continue;
		}
		if (atomic_load_explicit(&q->done, memory_order_acquire))
			break;
		wait_a_bit(&spins);
	}
	while ((p = q_pop(q)) != NULL) {
		free(p);
		n++;
	}
	return n;
}

void work_prodcons(struct run *run, int id, uint64_t *pairs)
{
	struct queue *q = (struct queue *)run->shared + id / 2;

	*pairs = 0;
	if (id / 2 >= run->threads / 2)
		return;
	if (id % 2 == 0)
		produce(run, q);
	else
		*pairs = consume(q);
}

/* larson: as many pools as threads, each POOL_SLOTS live objects of
 * 16-512 B, first filled by the main thread. A thread takes a pool that
 * nobody holds (trying the one after its last first), replaces
 * POOL_TURN random slots (free, then malloc a random size), puts it
 * back and moves on: most objects are freed by another thread than the
 * one that allocated them, as in a server whose connections migrate
 * between workers. */
struct pool {
	_Alignas(CACHE_LINE) pthread_mutex_t lock;
	void *slot[POOL_SLOTS];
};

static size_t larson_size(uint64_t *seed)
{
	return 16 + (size_t)(rnd_next(seed) % 497);
}

int setup_larson(struct run *run)
{
	size_t n = (size_t)run->threads;
	struct pool *pools = aligned_alloc(CACHE_LINE, n * sizeof(*pools));
	uint64_t seed = 42;

	if (pools == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_init(&pools[i].lock, NULL);
		for (int j = 0; j < POOL_SLOTS; j++)
			pools[i].slot[j] = malloc(larson_size(&seed));
	}
	run->shared = pools;
	return 0;
}

void teardown_larson(struct run *run)
{
	struct pool *pools = run->shared;

	for (int i = 0; i < run->threads; i++) {
		for (int j = 0; j < POOL_SLOTS; j++)
			free(pools[i].slot[j]);
		pthread_mutex_destroy(&pools[i].lock);
	}
	free(pools);
}

static struct pool *take_pool(struct run *run, int *at)
{
	struct pool *pools = run->shared;
	unsigned spins = 0;

	for (int i = 1;; i++) {
		int k = (*at + i) % run->threads;

		if (pthread_mutex_trylock(&pools[k].lock) == 0) {
			*at = k;
			return &pools[k];
		}
		if (i % run->threads == 0)
			wait_a_bit(&spins);
	}
}

void work_larson(struct run *run, int id, uint64_t *pairs)
{
	uint64_t seed = 0x2545f4914f6cdd1dULL * (uint64_t)(id + 1);
	uint64_t n = 0;
	int at = id;

	while (!stopped(run)) {
		struct pool *p = take_pool(run, &at);

		for (int i = 0; i < POOL_TURN; i++) {
			void **slot = &p->slot[rnd_next(&seed) % POOL_SLOTS];
			size_t size = larson_size(&seed);

			free(*slot);
			*slot = malloc(size);
			touch(*slot, size);
		}
		pthread_mutex_unlock(&p->lock);
		n += POOL_TURN;
	}
	*pairs = n;
}

/* scratch: the main thread allocates one small object per thread, next
 * to each other (likely sharing cache lines). Each thread writes its
 * object SCRATCH_WRITES times, frees it, allocates another of the same
 * size and repeats. An allocator that hands the freed object back to the
 * freeing thread keeps threads writing into one cache line (false
 * sharing); one that returns it to where it came from does not. */
int setup_scratch(struct run *run)
{
	void **given = calloc((size_t)run->threads, sizeof(void *));

	if (given == NULL)
		return -1;
	for (int i = 0; i < run->threads; i++)
		given[i] = malloc(SCRATCH_SIZE);
	run->shared = given;
	return 0;
}

void teardown_scratch(struct run *run)
{
	free(run->shared);	/* the objects were freed by the threads */
}

void work_scratch(struct run *run, int id, uint64_t *pairs)
{
	void *p = ((void **)run->shared)[id];
	uint64_t n = 0;

	while (!stopped(run)) {
		for (int i = 0; i < CHECK_EVERY; i++) {
			for (int w = 0; w < SCRATCH_WRITES; w++)
				*(volatile uint64_t *)p = (uint64_t)w;
			free(p);
			p = malloc(SCRATCH_SIZE);
			escape(p);
		}
		n += CHECK_EVERY;
	}
	free(p);
	*pairs = n;
}
