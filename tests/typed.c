// SPDX-License-Identifier: MIT
/*
 * tests/typed.c: typed C access, in the mode PERCPU_TEST_MODE names:
 * percpu_ptr keeps its argument's type (checked at compile time) and
 * evaluates it once; PERCPU_FOR_EACH_SHARD visits every shard once, in
 * order, and nests; percpu_sum and percpu_sum_u64 are exact after threads
 * added concurrently; the _u64 operations handle values above INT64_MAX
 * and an int64_t * goes to the intptr_t operations without a cast (this
 * file builds with -Werror); percpu_remote_xchg2 tells an error from an
 * old value of 0, and loses no add while threads add.
 */
#include <errno.h>
#include "stats_util.h"

#define ADDS 100000L

struct pair {
	intptr_t a, b;
};

#define SAME_TYPE(x, type) __builtin_types_compatible_p(__typeof__(x), type)

/* Compile-time: the type in, the type out, const kept; the function
 * itself still returns void *. */
static void test_ptr_types(struct pair *p, const intptr_t *c)
{
	_Static_assert(SAME_TYPE(percpu_ptr(p, 0), struct pair *),
		       "percpu_ptr keeps struct pair *");
	_Static_assert(SAME_TYPE(percpu_ptr(c, 0), const intptr_t *),
		       "percpu_ptr keeps const intptr_t *");
	_Static_assert(SAME_TYPE((percpu_ptr)(p, 0), void *),
		       "(percpu_ptr) is the void * function");
	_Static_assert(SAME_TYPE(int64_t *, intptr_t *),
		       "int64_t * is intptr_t * (percpu/ops.h, _u64)");
	(void)p;
	(void)c;
}

static int evaluations;

static struct pair *counted(struct pair *p)
{
	evaluations++;
	return p;
}

static void test_ptr(void)
{
	struct pair *p = percpu_alloc(sizeof(*p));
	int last = percpu_nr_shards() - 1;

	test_ptr_types(p, &p->a);
	percpu_ptr(p, last)->b = 7;
	ok((char *)percpu_ptr(p, last) == (char *)p + (size_t)last * PERCPU_STRIDE &&
	   ((struct pair *)((char *)p + (size_t)last * PERCPU_STRIDE))->b == 7,
	   "percpu_ptr(p, last)->b writes shard %d's copy", last);
	ok(percpu_ptr(counted(p), 0) == p, "percpu_ptr(p, 0) == p");
	ok(evaluations == 1, "percpu_ptr evaluates p once (%d)", evaluations);
	errno = 0;
	ok(percpu_ptr(p, last + 1) == NULL && errno == EINVAL,
	   "percpu_ptr(p, nr_shards): NULL, EINVAL");
	percpu_free(p);
}

static void test_for_each(void)
{
	int n = percpu_nr_shards(), next = 0, in_order = 1, pairs = 0;

	PERCPU_FOR_EACH_SHARD(s) {
		in_order &= s == next++;
		PERCPU_FOR_EACH_SHARD(t)
			pairs++;
	}
	ok(in_order && next == n && pairs == n * n,
	   "PERCPU_FOR_EACH_SHARD: 0 .. %d once each, in order; nested: %d pairs",
	   n - 1, pairs);
}

/* What the adding threads work on. */
static struct {
	intptr_t *word;
	uint64_t *big;
	int64_t *signed64;
	int stop;
} g;

/* Each add of `big` is above INT64_MAX, every bit pattern alike (the
 * golden ratio's): the sum wraps past 2^64 many times and must come out
 * exact modulo 2^64. */
#define BIG_STEP UINT64_C(0x9e3779b97f4a7c15)

static void *add_all(void *arg, int index)
{
	(void)arg;
	(void)index;
	for (long k = 0; k < ADDS; k++) {
		percpu_add(g.word, 1);
		percpu_add_u64(g.big, BIG_STEP);
		percpu_add(g.signed64, -2);
		if (k % 4096 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_sums(void)
{
	struct worker w[THREADS];
	uint64_t want_big = (uint64_t)THREADS * ADDS * BIG_STEP;

	g.word = percpu_alloc(sizeof(intptr_t));
	g.big = percpu_alloc(sizeof(uint64_t));
	g.signed64 = percpu_alloc(sizeof(int64_t));
	spawn_all(w, THREADS, add_all, NULL);
	join_all(w, THREADS);
	ok(percpu_sum(g.word) == THREADS * ADDS, "percpu_sum: %ld, want %ld",
	   (long)percpu_sum(g.word), THREADS * ADDS);
	ok(percpu_sum_u64(g.big) == want_big,
	   "percpu_sum_u64 of adds above INT64_MAX: %llu, want %llu",
	   (unsigned long long)percpu_sum_u64(g.big),
	   (unsigned long long)want_big);
	ok(percpu_sum(g.signed64) == -2 * THREADS * ADDS,
	   "percpu_add on an int64_t *: sum %ld", (long)percpu_sum(g.signed64));
	percpu_free(g.word);
	percpu_free(g.big);
	percpu_free(g.signed64);
}

/* Every _u64 operation once, with values above INT64_MAX, pinned to one
 * CPU so that every call works on the same shard. */
static void test_u64_ops(void)
{
	uint64_t *p = percpu_alloc(sizeof(uint64_t));
	const uint64_t top = UINT64_MAX - 1;
	int shard, loaded_on;

	test_pin_to(sched_getcpu());
	shard = percpu_store_u64(p, top);
	ok(percpu_load_u64(p, &loaded_on) == top && loaded_on == shard &&
	   *percpu_ptr(p, shard) == top, "store_u64, load_u64 of 2^64 - 2");
	ok(percpu_cas_u64(p, shard, top, top - 2) == PERCPU_OK &&
	   percpu_cas_u64(p, shard, top, 1) == PERCPU_CHANGED &&
	   *percpu_ptr(p, shard) == top - 2,
	   "cas_u64: stores on a match above INT64_MAX, not on a mismatch");
	percpu_add_u64(p, 1);
	ok(percpu_fetch_add_u64(p, 1, NULL) == top - 1 &&
	   percpu_xchg_u64(p, 5, NULL) == top && percpu_load_u64(p, NULL) == 5,
	   "add_u64, fetch_add_u64, xchg_u64 above INT64_MAX");
	test_unpin();
	percpu_free(p);
}

struct on_shard {
	intptr_t *p;
	int r, err;
};

static void xchg_from_remote(void *arg, int shard)
{
	struct on_shard *o = arg;
	intptr_t old;

	(void)shard;
	errno = 0;
	o->r = percpu_remote_xchg2(o->p, 0, 1, &old);
	o->err = errno;
}

static void test_remote_xchg2_errors(void)
{
	intptr_t *p = percpu_alloc(sizeof(intptr_t));
	intptr_t old = 42;
	struct on_shard o = { p, 0, 0 };
	int n = percpu_nr_shards();

	ok(percpu_remote_xchg2(p, n - 1, 9, &old) == 0 && old == 0 &&
	   *percpu_ptr(p, n - 1) == 9,
	   "remote_xchg2 of a 0: returns 0, old 0, the word 9");
	old = 42;
	errno = 0;
	ok(percpu_remote_xchg2(p, n, 1, &old) == -1 && errno == EINVAL &&
	   old == 42, "remote_xchg2 on shard nr_shards: -1, EINVAL, old kept");
	errno = 0;
	ok(percpu_remote_xchg2(p, -1, 1, &old) == -1 && errno == EINVAL,
	   "remote_xchg2 on shard -1: -1, EINVAL");
	errno = 0;
	ok(percpu_remote_xchg2(p, 0, 1, NULL) == -1 && errno == EINVAL &&
	   *percpu_ptr(p, 0) == 0, "remote_xchg2 with old NULL: -1, EINVAL, word kept");
	ok(percpu_remote(n - 1, xchg_from_remote, &o) == 0 && o.r == -1 &&
	   o.err == EDEADLK && *percpu_ptr(p, 0) == 0,
	   "remote_xchg2 from a percpu_remote function: -1, EDEADLK");
	errno = 0;
	ok(percpu_remote_xchg(p, n - 1, 0) == 9 && errno == 0 &&
	   percpu_remote_xchg(p, n, 0) == 0 && errno == EINVAL,
	   "remote_xchg: old value 9; 0 with EINVAL on a bad shard");
	percpu_free(p);
}

static void *add_until_stop(void *arg, int index)
{
	long *done = arg;

	while (!__atomic_load_n(&g.stop, __ATOMIC_RELAXED)) {
		percpu_add(g.word, 1);
		done[index]++;
	}
	return NULL;
}

/* Resets race with adds: every add is taken once or left in the word. */
static void test_remote_xchg2_exact(void)
{
	struct worker w[THREADS];
	long done[THREADS] = { 0 }, added = 0;
	intptr_t taken = 0, old;
	int failed = 0;

	g.word = percpu_alloc(sizeof(intptr_t));
	g.stop = 0;
	spawn_all(w, THREADS, add_until_stop, done);
	for (int round = 0; round < 200; round++)
		PERCPU_FOR_EACH_SHARD(s) {
			failed |= percpu_remote_xchg2(g.word, s, 0, &old);
			taken += old;
		}
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELAXED);
	join_all(w, THREADS);
	for (int i = 0; i < THREADS; i++)
		added += done[i];
	ok(!failed && taken + percpu_sum(g.word) == added,
	   "remote_xchg2 under adds: taken %ld + left %ld == added %ld",
	   (long)taken, (long)percpu_sum(g.word), added);
	percpu_free(g.word);
}

int main(void)
{
	tap_check_mode();
	test_ptr();
	test_for_each();
	test_sums();
	test_u64_ops();
	test_remote_xchg2_errors();
	test_remote_xchg2_exact();
	return tap_done();
}
