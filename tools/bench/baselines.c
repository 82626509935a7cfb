// SPDX-License-Identifier: MIT
/*
 * tools/bench/baselines.c: percpu-bench's baselines, the same work done
 * without the library, measured in the same run: a thread-local counter,
 * one shared atomic word, sched_getcpu() with an atomic add on that CPU's
 * slot, and a word under a pthread mutex.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

struct slot {
	uint64_t n;
} __attribute__((aligned(CACHE_LINE)));

/* The memory each baseline works on; hot words on their own lines. */
static struct {
	struct slot *slots;	/* per CPU, for sched_getcpu() + atomic */
	unsigned int nr_slots;
	uint64_t shared_word __attribute__((aligned(CACHE_LINE)));
	pthread_mutex_t mutex __attribute__((aligned(CACHE_LINE)));
	uint64_t mutex_word;
} target;

static __thread uint64_t tls_count;

/* The empty asm makes the compiler keep the counter in memory and do every
 * increment, as a real thread-local counter that others may read would. */
TIMED_LOOP loop_tls_inc(void)
{
	struct thread_state *me = take_thread_state();
	uint64_t ops = 0;

	tls_count = 0;
	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			tls_count++;
			__asm__ __volatile__("" : "+m"(tls_count));
		}
		ops += BATCH;
	}
	me->count = tls_count;
	return ops;
}
PLACED(loop_tls_inc);

void reset_shared_word(void)
{
	target.shared_word = 0;
}

TIMED_LOOP loop_atomic_shared(void)
{
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			__atomic_fetch_add(&target.shared_word, 1,
					   __ATOMIC_RELAXED);
		ops += BATCH;
	}
	return ops;
}
PLACED(loop_atomic_shared);

uint64_t total_shared_word(void)
{
	return target.shared_word;
}

void reset_slots(void)
{
	memset(target.slots, 0, target.nr_slots * sizeof(*target.slots));
}

TIMED_LOOP loop_getcpu_atomic(void)
{
	struct slot *slots = target.slots;
	unsigned int n = target.nr_slots;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			unsigned int cpu = (unsigned int)sched_getcpu();

			__atomic_fetch_add(&slots[cpu < n ? cpu : 0].n, 1,
					   __ATOMIC_RELAXED);
		}
		ops += BATCH;
	}
	return ops;
}
PLACED(loop_getcpu_atomic);

uint64_t total_slots(void)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < target.nr_slots; i++)
		sum += target.slots[i].n;
	return sum;
}

void reset_mutex_word(void)
{
	target.mutex_word = 0;
}

TIMED_LOOP loop_mutex(void)
{
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			pthread_mutex_lock(&target.mutex);
			target.mutex_word++;
			pthread_mutex_unlock(&target.mutex);
		}
		ops += BATCH;
	}
	return ops;
}
PLACED(loop_mutex);

uint64_t total_mutex_word(void)
{
	return target.mutex_word;
}

void setup_baselines(void)
{
	target.nr_slots = (unsigned int)percpu_nr_shards();
	target.slots = aligned_alloc(CACHE_LINE,
				     target.nr_slots * sizeof(*target.slots));
	if (!target.slots)
		die("out of memory");
	pthread_mutex_init(&target.mutex, NULL);
}
