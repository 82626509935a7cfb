/* SPDX-License-Identifier: MIT */
/*
 * tests/tap.h: TAP output and the test modes. Every test binary reads
 * PERCPU_TEST_MODE: "rseq" (the process must be in rseq mode), "lock" (run
 * with PERCPU_DISABLE_RSEQ=1: must be in lock mode), or "mixed" (rseq, but
 * the threads for which test_thread_setup() is told so take the lock path).
 */
#ifndef PERCPU_TESTS_TAP_H
#define PERCPU_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <percpu.h>
#include <percpu/inject.h>	/* the tests build with PERCPU_INJECT */

/* Weak rather than static: the files of a test program of several files
 * (tests/param/) share one count, so the plan covers every test point. */
__attribute__((weak)) int tap_count, tap_failures;

static __attribute__((unused)) void tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failures++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

static __attribute__((unused)) void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static __attribute__((unused)) int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

enum test_mode { TEST_RSEQ, TEST_LOCK, TEST_MIXED };

static __attribute__((unused)) enum test_mode test_mode(void)
{
	const char *m = getenv("PERCPU_TEST_MODE");

	if (m && !strcmp(m, "lock"))
		return TEST_LOCK;
	if (m && !strcmp(m, "mixed"))
		return TEST_MIXED;
	return TEST_RSEQ;
}

static const char *test_mode_name(void)
{
	static const char *names[] = { "rseq", "lock", "mixed" };

	return names[test_mode()];
}

/* With PERCPU_INDEX=cid, shards must really be concurrency ids. */
static __attribute__((unused)) void tap_check_index(void)
{
	const char *want = getenv("PERCPU_INDEX");
	struct percpu_runtime_info info = { .size = sizeof(info) };

	if (!want || strcmp(want, "cid"))
		return;
	percpu_runtime_info_get(&info);
	ok(info.index == PERCPU_INDEX_CID, "shards are concurrency ids%s%s",
	   info.index_note ? ": " : "", info.index_note ? info.index_note : "");
}

/* Check the process is in the mode the test was asked to run in. */
static __attribute__((unused)) void tap_check_mode(void)
{
	const char *reason;
	enum percpu_mode m = percpu_mode_get(&reason);
	enum percpu_mode want = test_mode() == TEST_LOCK ? PERCPU_MODE_LOCK :
							   PERCPU_MODE_RSEQ;

	ok(m == want, "mode is %s as asked (%s: %s)", test_mode_name(),
	   m == PERCPU_MODE_RSEQ ? "rseq" : "lock", reason);
	tap_check_index();
}

/* In mixed mode, odd-numbered threads take the lock path. */
static __attribute__((unused)) void test_thread_setup(int index)
{
	percpu_inject_thread_lock_path = test_mode() == TEST_MIXED && (index & 1);
}

static __attribute__((unused)) int test_pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static __attribute__((unused)) void test_unpin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int c = 0; c < CPU_SETSIZE && c < percpu_nr_shards(); c++)
		CPU_SET(c, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Whether `shard`'s word is leased (the bit of src/lockpath/lease.h):
 * tests may peek. */
static __attribute__((unused)) int test_leased(int shard)
{
	uintptr_t w = __atomic_load_n(
		(uintptr_t *)(percpu_rt.shard_words +
			      percpu_shard_offset((unsigned int)shard)),
		__ATOMIC_RELAXED);

	return (w & 4) != 0;
}

/* One increment of this shard's word by load and compare-and-store. */
static __attribute__((unused)) void test_cas_increment(intptr_t *p)
{
	for (;;) {
		int shard;
		intptr_t v = percpu_load(p, &shard);

		if (percpu_cas(p, shard, v, v + 1) == PERCPU_OK)
			return;
	}
}

static __attribute__((unused)) intptr_t test_sum(intptr_t *p);

/*
 * A thread adding with rseq all along (in mixed mode, beside a main thread
 * on the lock path); test_background_stop() checks no add was lost.
 */
static struct {
	pthread_t thread;
	intptr_t *counter;
	int stop;
	intptr_t ops;
} test_bg;

/*
 * In lock mode the thread paces itself: preempted inside an operation, a
 * lock-path thread keeps its shard, and operations of the main thread on
 * that CPU would go to another shard, which the unit tests check they do
 * not (tests/lease.c covers that case).
 */
static void *test_background_main(void *arg)
{
	int pace = test_mode() == TEST_LOCK;

	(void)arg;
	while (!__atomic_load_n(&test_bg.stop, __ATOMIC_RELAXED)) {
		percpu_add(test_bg.counter, 1);
		test_bg.ops++;
		if (pace)
			usleep(50);
	}
	return NULL;
}

static __attribute__((unused)) void test_background_start(void)
{
	test_bg.counter = percpu_alloc(sizeof(intptr_t));
	pthread_create(&test_bg.thread, NULL, test_background_main, NULL);
}

static __attribute__((unused)) void test_background_stop(void)
{
	__atomic_store_n(&test_bg.stop, 1, __ATOMIC_RELAXED);
	pthread_join(test_bg.thread, NULL);
	ok(test_sum(test_bg.counter) == test_bg.ops,
	   "background adds all counted");
}

static __attribute__((unused)) intptr_t test_sum(intptr_t *p)
{
	intptr_t sum = 0;

	for (int s = 0; s < percpu_nr_shards(); s++)
		sum += *(intptr_t *)percpu_ptr(p, s);
	return sum;
}

/*
 * Call once every user of the sharded lock `lock` is done: each shard's
 * lock word must be 0. Lock mode skips a held shard instead of waiting, so
 * a lost unlock shows nowhere else. The words found held are cleared, so
 * that the rest of the test runs (rseq mode would wait on them for ever).
 * Returns how many were held.
 */
static __attribute__((unused)) int test_all_unlocked(intptr_t *lock)
{
	char held[200] = "";
	size_t len = 0;
	int n = 0;

	for (int s = 0; s < percpu_nr_shards(); s++) {
		intptr_t *w = percpu_ptr(lock, s);
		intptr_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);

		if (!v)
			continue;
		n++;
		if (len < sizeof(held) - 40)
			len += (size_t)snprintf(held + len, sizeof(held) - len,
						" %d (%ld)", s, (long)v);
		__atomic_store_n(w, 0, __ATOMIC_RELEASE);
	}
	ok(n == 0, "every lock word is 0 at the end (%d of %d held%s%s)", n,
	   percpu_nr_shards(), n ? ":" : "", held);
	return n;
}

/*
 * A shard word left held (a lost release in the library) goes unseen as
 * well: lock mode skips the shard, rseq sections divert from it, and sums
 * stay exact. percpu_remote() waits for a held word, so each shard is
 * probed from a helper thread; one that has not returned after
 * TEST_PROBE_SECONDS never will (it takes microseconds), and the test
 * stops there: its threads could wait on that shard too.
 */
#define TEST_PROBE_SECONDS 20

static struct {
	int at;			/* the shard being probed */
	unsigned long reached;	/* bit per shard (below 64) fn ran on */
	int wrong;		/* fn told another shard, or remote failed */
} test_probe;

static __attribute__((unused)) void test_probe_fn(void *arg, int shard)
{
	(void)arg;
	if (shard != test_probe.at)
		test_probe.wrong++;
	else if (shard < 64)
		test_probe.reached |= 1ul << shard;
}

static __attribute__((unused)) void *test_probe_main(void *arg)
{
	(void)arg;
	for (int s = 0; s < percpu_nr_shards(); s++) {
		__atomic_store_n(&test_probe.at, s, __ATOMIC_RELAXED);
		if (percpu_remote(s, test_probe_fn, NULL))
			test_probe.wrong++;
	}
	return NULL;
}

/*
 * While the process is in rseq mode, every gate (src/internal.h) holds its
 * shard's id again once no lock-path operation runs: one left closed
 * would send every operation on its shard to the slow path for good.
 */
static __attribute__((unused)) void test_gates_open(void)
{
	const uint32_t *gates = (const uint32_t *)percpu_rt.shard_gates;
	int n = percpu_nr_shards(), closed = 0, first = -1;

	if (!__atomic_load_n(&percpu_rt.rseq_shards, __ATOMIC_ACQUIRE))
		return;
	for (int s = 0; s < n; s++)
		if (__atomic_load_n(&gates[s], __ATOMIC_RELAXED) !=
		    (uint32_t)s && !closed++)
			first = s;
	ok(closed == 0, "every gate open at the end (%d of %d closed, "
	   "the first %d)", closed, n, first);
}

/* Call once the test's threads are done: every shard word is free. */
static __attribute__((unused)) void test_shards_free(void)
{
	int n = percpu_nr_shards();
	unsigned long want = n >= 64 ? ~0ul : (1ul << n) - 1;
	struct timespec until;
	pthread_t t;

	test_probe.reached = 0;
	test_probe.wrong = 0;
	if (pthread_create(&t, NULL, test_probe_main, NULL)) {
		ok(0, "every shard word free at the end: no probe thread");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += TEST_PROBE_SECONDS;
	if (pthread_timedjoin_np(t, NULL, &until)) {
		ok(0, "every shard word free at the end: percpu_remote on "
		   "shard %d still waits after %d s",
		   __atomic_load_n(&test_probe.at, __ATOMIC_RELAXED),
		   TEST_PROBE_SECONDS);
		fflush(stdout);
		_exit(tap_done());
	}
	ok(!test_probe.wrong && test_probe.reached == want,
	   "every shard word free at the end: percpu_remote ran on each of "
	   "%d shards", n);
	test_gates_open();
}

#endif
