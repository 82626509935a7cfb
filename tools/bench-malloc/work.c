/* SPDX-License-Identifier: MIT */
/*
 * tools/bench-malloc/work.c: the workloads whose objects stay on the
 * thread that allocated them: one object reused, a ring of 64 live
 * objects (16, 64 or 256 B), batches of 1000, and a ring of mixed sizes.
 */
#include <stdlib.h>
#include "bench-malloc.h"

/* reuse: malloc and free one 64-byte object, over and over. */
static void work_reuse(struct run *run, int id, uint64_t *pairs)
{
	uint64_t n = 0;

	(void)id;
	while (!stopped(run)) {
		for (int i = 0; i < CHECK_EVERY; i++) {
			void *p = malloc(64);

			touch(p, 64);
			free(p);
		}
		n += CHECK_EVERY;
	}
	*pairs = n;
}

/* A ring of RING live objects of one size: free the oldest, allocate
 * its replacement. The ring starts full and is emptied at the end. */
static void ring_of(struct run *run, size_t size, uint64_t *pairs)
{
	void *ring[RING];
	uint64_t n = 0;

	for (int i = 0; i < RING; i++)
		ring[i] = malloc(size);
	while (!stopped(run)) {
		for (int i = 0; i < CHECK_EVERY; i++) {
			void **slot = &ring[i % RING];

			free(*slot);
			*slot = malloc(size);
			touch(*slot, size);
		}
		n += CHECK_EVERY;
	}
	for (int i = 0; i < RING; i++)
		free(ring[i]);
	*pairs = n;
}

static void work_ring16(struct run *run, int id, uint64_t *pairs)
{
	(void)id;
	ring_of(run, 16, pairs);
}

static void work_ring64(struct run *run, int id, uint64_t *pairs)
{
	(void)id;
	ring_of(run, 64, pairs);
}

static void work_ring256(struct run *run, int id, uint64_t *pairs)
{
	(void)id;
	ring_of(run, 256, pairs);
}

/* batch: allocate 1000 objects of 64 B, then free them in the same order. */
static void work_batch(struct run *run, int id, uint64_t *pairs)
{
	void *held[BATCH];
	uint64_t n = 0;

	(void)id;
	while (!stopped(run)) {
		for (int i = 0; i < BATCH; i++) {
			held[i] = malloc(64);
			touch(held[i], 64);
		}
		for (int i = 0; i < BATCH; i++)
			free(held[i]);
		n += BATCH;
	}
	*pairs = n;
}

/* The size mix: log-uniform over 8 B..4 KiB, and one time in 256 a
 * large object of 32..256 KiB. */
static size_t mixed_size(uint64_t *seed)
{
	uint64_t r = rnd_next(seed);
	size_t base;

	if ((r & 255) == 0)
		return 32768 + (size_t)((r >> 16) % (224 * 1024));
	base = (size_t)8 << ((r >> 8) % 9);	/* 8 .. 2048 */
	return base + (size_t)((r >> 24) % base);	/* up to 4095 */
}

/* mixed: a ring of RING live objects of mixed sizes; the sequence of
 * sizes depends only on the thread's index. */
static void work_mixed(struct run *run, int id, uint64_t *pairs)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);
	void *ring[RING];
	uint64_t n = 0;

	for (int i = 0; i < RING; i++)
		ring[i] = malloc(mixed_size(&seed));
	while (!stopped(run)) {
		for (int i = 0; i < CHECK_EVERY; i++) {
			void **slot = &ring[i % RING];
			size_t size = mixed_size(&seed);

			free(*slot);
			*slot = malloc(size);
			touch(*slot, size);
		}
		n += CHECK_EVERY;
	}
	for (int i = 0; i < RING; i++)
		free(ring[i]);
	*pairs = n;
}

/* Defined in share.c. */
void work_prodcons(struct run *run, int id, uint64_t *pairs);
int setup_prodcons(struct run *run);
void teardown_prodcons(struct run *run);
void work_larson(struct run *run, int id, uint64_t *pairs);
int setup_larson(struct run *run);
void teardown_larson(struct run *run);
void work_scratch(struct run *run, int id, uint64_t *pairs);
int setup_scratch(struct run *run);
void teardown_scratch(struct run *run);

const struct workload workloads[] = {
	{ "reuse", "malloc+free of one 64 B object", work_reuse, NULL, NULL, 1 },
	{ "ring16", "64 live 16 B objects, oldest replaced", work_ring16, NULL, NULL, 1 },
	{ "ring64", "64 live 64 B objects, oldest replaced", work_ring64, NULL, NULL, 1 },
	{ "ring256", "64 live 256 B objects, oldest replaced", work_ring256, NULL, NULL, 1 },
	{ "batch", "allocate 1000 x 64 B, free 1000", work_batch, NULL, NULL, 1 },
	{ "mixed", "64 live, 8 B-4 KiB log-uniform, 1/256 32-256 KiB", work_mixed, NULL, NULL, 1 },
	{ "prodcons", "64 B allocated on one thread, freed on another", work_prodcons,
	  setup_prodcons, teardown_prodcons, 2 },
	{ "larson", "pools of 1024 slots (16-512 B) passed between threads", work_larson,
	  setup_larson, teardown_larson, 1 },
	{ "scratch", "8 B objects from main, rewritten by workers, reused", work_scratch,
	  setup_scratch, teardown_scratch, 1 },
};
const int nr_workloads = sizeof(workloads) / sizeof(workloads[0]);
