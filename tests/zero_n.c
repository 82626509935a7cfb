// SPDX-License-Identifier: MIT
/*
 * tests/zero_n.c: n = 0 with NULL arrays. percpu_stack_push, _pop and
 * percpu_stack_drain of 0 pointers and percpu_memcpy_store of 0 bytes
 * touch no pointer (memcpy(NULL, ..., 0) is undefined behaviour, which a
 * UBSan build turns into an abort) and answer the same in every mode: on
 * the rseq sections, on the lock path, and under a lease (lock mode keeps
 * a shard after its first take, so each call is made several times). In
 * mixed mode a second thread runs them on the lock path.
 */
#include <errno.h>
#include "tap.h"

#define ROUNDS 3

/* A run-time 0, so the inline calls take their general path too. */
static volatile size_t zero;

static int stack_calls_ok(struct percpu_stack *s, size_t n)
{
	int sh = -1, all = 1;

	for (int r = 0; r < ROUNDS; r++) {
		all &= percpu_stack_push(s, NULL, n, &sh) == 0 && sh >= 0;
		all &= percpu_stack_pop(s, NULL, n, &sh) == 0 && sh >= 0;
		for (int k = 0; k < percpu_nr_shards(); k++)
			all &= percpu_stack_drain(s, k, NULL, n) == 0;
	}
	return all;
}

/* The pointers held over every shard. */
static intptr_t stack_total(struct percpu_stack *s)
{
	intptr_t total = 0;

	for (int k = 0; k < percpu_nr_shards(); k++)
		total += ((struct percpu_stack *)percpu_ptr(s, k))->count;
	return total;
}

static void test_stack(const char *who)
{
	struct percpu_stack *s = percpu_stack_alloc(2);
	void *out[2];

	ok(stack_calls_ok(s, 0) && stack_calls_ok(s, zero),
	   "%s: push, pop and drain of 0 pointers from NULL, empty stack: 0",
	   who);
	ok(percpu_stack_push1(s, out, NULL) && percpu_stack_push1(s, out, NULL),
	   "%s: two pointers pushed", who);
	ok(stack_calls_ok(s, zero) && stack_total(s) == 2,
	   "%s: and on a stack holding them: 0, nothing moved", who);
	for (int k = 0; k < percpu_nr_shards(); k++)
		percpu_stack_drain(s, k, out, 2);
	percpu_free(s);
}

static int memcpy_calls_ok(intptr_t *p, int release)
{
	int all = 1;

	for (int r = 0; r < ROUNDS; r++) {
		for (;;) {
			int sh, got;
			intptr_t v = percpu_load(p, &sh);

			got = release ?
			      percpu_memcpy_store_release(p, sh, v, v + 1, NULL,
							  NULL, zero) :
			      percpu_memcpy_store(p, sh, v, v + 1, NULL, NULL,
						  zero);
			if (got == PERCPU_MOVED)
				continue;
			all &= got == PERCPU_OK;
			all &= percpu_memcpy_store(p, sh, v - 1, v, NULL, NULL,
						   0) == PERCPU_CHANGED;
			break;
		}
	}
	return all;
}

static void test_memcpy_store(const char *who)
{
	intptr_t *p = percpu_alloc(sizeof(intptr_t));

	ok(memcpy_calls_ok(p, 0) && memcpy_calls_ok(p, 1) &&
	   test_sum(p) == 2 * ROUNDS,
	   "%s: memcpy_store of 0 bytes from NULL to NULL commits; a "
	   "failed compare does not", who);
	ok(percpu_memcpy_store(p, percpu_nr_shards(), 0, 1, NULL, NULL, 0) ==
		   -1 && errno == EINVAL,
	   "%s: and on a shard out of range: -1 EINVAL", who);
	percpu_free(p);
}

static void *second_thread(void *arg)
{
	(void)arg;
	test_thread_setup(1);
	test_stack("second thread");
	test_memcpy_store("second thread");
	return NULL;
}

int main(void)
{
	pthread_t t;

	tap_check_mode();
	test_thread_setup(0);
	test_stack("main thread");
	test_memcpy_store("main thread");
	pthread_create(&t, NULL, second_thread, NULL);
	pthread_join(t, NULL);
	return tap_done();
}
