// SPDX-License-Identifier: MIT
/*
 * src/malloc/drain.c: per-CPU caches given back to the central lists. One
 * percpu_remote() per shard takes every class's cache of that shard at
 * once (a fence costs microseconds: this is rare work). It runs from
 * malloc_trim() and percpu_malloc_drain(), when the range or the kernel
 * refuses a span (memory pressure), and for idle shards: at most once a
 * second, a thread on the slow path looks at every shard's cached objects
 * and drains the shards whose caches have not changed since the last look
 * (a CPU, or in concurrency-id indexing a cid, that nothing runs on).
 */
#include "malloc_internal.h"
#include "runtime/clock.h"

#define MAX_TRACKED 1024
#define IDLE_NS 1000000000ull

static pthread_mutex_t drain_mu = PTHREAD_MUTEX_INITIALIZER;
/* What one percpu_remote() took: per class a run of drain_buf. */
static void *drain_buf[NR_CLASSES * 512];
static size_t drain_n[NR_CLASSES + 1];
static intptr_t last_sum[MAX_TRACKED];
static uint64_t last_scan;

/* In percpu_remote(): empty every class's cache of this shard. */
static void drain_on(void *arg, int shard)
{
	size_t at = 0;

	(void)arg;
	for (unsigned int cls = 1; cls <= NR_CLASSES; cls++) {
		struct percpu_stack *s;
		size_t n;

		drain_n[cls] = 0;
		if (!caches[cls])
			continue;	/* refused at set-up: no cache */
		s = percpu_ptr(caches[cls], shard);
		n = (size_t)s->count;

		for (size_t i = 0; i < n; i++)
			drain_buf[at + i] = s->slot[i];
		s->count = 0;
		drain_n[cls] = n;
		at += n;
	}
}

/* Drain one shard; drain lock held. Returns the objects taken. */
static size_t drain_shard(int shard)
{
	size_t at = 0;

	if (percpu_remote(shard, drain_on, NULL))
		return 0;
	for (unsigned int cls = 1; cls <= NR_CLASSES; cls++) {
		if (drain_n[cls]) {
			central_give(cls, drain_buf + at, drain_n[cls]);
			stat_add(cls, ST_DRAINED, (intptr_t)drain_n[cls]);
		}
		at += drain_n[cls];
	}
	gstat_add(G_DRAINS, 1);
	return at;
}

int drain_all(void)
{
	size_t n = 0;

	if (!caches[1])
		return 0;
	pthread_mutex_lock(&drain_mu);
	for (int s = 0; s < percpu_nr_shards(); s++) {
		n += drain_shard(s);
		if (s < MAX_TRACKED)
			last_sum[s] = 0;
	}
	pthread_mutex_unlock(&drain_mu);
	central_flush();
	return (int)n;
}

static intptr_t shard_cached(int shard)
{
	intptr_t sum = 0;

	for (unsigned int cls = 1; cls <= NR_CLASSES; cls++)
		if (caches[cls])
			sum += __atomic_load_n(
				&((struct percpu_stack *)percpu_ptr(caches[cls],
								    shard))
					 ->count,
				__ATOMIC_RELAXED);
	return sum;
}

/* From the slow path of shard `self`: drain the shards gone quiet. */
void drain_idle(int self)
{
	uint64_t now = percpu_coarse_ns();
	int n = percpu_nr_shards();

	if (now - __atomic_load_n(&last_scan, __ATOMIC_RELAXED) < IDLE_NS ||
	    !caches[1] || pthread_mutex_trylock(&drain_mu))
		return;
	last_scan = now;
	for (int s = 0; s < n && s < MAX_TRACKED; s++) {
		intptr_t sum = shard_cached(s);

		if (s != self && sum && sum == last_sum[s]) {
			drain_shard(s);
			sum = 0;
		}
		last_sum[s] = sum;
	}
	pthread_mutex_unlock(&drain_mu);
}

void drain_lock(void)
{
	pthread_mutex_lock(&drain_mu);
}

void drain_unlock(void)
{
	pthread_mutex_unlock(&drain_mu);
}

uint64_t cached_objects(unsigned int cls)
{
	uint64_t sum = tc_cached(cls);

	if (!caches[cls])
		return sum;
	for (int s = 0; s < percpu_nr_shards(); s++)
		sum += (uint64_t)__atomic_load_n(
			&((struct percpu_stack *)percpu_ptr(caches[cls], s))
				 ->count,
			__ATOMIC_RELAXED);
	return sum;
}

EXPORT size_t percpu_malloc_drain(void)
{
	return (size_t)drain_all();
}
