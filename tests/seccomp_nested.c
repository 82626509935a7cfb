// SPDX-License-Identifier: MIT
/*
 * tests/seccomp_nested.c: a signal handler's lock-path operation on a
 * shard its own thread holds, beside an rseq thread on that shard's CPU.
 *
 * Thread R, pinned to CPU 0 with rseq, exchanges K into its shard's
 * token in a loop, counts each K + 1 it gets back, and publishes its
 * shard (CPU 0, or its concurrency id). Thread T, refused rseq by a
 * seccomp filter, holds R's shard over and over by the lock path (a
 * compare-and-store on that shard, percpu_remote on it); a timer
 * interrupts it every 20 us, and the handler moves that shard's token
 * from K to K + 1 with percpu_cas, which, when T holds the word, runs
 * nested in T's holding. Every token the handler moved must come back
 * exactly once: a nested operation that ran while the shard's gate was
 * open (between the outer take and its closing of the gate, or between
 * the reopening and the release) is overwritten by R's sections, and its
 * token is lost.
 *
 * Run with GLIBC_TUNABLES=glibc.pthread.rseq=0 (tests/seccomp_mixed.c says
 * why); argument: seconds to run.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "seccomp_filter.h"
#include "tap.h"

#define K 1000
#define TICK_NS 20000

static intptr_t *token, *other;
static int stop, target;
static long moved, returned, strays;

static void handler(int sig)
{
	int saved = errno, shard = __atomic_load_n(&target, __ATOMIC_RELAXED);

	(void)sig;
	if (__atomic_load_n((intptr_t *)percpu_ptr(token, shard),
			    __ATOMIC_RELAXED) == K &&
	    percpu_cas(token, shard, K, K + 1) == PERCPU_OK)
		moved++;
	errno = saved;
}

static void *rseq_main(void *arg)
{
	(void)arg;
	test_pin_to(0);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int shard;
		intptr_t old = percpu_xchg(token, K, &shard);

		__atomic_store_n(&target, shard, __ATOMIC_RELAXED);
		if (old == K + 1)
			returned++;
		else if (old != K)
			strays++;
	}
	return NULL;
}

static void noop(void *arg, int shard)
{
	(void)arg;
	(void)shard;
}

/* Holds R's shard by turns with a compare-and-store and a remote call. */
static void *refused_main(void *arg)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID,
			       .sigev_signo = SIGUSR1 };
	struct itimerspec tick = { { 0, TICK_NS }, { 0, TICK_NS } }, off = { 0 };
	int *mode_ok = arg;
	const char *reason;
	timer_t timer;
	intptr_t v = 0;

	test_pin_to(1);
	*mode_ok = percpu_mode_get(&reason) == PERCPU_MODE_LOCK;
	ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &ev, &timer))
		return NULL;
	timer_settime(timer, 0, &tick, NULL);
	for (unsigned long i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED);
	     i++) {
		int shard = __atomic_load_n(&target, __ATOMIC_RELAXED);

		if (i & 1)
			percpu_remote(shard, noop, NULL);
		else if (percpu_cas(other, shard, v, v + 1) == PERCPU_OK)
			v++;
		else
			v = __atomic_load_n((intptr_t *)percpu_ptr(other, shard),
					    __ATOMIC_RELAXED);
	}
	timer_settime(timer, 0, &off, NULL);
	timer_delete(timer);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = SA_RESTART };
	unsigned int seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 2;
	pthread_t r, t;
	int mode_ok = 0;
	long left = 0;

	tap_check_mode();
	if (percpu_nr_shards() < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		tap_diag("SKIP: needs two CPUs");
		return tap_done();
	}
	token = percpu_alloc(sizeof(*token));
	other = percpu_alloc(sizeof(*other));
	for (int s = 0; s < percpu_nr_shards(); s++)
		*(intptr_t *)percpu_ptr(token, s) = K;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&r, NULL, rseq_main, NULL);
	ok(seccomp_refuse(ENOSYS, 0, 0) == 0, "filter refusing rseq installed");
	pthread_create(&t, NULL, refused_main, &mode_ok);
	sleep(seconds);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	pthread_join(r, NULL);
	ok(mode_ok, "the thread created after the filter is in lock mode");
	for (int s = 0; s < percpu_nr_shards(); s++) {
		intptr_t v = *(intptr_t *)percpu_ptr(token, s);

		left += v == K + 1;
		strays += v != K && v != K + 1;
	}
	ok(moved >= 100, "the handler moved tokens (%ld)", moved);
	ok(moved == returned + left && !strays,
	   "every token moved came back once: %ld moved, %ld returned, %ld "
	   "left, %ld strays", moved, returned, left, strays);
	test_gates_open();
	return tap_done();
}
