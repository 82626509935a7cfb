// SPDX-License-Identifier: MIT
/*
 * tests/abort.c: every critical section is made to abort (the test hook
 * jumps to its abort handler, as a debugger single-stepping it would cause).
 * Every operation must still finish, through the bounded retries and then
 * the lock path, with exact results.
 */
#include <pthread.h>
#include "tap.h"

#define THREADS 4
#define OPS 20000

static intptr_t *counter, *cas_counter, *lock, *locked_count;
static unsigned long unlock_errors;

static void *worker(void *arg)
{
	test_thread_setup((int)(intptr_t)arg);
	for (int i = 0; i < OPS; i++) {
		int s;

		percpu_add(counter, 1);
		percpu_fetch_add(counter, 2, NULL);
		percpu_store(counter + 1, i);
		test_cas_increment(cas_counter);
		s = percpu_lock(lock);
		(*(intptr_t *)percpu_ptr(locked_count, s))++;
		if (percpu_unlock(lock, s))
			__atomic_fetch_add(&unlock_errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];

	tap_check_mode();
	counter = percpu_alloc(2 * sizeof(intptr_t));
	cas_counter = percpu_alloc(sizeof(intptr_t));
	lock = percpu_alloc(sizeof(intptr_t));
	locked_count = percpu_alloc(sizeof(intptr_t));
	percpu_inject.force_abort = 1;
	for (intptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ok(test_sum(counter) == 3 * THREADS * OPS, "adds and fetch-adds exact");
	ok(test_sum(cas_counter) == THREADS * OPS, "cas increments exact");
	ok(test_sum(locked_count) == THREADS * OPS, "locked increments exact");
	ok(unlock_errors == 0, "every unlock accepted (%lu refused)",
	   unlock_errors);
	test_all_unlocked(lock);
	test_shards_free();
	ok(percpu_inject.lock_path_ops >= 5ul * THREADS * OPS,
	   "every operation took the lock path (%lu)",
	   percpu_inject.lock_path_ops);
	if (test_mode() == TEST_RSEQ)
		ok(percpu_inject.rseq_aborts > 0, "sections aborted: %lu",
		   percpu_inject.rseq_aborts);
	return tap_done();
}
