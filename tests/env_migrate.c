// SPDX-License-Identifier: MIT
/*
 * tests/env_migrate.c: a migration storm. One thread re-pins the workers
 * to another CPU with pthread_setaffinity_np() back to back, thousands of
 * times a second, while they add and load + cas. A worker moved inside a
 * section must have it aborted, one moved between load and cas must get
 * PERCPU_MOVED (rseq) or have the cas applied to the shard it named (lock
 * path): any lost or doubled update shows in the exact sums.
 *
 * Usage: env_migrate [SECONDS] (default 1).
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define MIN_RATE 1000	/* re-pins per second that make a storm */

struct worker {
	pthread_t tid;
	int index;
	enum percpu_mode mode;
	long adds, cases, moved, shard_changes, errors;
} __attribute__((aligned(64)));

static intptr_t *add_counter, *cas_counter;
static struct worker *workers;
static int nr_workers, nr_cpus, cpus[CPU_SETSIZE];
static int stop_workers, stop_migrator, realtime;
static pthread_barrier_t started;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cas_increment(struct worker *w)
{
	for (;;) {
		int shard;
		intptr_t v = percpu_load(cas_counter, &shard);
		int r = percpu_cas(cas_counter, shard, v, v + 1);

		if (r == PERCPU_OK)
			return;
		if (r == PERCPU_MOVED)
			w->moved++;
		else if (r != PERCPU_CHANGED)
			w->errors++;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int last = -1;

	test_thread_setup(w->index);
	w->mode = percpu_mode_get(NULL);
	pthread_barrier_wait(&started);
	while (!__atomic_load_n(&stop_workers, __ATOMIC_RELAXED)) {
		int shard = percpu_add(add_counter, 1);

		if (shard < 0 || shard >= percpu_nr_shards())
			w->errors++;
		w->shard_changes += last >= 0 && shard != last;
		last = shard;
		w->adds++;
		cas_increment(w);
		w->cases++;
	}
	return NULL;
}

/*
 * Each re-pin waits for the worker to be moved, and a normal thread then
 * waits for a CPU the workers hold: about 1000 re-pins a second here. A
 * real-time thread gets its CPU back at once (tens of thousands a second).
 */
static int raise_priority(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
}

/* Each re-pin sends a worker to the CPU after the one it was sent to last
 * time, so it really has to move; workers are spread over the CPUs. */
static void *migrator(void *arg)
{
	double *rate = arg, start = now();
	long repins = 0;

	realtime = raise_priority();
	while (!__atomic_load_n(&stop_migrator, __ATOMIC_RELAXED)) {
		struct worker *w = &workers[repins % nr_workers];
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpus[(repins / nr_workers + w->index) % nr_cpus], &one);
		if (pthread_setaffinity_np(w->tid, sizeof(one), &one) == 0)
			repins++;
	}
	*rate = (double)repins / (now() - start);
	return NULL;
}

static void find_cpus(void)
{
	cpu_set_t set;

	sched_getaffinity(0, sizeof(set), &set);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[nr_cpus++] = c;
	nr_workers = 2 * nr_cpus;
}

static void start_workers(void)
{
	pthread_barrier_init(&started, NULL, (unsigned int)nr_workers + 1);
	workers = calloc((size_t)nr_workers, sizeof(*workers));
	if (!workers || !add_counter || !cas_counter) {
		perror("env_migrate: allocation");
		exit(1);
	}
	for (int i = 0; i < nr_workers; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].tid, NULL, worker_main,
				   &workers[i])) {
			perror("env_migrate: pthread_create");
			exit(1);
		}
	}
	pthread_barrier_wait(&started);
}

/* The migrator stops first: it must not re-pin a thread already joined. */
static double storm(unsigned int seconds)
{
	pthread_t mover;
	double rate = 0;

	start_workers();
	pthread_create(&mover, NULL, migrator, &rate);
	sleep(seconds);
	__atomic_store_n(&stop_migrator, 1, __ATOMIC_RELAXED);
	pthread_join(mover, NULL);
	__atomic_store_n(&stop_workers, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nr_workers; i++)
		pthread_join(workers[i].tid, NULL);
	return rate;
}

static enum percpu_mode expected_mode(int index)
{
	if (test_mode() == TEST_LOCK || (test_mode() == TEST_MIXED && index & 1))
		return PERCPU_MODE_LOCK;
	return PERCPU_MODE_RSEQ;
}

static void check(double rate)
{
	long adds = 0, cases = 0, moved = 0, changes = 0, errors = 0, modes = 0;

	for (int i = 0; i < nr_workers; i++) {
		adds += workers[i].adds;
		cases += workers[i].cases;
		moved += workers[i].moved;
		changes += workers[i].shard_changes;
		errors += workers[i].errors;
		modes += workers[i].mode != expected_mode(i);
	}
	tap_diag("%d workers on %d CPUs: %.0f re-pins per second by a %s "
		 "thread", nr_workers, nr_cpus, rate,
		 realtime ? "SCHED_FIFO" : "normal");
	tap_diag("%ld adds, %ld cas increments, %ld PERCPU_MOVED, %ld shard "
		 "changes seen, %lu rseq aborts, %lu lock-path operations",
		 adds, cases, moved, changes, percpu_inject.rseq_aborts,
		 percpu_inject.lock_path_ops);
	ok(modes == 0, "every worker ran in the mode asked for");
	ok(rate >= MIN_RATE || !realtime,
	   "a storm: %.0f re-pins per second (at least %d)%s", rate, MIN_RATE,
	   realtime ? "" : " # SKIP SCHED_FIFO refused");
	ok(nr_cpus < 2 || changes > 0, "workers did change shards");
	ok(errors == 0, "no result outside the API's promises");
	ok(test_sum(add_counter) == adds, "percpu_add: sum %ld, %ld expected",
	   (long)test_sum(add_counter), adds);
	ok(test_sum(cas_counter) == cases, "percpu_cas: sum %ld, %ld expected",
	   (long)test_sum(cas_counter), cases);
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 1;

	tap_check_mode();
	alarm(60 + seconds);
	add_counter = percpu_alloc(sizeof(intptr_t));
	cas_counter = percpu_alloc(sizeof(intptr_t));
	find_cpus();
	check(storm(seconds));
	test_shards_free();
	return tap_done();
}
