/* SPDX-License-Identifier: MIT */
/*
 * tools/bench-malloc/bench-malloc.h: what the files of bench-malloc share.
 * main.c reads the options, starts the threads and times them; work.c and
 * share.c hold the workloads (one thread function each); rss.c is the
 * resident-memory mode. The program links nothing but libc and pthreads:
 * the allocator under test is whatever LD_PRELOAD puts first.
 */
#ifndef BENCH_MALLOC_H
#define BENCH_MALLOC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_LINE 64
#define MAX_THREADS 1024
/* Pairs between two looks at the stop flag. */
#define CHECK_EVERY 256
/* ring*, mixed: live objects per thread. */
#define RING 64
/* batch: objects per batch. */
#define BATCH 1000
/* larson: slots per pool, replacements per turn on a pool. */
#define POOL_SLOTS 1024
#define POOL_TURN 1000
/* prodcons: slots in each producer-consumer queue (a power of two). */
#define QUEUE_SLOTS 1024
/* scratch: object size and stores into each object. */
#define SCRATCH_SIZE 8
#define SCRATCH_WRITES 64

struct run;

/* One thread of a workload: counts its malloc+free pairs in *pairs. */
typedef void (*work_fn)(struct run *run, int id, uint64_t *pairs);

/* A workload: its name, thread function, and optional set-up and
 * tear-down run by the main thread outside the timed region. */
struct workload {
	const char *name;
	const char *what;
	work_fn work;
	int (*setup)(struct run *run);
	void (*teardown)(struct run *run);
	int min_threads;
};

struct run {
	const struct workload *w;
	int threads;
	atomic_int stop;
	void *shared;		/* the workload's own state (setup) */
	pthread_barrier_t start;
};

/* Per-thread results, one cache line each. */
struct slot {
	uint64_t pairs;
	char pad[CACHE_LINE - sizeof(uint64_t)];
};

extern const struct workload workloads[];
extern const int nr_workloads;

/* Keeps the compiler from eliding a malloc+free pair: p escapes. */
static inline void escape(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* Writes the first bytes of a fresh object, as a user would. */
static inline void touch(void *p, size_t size)
{
	*(volatile char *)p = (char)size;
	escape(p);
}

/* xorshift64*: a fixed sequence per seed, the same for every allocator. */
static inline uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static inline int stopped(struct run *run)
{
	return atomic_load_explicit(&run->stop, memory_order_relaxed);
}

/* rss.c: the resident-memory mode; prints its CSV line. */
int rss_mode(int threads);
/* main.c: VmRSS of this process in KiB, or -1. */
long vm_rss_kb(void);

#endif
