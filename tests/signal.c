// SPDX-License-Identifier: MIT
/*
 * tests/signal.c: signal handlers that call operations, interrupting
 * operations of their own thread. In mixed mode a delay is injected while
 * lock-path operations hold a shard word, so handlers land inside them and
 * must work beside the interrupted holder: no deadlock, no lost update.
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "tap.h"

#define WORKERS 4
#define OPS 30000
#define MIN_HANDLED 300

static intptr_t *counter, *cas_counter;
static int stop_sending;
static __thread volatile long handled;
static long handled_total, worker_ops;

static void on_signal(int sig)
{
	(void)sig;
	percpu_add(counter, 1);
	percpu_fetch_add(counter, 1, NULL);
	test_cas_increment(cas_counter);
	handled++;
}

/* Handlers that ran after the count was taken would go uncounted. */
static void block_signal(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Runs until enough handlers have interrupted it, whatever the mode's speed. */
static void *worker(void *arg)
{
	long ops = 0;

	test_thread_setup((int)(intptr_t)arg);
	while (ops < OPS || handled < MIN_HANDLED) {
		percpu_add(counter, 1);
		test_cas_increment(cas_counter);
		ops++;
	}
	block_signal();
	__atomic_fetch_add(&handled_total, handled, __ATOMIC_RELAXED);
	__atomic_fetch_add(&worker_ops, ops, __ATOMIC_RELAXED);
	return NULL;
}

static void *sender(void *arg)
{
	pthread_t *workers = arg;

	while (!__atomic_load_n(&stop_sending, __ATOMIC_RELAXED)) {
		for (int i = 0; i < WORKERS; i++)
			pthread_kill(workers[i], SIGUSR1);
		usleep(20);
	}
	return NULL;
}

int main(void)
{
	pthread_t workers[WORKERS], send;
	struct sigaction sa = { .sa_handler = on_signal };

	tap_check_mode();
	counter = percpu_alloc(sizeof(*counter));
	cas_counter = percpu_alloc(sizeof(*cas_counter));
	sigaction(SIGUSR1, &sa, NULL);
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = 3000;
	percpu_inject.delay[3] = 200;
	for (intptr_t i = 0; i < WORKERS; i++)
		pthread_create(&workers[i], NULL, worker, (void *)i);
	pthread_create(&send, NULL, sender, workers);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(workers[i], NULL);
	__atomic_store_n(&stop_sending, 1, __ATOMIC_RELAXED);
	pthread_join(send, NULL);
	tap_diag("%ld handler runs, %lu nested in a held shard",
		 handled_total, percpu_inject.shard_nested);
	ok(test_sum(counter) == worker_ops + 2 * handled_total,
	   "adds exact (%ld, expected %ld)", (long)test_sum(counter),
	   worker_ops + 2 * handled_total);
	ok(test_sum(cas_counter) == worker_ops + handled_total,
	   "cas increments exact");
	if (test_mode() == TEST_MIXED)
		ok(percpu_inject.shard_nested > 0,
		   "handlers interrupted a lock-path holder of their shard");
	test_shards_free();
	return tap_done();
}
