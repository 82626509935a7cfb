// SPDX-License-Identifier: MIT
/* src/stats/counter.c: counters and up-down gauges (see percpu/stats.h). */
#include <errno.h>
#include "internal.h"
#include "runtime/clock.h"

/* Words are summed as unsigned so that a counter that wraps stays exact
 * modulo 2^64 instead of overflowing a signed sum. */
static intptr_t sum_shards(intptr_t *p)
{
	uintptr_t sum = 0;

	for (int s = 0; s < percpu_nr_shards(); s++)
		sum += (uintptr_t)__atomic_load_n(
			(intptr_t *)percpu_ptr(p, s), __ATOMIC_RELAXED);
	return (intptr_t)sum;
}

/*
 * A thread holds a counter's refill mutex only inside this gate, shared.
 * Before fork the gate is taken exclusively (the runtime's atfork handlers
 * call percpu_stats_counter_fork_*), so no refill mutex is held at the
 * fork: the child, left with the forking thread only, would find it held
 * for ever. Writers first: refills running back to back must not keep a
 * fork waiting. No thread takes the gate twice.
 */
static const pthread_rwlock_t gate_initial = PERCPU_FORK_GATE_INITIALIZER;
static pthread_rwlock_t fork_gate = PERCPU_FORK_GATE_INITIALIZER;

static void refill_lock(struct percpu_counter *c)
{
	pthread_rwlock_rdlock(&fork_gate);
	pthread_mutex_lock(&c->refill);
}

static void refill_unlock(struct percpu_counter *c)
{
	pthread_mutex_unlock(&c->refill);
	pthread_rwlock_unlock(&fork_gate);
}

void percpu_stats_counter_fork_prepare(void)
{
	pthread_rwlock_wrlock(&fork_gate);
}

void percpu_stats_counter_fork_parent(void)
{
	pthread_rwlock_unlock(&fork_gate);
}

/* A fresh gate: in the child the thread has a new id, and the rwlock would
 * not recognize it as the writer. */
void percpu_stats_counter_fork_child(void)
{
	fork_gate = gate_initial;
}

int percpu_counter_init(struct percpu_counter *c)
{
	c->shards = percpu_alloc(sizeof(intptr_t));
	if (!c->shards)
		return -1;
	c->cached = 0;
	c->cached_at = 0;
	pthread_mutex_init(&c->refill, NULL);
	return 0;
}

void percpu_counter_destroy(struct percpu_counter *c)
{
	pthread_mutex_destroy(&c->refill);
	percpu_free(c->shards);
	c->shards = NULL;
}

intptr_t percpu_counter_sum(const struct percpu_counter *c)
{
	return sum_shards(c->shards);
}

/* Never 0, which marks an empty cache. */
static uint64_t coarse_now(void)
{
	return percpu_coarse_ns() + 1;
}

static int cache_fresh(const struct percpu_counter *c, uint64_t now,
		       uint64_t max_age_ns)
{
	uint64_t at = __atomic_load_n(&c->cached_at, __ATOMIC_ACQUIRE);

	return at && now - at <= max_age_ns;
}

/*
 * The time is taken before the sum, so the cache never claims to be
 * younger than it is. Refills are serialized: cached and cached_at then
 * only ever move forward together, and a reader that saw a time sees that
 * sum or a later one.
 */
static intptr_t refill(struct percpu_counter *c, uint64_t max_age_ns)
{
	uint64_t now;
	intptr_t v;

	refill_lock(c);
	now = coarse_now();
	if (max_age_ns && cache_fresh(c, now, max_age_ns)) {
		v = __atomic_load_n(&c->cached, __ATOMIC_RELAXED);
	} else {
		v = sum_shards(c->shards);
		__atomic_store_n(&c->cached, v, __ATOMIC_RELAXED);
		__atomic_store_n(&c->cached_at, now, __ATOMIC_RELEASE);
	}
	refill_unlock(c);
	return v;
}

intptr_t percpu_counter_read(struct percpu_counter *c, uint64_t max_age_ns)
{
	if (max_age_ns && cache_fresh(c, coarse_now(), max_age_ns))
		return __atomic_load_n(&c->cached, __ATOMIC_RELAXED);
	return refill(c, max_age_ns);
}

struct take {
	intptr_t *p;
	uintptr_t total;
};

/* Lock-mode adds are atomic instructions that do not wait for the shard
 * word (percpu/remote.h), so the take must be an atomic exchange too. */
static void take_shard(void *arg, int shard)
{
	struct take *t = arg;

	t->total += (uintptr_t)__atomic_exchange_n(
		(intptr_t *)percpu_ptr(t->p, shard), 0, __ATOMIC_SEQ_CST);
}

/*
 * percpu_remote() rather than percpu_remote_xchg(): its -1 tells an error
 * apart from a shard that held 0. Under the refill mutex, so that no refill
 * straddles the reset and leaves a sum from before it in the cache.
 */
int percpu_counter_reset(struct percpu_counter *c, intptr_t *taken)
{
	struct take t = { c->shards, 0 };
	int rc = 0;

	refill_lock(c);
	for (int s = 0; s < percpu_nr_shards() && !rc; s++)
		rc = percpu_remote(s, take_shard, &t);
	__atomic_store_n(&c->cached_at, 0, __ATOMIC_RELEASE);
	refill_unlock(c);
	*taken = (intptr_t)t.total;
	return rc;
}

int percpu_updown_init(struct percpu_updown *u)
{
	u->shards = percpu_alloc(sizeof(intptr_t));
	return u->shards ? 0 : -1;
}

void percpu_updown_destroy(struct percpu_updown *u)
{
	percpu_free(u->shards);
	u->shards = NULL;
}

intptr_t percpu_updown_sum(const struct percpu_updown *u)
{
	return sum_shards(u->shards);
}
