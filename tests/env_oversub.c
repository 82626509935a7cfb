// SPDX-License-Identifier: MIT
/*
 * tests/env_oversub.c: 16 threads per CPU, so most of them wait for a CPU
 * at any moment and some are preempted inside operations, holding a shard.
 * One phase adds, one takes the sharded lock around a tiny critical
 * section; the sums must be exact.
 *
 * The latency check: no operation waits behind a preempted holder for a
 * time slice. percpu_add never waits for anyone (in lock mode it is one
 * atomic instruction); percpu_lock yields to a holder in rseq mode and
 * skips a held shard in lock mode. Every 64th operation is timed, and p99.9
 * must stay under 1 ms, far below a slice (the tick is 4 ms here, and a
 * preempted thread waits out the slices of the 15 others queued on its CPU).
 * A thread preempted while it times its own operation waits that long too,
 * but in about 1 sample in 10^4 or fewer: the maximum shows it, p99.9 does
 * not. A thread stuck behind a holder gives one sample however long it
 * waits, so rare waits would not reach p99.9 either: the sharp check is a
 * lock-path percpu_lock beside a holder that sleeps with the lock held.
 * Mixed mode is bounded at p99 instead: its lock-path operations make a
 * system call (the fence) and are often preempted there, so up to 0.1% of
 * its samples (measured: 0.01 to 0.09%) include a wait for the CPU. Lock
 * mode too: with 2 shards, both are at times held by preempted threads,
 * and an operation then waits by design until one runs again; on an Intel
 * Xeon VM, p99.9 of lock + unlock reached one tick (4.06 ms) in 2 runs of
 * 4, and of add 1.1 and 2.2 ms in two other runs, while p99 stayed under
 * 0.6 us.
 *
 * Usage: env_oversub [SECONDS per phase] (default 1).
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include "env_sanitizer.h"
#include "tap.h"

#define THREADS_PER_CPU 16
#define SAMPLE_EVERY 64
#define LIMIT_NS 1000000	/* p99.9 bound: far below one time slice */
#define SUB_BITS 4		/* histogram: 16 buckets per power of two */
#define BUCKETS (64 << SUB_BITS)

struct histogram {
	uint64_t count[BUCKETS];
	uint64_t total, max;
};

struct worker {
	pthread_t tid;
	int index;
	enum percpu_mode mode;
	long adds, locked, errors;
	struct histogram add_ns, lock_ns;
};

static intptr_t *add_counter, *lock, *lock_counter;
static struct worker *workers;
static int nr_workers, stop_add, stop_lock;
static pthread_barrier_t start_add, start_lock;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Exact below 16 ns, then within 1/16 of the value. */
static unsigned int bucket_of(uint64_t ns)
{
	unsigned int e;

	if (ns < (1u << SUB_BITS))
		return (unsigned int)ns;
	e = 63u - (unsigned int)__builtin_clzll(ns);
	return ((e - SUB_BITS + 1) << SUB_BITS) |
	       (unsigned int)((ns >> (e - SUB_BITS)) & ((1u << SUB_BITS) - 1));
}

/* The largest value that falls in bucket b. */
static uint64_t bucket_top(unsigned int b)
{
	unsigned int e = (b >> SUB_BITS) + SUB_BITS - 1;
	uint64_t sub = b & ((1u << SUB_BITS) - 1);

	if (b < (1u << SUB_BITS))
		return b;
	return (((1u << SUB_BITS) + sub + 1) << (e - SUB_BITS)) - 1;
}

static void record(struct histogram *h, uint64_t ns)
{
	h->count[bucket_of(ns)]++;
	h->total++;
	if (ns > h->max)
		h->max = ns;
}

static void merge(struct histogram *into, const struct histogram *h)
{
	for (unsigned int b = 0; b < BUCKETS; b++)
		into->count[b] += h->count[b];
	into->total += h->total;
	if (h->max > into->max)
		into->max = h->max;
}

/* The top of the bucket holding the q-th fraction of the samples. */
static uint64_t percentile(const struct histogram *h, double q)
{
	uint64_t want = (uint64_t)((double)h->total * q), seen = 0;

	for (unsigned int b = 0; b < BUCKETS; b++) {
		seen += h->count[b];
		if (seen > want)
			return bucket_top(b);
	}
	return h->max;
}

static int stopped(const int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_RELAXED);
}

static void add_phase(struct worker *w)
{
	for (long n = 0; !stopped(&stop_add); n++) {
		uint64_t t0 = 0;
		int shard;

		if (n % SAMPLE_EVERY == 0)
			t0 = now_ns();
		shard = percpu_add(add_counter, 1);
		if (t0)
			record(&w->add_ns, now_ns() - t0);
		w->errors += shard < 0 || shard >= percpu_nr_shards();
		w->adds++;
	}
}

/* The critical section: a plain increment of the shard's counter. */
static void lock_phase(struct worker *w)
{
	for (long n = 0; !stopped(&stop_lock); n++) {
		uint64_t t0 = 0;
		int shard;

		if (n % SAMPLE_EVERY == 0)
			t0 = now_ns();
		shard = percpu_lock(lock);
		(*(intptr_t *)percpu_ptr(lock_counter, shard))++;
		w->errors += percpu_unlock(lock, shard) != 0;
		if (t0)
			record(&w->lock_ns, now_ns() - t0);
		w->locked++;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	test_thread_setup(w->index);
	w->mode = percpu_mode_get(NULL);
	pthread_barrier_wait(&start_add);
	add_phase(w);
	pthread_barrier_wait(&start_lock);
	lock_phase(w);
	return NULL;
}

static void start_workers(void)
{
	nr_workers = THREADS_PER_CPU * (int)sysconf(_SC_NPROCESSORS_ONLN);
	workers = calloc((size_t)nr_workers, sizeof(*workers));
	add_counter = percpu_alloc(sizeof(intptr_t));
	lock = percpu_alloc(sizeof(intptr_t));
	lock_counter = percpu_alloc(sizeof(intptr_t));
	if (!workers || !add_counter || !lock || !lock_counter) {
		perror("env_oversub: allocation");
		exit(1);
	}
	pthread_barrier_init(&start_add, NULL, (unsigned int)nr_workers + 1);
	pthread_barrier_init(&start_lock, NULL, (unsigned int)nr_workers + 1);
	for (int i = 0; i < nr_workers; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].tid, NULL, worker_main,
				   &workers[i])) {
			perror("env_oversub: pthread_create");
			exit(1);
		}
	}
}

static void run(unsigned int seconds)
{
	start_workers();
	pthread_barrier_wait(&start_add);
	sleep(seconds);
	__atomic_store_n(&stop_add, 1, __ATOMIC_RELAXED);
	pthread_barrier_wait(&start_lock);
	sleep(seconds);
	__atomic_store_n(&stop_lock, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nr_workers; i++)
		pthread_join(workers[i].tid, NULL);
}

static enum percpu_mode expected_mode(int index)
{
	if (test_mode() == TEST_LOCK || (test_mode() == TEST_MIXED && index & 1))
		return PERCPU_MODE_LOCK;
	return PERCPU_MODE_RSEQ;
}

/* Samples certainly above `ns`. */
static uint64_t above(const struct histogram *h, uint64_t ns)
{
	uint64_t n = 0;

	for (unsigned int b = bucket_of(ns) + 1; b < BUCKETS; b++)
		n += h->count[b];
	return n;
}

static void check_latency(const char *what, const struct histogram *h)
{
	int p99 = test_mode() != TEST_RSEQ;
	uint64_t bound = percentile(h, p99 ? 0.99 : 0.999);
	uint64_t slow = above(h, LIMIT_NS);

	tap_diag("%s latency (%s mode, ns, sampled 1 in %d, %llu samples): "
		 "p50 %llu, p99 %llu, p99.9 %llu, max %llu", what,
		 test_mode_name(), SAMPLE_EVERY, (unsigned long long)h->total,
		 (unsigned long long)percentile(h, 0.5),
		 (unsigned long long)percentile(h, 0.99),
		 (unsigned long long)percentile(h, 0.999),
		 (unsigned long long)h->max);
	tap_diag("%s: %llu samples above %d ns (%.4f%%)", what,
		 (unsigned long long)slow, LIMIT_NS,
		 h->total ? 100.0 * (double)slow / (double)h->total : 0.0);
	ok(h->total > 0 && (bound < LIMIT_NS || UNDER_SANITIZER),
	   "%s: %s %llu ns, under %d ns: no wait behind a preempted holder%s",
	   what, p99 ? "p99" : "p99.9", (unsigned long long)bound, LIMIT_NS,
	   UNDER_SANITIZER ? " # SKIP timing under a sanitizer" : "");
}

static void check(void)
{
	static struct histogram add_ns, lock_ns;
	long adds = 0, locked = 0, errors = 0, modes = 0, idle = 0;

	for (int i = 0; i < nr_workers; i++) {
		const struct worker *w = &workers[i];

		adds += w->adds;
		locked += w->locked;
		errors += w->errors;
		modes += w->mode != expected_mode(i);
		idle += !w->adds || !w->locked;
		merge(&add_ns, &w->add_ns);
		merge(&lock_ns, &w->lock_ns);
	}
	tap_diag("%d threads: %ld adds, %ld lock rounds", nr_workers, adds,
		 locked);
	ok(modes == 0, "every thread ran in the mode asked for");
	ok(idle == 0, "every thread ran in both phases");
	ok(errors == 0, "no result outside the API's promises");
	ok(test_sum(add_counter) == adds, "percpu_add: sum exact");
	ok(test_sum(lock_counter) == locked, "increments under percpu_lock: "
	   "sum exact");
	check_latency("percpu_add", &add_ns);
	check_latency("percpu_lock + increment + percpu_unlock", &lock_ns);
}

struct holder {
	int cpu, shard, taken;
};

static void pin_to(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

/* Sleeping with the lock held: a holder that lost its CPU for 100 ms. */
static void *hold(void *arg)
{
	struct holder *h = arg;

	pin_to(h->cpu);
	h->shard = percpu_lock(lock);
	__atomic_store_n(&h->taken, 1, __ATOMIC_RELEASE);
	usleep(100000);
	percpu_unlock(lock, h->shard);
	return NULL;
}

/*
 * The sharp form of the latency check: a lock-path percpu_lock on the CPU
 * of a descheduled holder takes another shard at once. (rseq mode yields
 * to the holder instead, by design: not checked there.)
 */
static void check_held_shard_skipped(void)
{
	struct holder h = { sched_getcpu(), -1, 0 };
	pthread_t t;
	uint64_t t0, ns;
	int shard;

	if (test_mode() == TEST_RSEQ || percpu_nr_shards() < 2)
		return;
	test_thread_setup(1);
	pin_to(h.cpu);
	pthread_create(&t, NULL, hold, &h);
	while (!__atomic_load_n(&h.taken, __ATOMIC_ACQUIRE))
		usleep(1000);
	t0 = now_ns();
	shard = percpu_lock(lock);
	ns = now_ns() - t0;
	ok(shard != h.shard && ns < LIMIT_NS, "percpu_lock beside a descheduled "
	   "holder of shard %d: shard %d in %llu ns", h.shard, shard,
	   (unsigned long long)ns);
	percpu_unlock(lock, shard);
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 1;

	tap_check_mode();
	alarm(60 + 2 * seconds);
	run(seconds);
	check();
	check_held_shard_skipped();
	test_all_unlocked(lock);
	test_shards_free();
	return tap_done();
}
