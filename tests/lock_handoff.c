// SPDX-License-Identifier: MIT
/*
 * tests/lock_handoff.c: an unlock is never lost. One thread takes shard
 * 0's lock by name (percpu_cas 0 -> 1) from CPU 1, holds it a while and
 * unlocks it with percpu_unlock, a plain store that holds no shard word;
 * meanwhile a thread on CPU 0 keeps trying to take the same lock the same
 * way. In lock mode that thread holds shard 0's lease, so its attempts are
 * unlocked instructions: a failed attempt must not write the lock word, or
 * it may put back the 1 the unlock just cleared and shard 0 stays locked
 * for ever. After each round, with both threads quiet, the lock word must
 * be 0. (In rseq mode the thread on CPU 1 cannot take shard 0's lock: its
 * attempts return PERCPU_MOVED; in mixed mode it takes the lock path.)
 */
#include "tap.h"

#define ROUNDS 30
#define ATTEMPTS 20

static struct {
	intptr_t *lock;
	int phase;		/* odd: the contender runs */
	int quiet;		/* the contender's last phase seen even */
	int stop;
	unsigned long got;	/* locks the contender took */
	unsigned long handed;	/* locks the main thread took */
} h;

static void contend(void)
{
	if (percpu_cas(h.lock, 0, 0, 1) == PERCPU_OK &&
	    percpu_unlock(h.lock, 0) == 0)
		h.got++;
}

static void *contender(void *arg)
{
	(void)arg;
	test_thread_setup(0);
	test_pin_to(0);
	while (!__atomic_load_n(&h.stop, __ATOMIC_ACQUIRE)) {
		int phase = __atomic_load_n(&h.phase, __ATOMIC_ACQUIRE);

		if (phase & 1)
			contend();
		else
			__atomic_store_n(&h.quiet, phase, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Shards left locked with nobody holding them. */
static int held_shards(void)
{
	int held = 0;

	for (int s = 0; s < percpu_nr_shards(); s++) {
		intptr_t *w = percpu_ptr(h.lock, s);

		if (__atomic_load_n(w, __ATOMIC_ACQUIRE)) {
			held++;
			*w = 0;
		}
	}
	return held;
}

/* One hand-off round; returns whether an unlock was lost. */
static int round_lost(int round)
{
	int phase = 2 * round + 1;

	__atomic_store_n(&h.phase, phase, __ATOMIC_RELEASE);
	for (int i = 0; i < ATTEMPTS; i++) {
		if (percpu_cas(h.lock, 0, 0, 1) != PERCPU_OK)
			continue;
		for (volatile int spin = 0; spin < 2000; spin++)
			;
		percpu_unlock(h.lock, 0);
		h.handed++;
	}
	__atomic_store_n(&h.phase, phase + 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&h.quiet, __ATOMIC_ACQUIRE) != phase + 1)
		sched_yield();
	return held_shards() != 0;
}

int main(void)
{
	pthread_t t;
	int lost = 0;

	tap_check_mode();
	if (percpu_nr_shards() < 2 || test_pin_to(1)) {
		printf("1..0 # SKIP needs CPUs 0 and 1\n");
		return 0;
	}
	percpu_inject.lease_no_ban = 1;
	test_thread_setup(1);
	h.lock = percpu_alloc(sizeof(intptr_t));
	pthread_create(&t, NULL, contender, NULL);
	for (int r = 0; r < ROUNDS; r++)
		lost += round_lost(r);
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	tap_diag("main thread took %lu locks, contender %lu", h.handed, h.got);
	ok(lost == 0, "no unlock lost: %d of %d rounds ended with a shard "
	   "locked", lost, ROUNDS);
	ok(held_shards() == 0, "every lock word is 0 at the end");
	percpu_free(h.lock);
	return tap_done();
}
