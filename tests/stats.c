// SPDX-License-Identifier: MIT
/*
 * tests/stats.c: counters and gauges of percpu/stats.h in the mode
 * PERCPU_TEST_MODE names. Exactness with threads on every CPU: N threads x
 * M adds, resets racing with adds (nothing lost or counted twice), the
 * kill switch thrown while adds and resets run; the cheap read's stated
 * staleness; up-down and atomic gauges.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include "stats_util.h"

#define ADDS 200000L

static void *count_up(void *arg, int index)
{
	struct percpu_counter *c = arg;

	(void)index;
	for (long k = 0; k < ADDS; k++) {
		percpu_counter_add(c, 1);
		if (k % 4096 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_counter_exact(void)
{
	struct percpu_counter c;
	struct worker w[THREADS];

	ok(percpu_counter_init(&c) == 0 && percpu_counter_sum(&c) == 0,
	   "counter starts at 0");
	spawn_all(w, THREADS, count_up, &c);
	join_all(w, THREADS);
	ok(percpu_counter_sum(&c) == THREADS * ADDS,
	   "%d threads x %ld adds: sum %ld", THREADS, ADDS,
	   (long)percpu_counter_sum(&c));
	ok(percpu_counter_read(&c, 0) == THREADS * ADDS, "read(c, 0) is exact");
	errno = 0;
	ok(percpu_counter_add(&c, -1) == -1 && errno == EINVAL &&
	   percpu_counter_sum(&c) == THREADS * ADDS,
	   "a negative add: -1, EINVAL, the counter unchanged");
	percpu_counter_destroy(&c);
}

/* A counter, and what every thread that reset it took. */
struct taking {
	struct percpu_counter c;
	intptr_t total;
	long resets, nonzero, failed;
	int writers_done;
	int kill;		/* writer 0 throws the kill switch halfway */
};

static void take(struct taking *t)
{
	intptr_t taken;
	int rc = percpu_counter_reset(&t->c, &taken);

	__atomic_fetch_add(&t->total, taken, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->resets, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->nonzero, taken != 0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->failed, rc != 0, __ATOMIC_RELAXED);
}

/* Writers reset too, every 4096 adds: then resets fall between adds
 * however the threads are scheduled, even on a machine too busy to run the
 * main thread's resets beside them. */
static void *add_and_take(void *arg, int index)
{
	struct taking *t = arg;

	for (long k = 1; k <= ADDS; k++) {
		percpu_counter_add(&t->c, 1);
		if (k % 4096 == 0)
			take(t);
		if (t->kill && index == 0 && k == ADDS / 2)
			percpu_disable_rseq();
	}
	__atomic_fetch_add(&t->writers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * THREADS threads add and reset while the main thread resets; with `kill`
 * one of them throws the kill switch halfway, so adds, resets and the
 * switch to the lock path all overlap.
 */
static void reset_under_load(int kill)
{
	struct taking t = { .kill = kill };
	struct worker w[THREADS];

	percpu_counter_init(&t.c);
	spawn_all(w, THREADS, add_and_take, &t);
	while (__atomic_load_n(&t.writers_done, __ATOMIC_ACQUIRE) < THREADS)
		take(&t);
	join_all(w, THREADS);
	ok(!t.failed && t.total + percpu_counter_sum(&t.c) == THREADS * ADDS,
	   "reset under load%s: %ld resets (%ld took adds) + final = %ld adds",
	   kill ? ", kill switch thrown" : "", t.resets, t.nonzero,
	   THREADS * ADDS);
	ok(t.nonzero > 1, "resets took adds while adds ran");
	percpu_counter_destroy(&t.c);
}

static uint64_t coarse_resolution_ns(void)
{
	struct timespec res;

	clock_getres(CLOCK_MONOTONIC_COARSE, &res);
	return (uint64_t)res.tv_sec * 1000000000u + (uint64_t)res.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u),
			       (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void test_counter_read(void)
{
	uint64_t age = 1000000, res = coarse_resolution_ns();
	struct percpu_counter c;
	intptr_t taken;

	percpu_counter_init(&c);
	percpu_counter_add(&c, 5);
	ok(percpu_counter_read(&c, UINT64_MAX) == 5, "first read sums");
	percpu_counter_add(&c, 3);
	ok(percpu_counter_read(&c, UINT64_MAX) == 5,
	   "a read within max_age may give the cached value");
	ok(percpu_counter_read(&c, 0) == 8, "max_age 0 sums");
	sleep_ns(2 * (age + res));
	percpu_counter_add(&c, 1);
	ok(percpu_counter_read(&c, age) == 9,
	   "a cache older than max_age + resolution (%llu ns) is refilled",
	   (unsigned long long)res);
	ok(percpu_counter_reset(&c, &taken) == 0 && taken == 9,
	   "reset takes 9");
	ok(percpu_counter_read(&c, UINT64_MAX) == 0,
	   "a read after a reset never gives a value from before it");
	percpu_counter_destroy(&c);
}

struct gauges {
	struct percpu_updown updown;
	struct percpu_gauge gauge;
};

static void *move_gauges(void *arg, int index)
{
	struct gauges *g = arg;

	for (long k = 0; k < ADDS / 4; k++) {
		percpu_updown_add(&g->updown, 1);
		percpu_gauge_add(&g->gauge, 2);
		if (k % 1024 == 0)
			sched_yield();
		percpu_updown_add(&g->updown, -1);
		percpu_gauge_add(&g->gauge, -1);
	}
	percpu_updown_add(&g->updown, index);
	return NULL;
}

static void test_gauges(void)
{
	struct gauges g = { { NULL }, PERCPU_GAUGE_INIT };
	struct worker w[THREADS];

	ok(percpu_updown_init(&g.updown) == 0 &&
	   percpu_updown_sum(&g.updown) == 0, "updown starts at 0");
	spawn_all(w, THREADS, move_gauges, &g);
	join_all(w, THREADS);
	ok(percpu_updown_sum(&g.updown) == THREADS * (THREADS - 1) / 2,
	   "updown: +1/-1 pairs cancel, the rest adds up");
	ok(percpu_gauge_read(&g.gauge) == THREADS * ADDS / 4,
	   "atomic gauge: concurrent adds");
	percpu_gauge_set(&g.gauge, -42);
	ok(percpu_gauge_read(&g.gauge) == -42, "atomic gauge: set");
	percpu_updown_destroy(&g.updown);
}

int main(void)
{
	tap_check_mode();
	test_counter_exact();
	reset_under_load(0);
	test_counter_read();
	test_gauges();
	if (test_mode() != TEST_LOCK) {
		reset_under_load(1);
		ok(percpu_mode_get(NULL) == PERCPU_MODE_LOCK,
		   "in lock mode now");
		test_counter_exact();
		reset_under_load(0);
	}
	return tap_done();
}
