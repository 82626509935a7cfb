// SPDX-License-Identifier: MIT
/*
 * tools/bench/stats.c: percpu-bench's adapters for percpu/stats.h. A
 * counter add and a histogram record, each against the same work on shared
 * memory with atomic instructions, as a program without per-CPU memory
 * would do it.
 *
 * Both histograms record the same values through the same bucket function
 * and keep the same things: the bucket count, a 128-bit sum, the minimum
 * and the maximum. The values cycle through a fixed table spread over ten
 * powers of two (1 us to about 0.5 ms in ns, like request latencies), each
 * thread from its own place in it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define NR_VALUES 1024u		/* a power of two: the index is masked */

struct shared_histogram {
	uint64_t sum_lo, sum_hi, max, not_min;
	uint64_t buckets[PERCPU_HIST_MAX_BUCKETS + 1];
} __attribute__((aligned(CACHE_LINE)));

static struct {
	struct percpu_counter counter;
	struct percpu_histogram histogram;
	struct shared_histogram *shared;
	uint64_t values[NR_VALUES];
	unsigned int next_start;	/* where the next thread starts */
} stats;

void reset_stats_counter(void)
{
	intptr_t taken;

	if (percpu_counter_reset(&stats.counter, &taken))
		die("percpu_counter_reset: %s", strerror(errno));
}

TIMED_LOOP loop_counter_add(void)
{
	struct percpu_counter *c = &stats.counter;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			percpu_counter_add(c, 1);
		ops += BATCH;
	}
	return ops;
}
PLACED(loop_counter_add);

uint64_t total_stats_counter(void)
{
	return (uint64_t)percpu_counter_sum(&stats.counter);
}

static unsigned int start_index(void)
{
	return __atomic_fetch_add(&stats.next_start, 97, __ATOMIC_RELAXED);
}

void reset_histogram(void)
{
	percpu_histogram_destroy(&stats.histogram);
	if (percpu_histogram_init(&stats.histogram, UINT64_MAX))
		die("out of memory");
}

TIMED_LOOP loop_histogram_record(void)
{
	struct percpu_histogram *h = &stats.histogram;
	unsigned int k = start_index();
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			percpu_histogram_record(
				h, stats.values[k++ & (NR_VALUES - 1)]);
		ops += BATCH;
	}
	return ops;
}
PLACED(loop_histogram_record);

uint64_t total_histogram(void)
{
	struct percpu_histogram_snapshot s;
	uint64_t count;

	if (percpu_histogram_snapshot_take(&stats.histogram, &s))
		die("out of memory");
	count = s.count;
	percpu_histogram_snapshot_destroy(&s);
	return count;
}

void reset_shared_histogram(void)
{
	memset(stats.shared, 0, sizeof(*stats.shared));
}

ALWAYS_INLINE void shared_raise(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (cur < v && !__atomic_compare_exchange_n(p, &cur, v, 1,
						       __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

/* percpu_histogram_record() step by step, with atomics on shared words. */
ALWAYS_INLINE void shared_record(struct shared_histogram *h, uint64_t v)
{
	size_t i = percpu_histogram_index(v);
	uint64_t old;

	if (i >= PERCPU_HIST_MAX_BUCKETS)
		i = PERCPU_HIST_MAX_BUCKETS;
	__atomic_fetch_add(&h->buckets[i], 1, __ATOMIC_RELAXED);
	old = __atomic_fetch_add(&h->sum_lo, v, __ATOMIC_RELAXED);
	if (old + v < old)
		__atomic_fetch_add(&h->sum_hi, 1, __ATOMIC_RELAXED);
	shared_raise(&h->max, v);
	shared_raise(&h->not_min, ~v);
}

TIMED_LOOP loop_shared_histogram(void)
{
	struct shared_histogram *h = stats.shared;
	unsigned int k = start_index();
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			shared_record(h, stats.values[k++ & (NR_VALUES - 1)]);
		ops += BATCH;
	}
	return ops;
}
PLACED(loop_shared_histogram);

uint64_t total_shared_histogram(void)
{
	uint64_t count = 0;

	for (size_t i = 0; i <= PERCPU_HIST_MAX_BUCKETS; i++)
		count += stats.shared->buckets[i];
	return count;
}

/* 1000 ns times 2^0 .. 2^9, plus a spread inside each power of two. */
void setup_stats(void)
{
	for (unsigned int k = 0; k < NR_VALUES; k++)
		stats.values[k] = (1000u << (k % 10)) + (k * 7919u) % 1000u;
	stats.shared = aligned_alloc(CACHE_LINE, sizeof(*stats.shared));
	if (!stats.shared || percpu_counter_init(&stats.counter) ||
	    percpu_histogram_init(&stats.histogram, UINT64_MAX))
		die("out of memory");
}
