// SPDX-License-Identifier: MIT
/*
 * tests/seccomp_mixed.c: threads refused rseq beside a thread that uses it.
 * The main thread registers, then installs a filter that makes rseq fail
 * with ENOSYS for the threads it creates from then on. Those must take the
 * lock path while main keeps adding with rseq to the same shards, and no
 * add may be lost.
 *
 * Run with GLIBC_TUNABLES=glibc.pthread.rseq=0: glibc aborts a process whose
 * new thread fails the registration glibc itself did for the first one, so
 * only the library's own registration can fail thread by thread.
 */
#include <pthread.h>
#include "seccomp_filter.h"
#include "tap.h"

#define NR_WORKERS 4
#define ADDS 2000

struct worker {
	pthread_t id;
	enum percpu_mode mode;
	const char *reason;
	intptr_t adds;
};

static intptr_t *counter;
static pthread_barrier_t start;
static int workers_done;
static intptr_t main_adds;

/*
 * The mode is read first: it is the thread's registration. Each side keeps
 * adding until the other has made ADDS adds too, however the scheduler
 * runs them, so lock-path and rseq adds interleave on the same shards.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->mode = percpu_mode_get(&w->reason);
	pthread_barrier_wait(&start);
	while (w->adds < ADDS ||
	       __atomic_load_n(&main_adds, __ATOMIC_RELAXED) < ADDS) {
		percpu_add(counter, 1);
		w->adds++;
	}
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void main_add_until_done(void)
{
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < NR_WORKERS ||
	       main_adds < ADDS) {
		percpu_add(counter, 1);
		__atomic_store_n(&main_adds, main_adds + 1, __ATOMIC_RELAXED);
	}
}

static int registered_by_percpu(const char *who)
{
	const char *reason;
	enum percpu_mode m = percpu_mode_get(&reason);
	int mine = m == PERCPU_MODE_RSEQ &&
		   !strcmp(reason, "registered by percpu");

	ok(mine, "%s: rseq registered by percpu (%s)", who, reason);
	return mine;
}

/*
 * Main's sections are stretched between their checks and their commit,
 * the window a worker's take-and-fence must close. Only main runs
 * sections. Returns the number of adds the workers made.
 */
static intptr_t run_workers(struct worker *w)
{
	intptr_t adds = 0;

	percpu_inject.delay[3] = 200;
	pthread_barrier_init(&start, NULL, NR_WORKERS + 1);
	for (int i = 0; i < NR_WORKERS; i++) {
		w[i].adds = 0;
		pthread_create(&w[i].id, NULL, worker_main, &w[i]);
	}
	pthread_barrier_wait(&start);
	main_add_until_done();
	for (int i = 0; i < NR_WORKERS; i++) {
		pthread_join(w[i].id, NULL);
		adds += w[i].adds;
	}
	percpu_inject.delay[3] = 0;
	return adds;
}

static void check_workers(const struct worker *w)
{
	for (int i = 0; i < NR_WORKERS; i++)
		ok(w[i].mode == PERCPU_MODE_LOCK &&
		   !strcmp(w[i].reason, "rseq: ENOSYS"),
		   "thread %d created after the filter: lock mode (%s)", i,
		   w[i].reason);
}

int main(void)
{
	struct worker w[NR_WORKERS];
	intptr_t worker_adds, want;

	tap_check_mode();
	counter = percpu_alloc(sizeof(*counter));
	percpu_add(counter, 1);
	if (!registered_by_percpu("main thread before the filter")) {
		tap_diag("run with GLIBC_TUNABLES=glibc.pthread.rseq=0");
		return tap_done();
	}
	ok(seccomp_refuse(ENOSYS, 0, 0) == 0, "filter refusing rseq installed");
	worker_adds = run_workers(w);
	check_workers(w);
	registered_by_percpu("main thread after the filter");
	want = 1 + worker_adds + main_adds;
	ok(test_sum(counter) == want, "sum exact: %ld of %ld",
	   (long)test_sum(counter), (long)want);
	ok(percpu_inject.lock_path_ops >= (unsigned long)worker_adds,
	   "every add of the refused threads took the lock path (%lu of %ld)",
	   percpu_inject.lock_path_ops, (long)worker_adds);
	tap_diag("main: %ld adds, %lu sections restarted or diverted",
		 (long)main_adds, percpu_inject.rseq_aborts);
	return tap_done();
}
