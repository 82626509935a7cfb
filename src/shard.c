// SPDX-License-Identifier: MIT
/*
 * src/shard.c: the shard words, as lock-path locks. A lock-path operation
 * that may race with rseq sections takes the shard's word, then fences that
 * CPU: sections that saw the word free are restarted, later ones see it held
 * and divert. The holder then works with atomic instructions.
 */
#include <sched.h>
#include "internal.h"

static __thread char owner_anchor __attribute__((tls_model("initial-exec"),
						 aligned(8)));

intptr_t *percpu_shard_word(unsigned int shard)
{
	return (intptr_t *)(percpu_rt.shard_words + percpu_shard_offset(shard));
}

/* The value this thread stores in a word it holds. */
static uintptr_t owner_tag(void)
{
	return (uintptr_t)&owner_anchor | SHARD_LOCKED;
}

static void fence_shard(unsigned int shard)
{
	if (percpu_rseq_ever())
		percpu_fence_cpu(shard);
}

static void backoff(unsigned int spins)
{
	if (spins < 64)
		percpu_cpu_relax();
	else
		sched_yield();
}

/*
 * Take `shard`'s word. Returns 1 if taken (release it with
 * percpu_shard_release), 0 if this thread already holds it: a signal handler
 * interrupted the holder, and may work beside it because every lock-path
 * update is atomic. Returns -1 if another thread holds it and !wait.
 */
int percpu_shard_take(unsigned int shard, int wait)
{
	uintptr_t *w = (uintptr_t *)percpu_shard_word(shard);
	uintptr_t me = owner_tag();

	for (unsigned int spins = 0;; spins++) {
		uintptr_t old = __atomic_load_n(w, __ATOMIC_RELAXED);

		if ((old & ~SHARD_DISABLED) == me) {
			fence_shard(shard);
			return 0;
		}
		if (!(old & ~SHARD_DISABLED)) {
			if (__atomic_compare_exchange_n(w, &old, old | me, 0,
							__ATOMIC_SEQ_CST,
							__ATOMIC_RELAXED)) {
				fence_shard(shard);
				return 1;
			}
			continue;
		}
		if (!wait)
			return -1;
		backoff(spins);
	}
}

void percpu_shard_release(unsigned int shard)
{
	__atomic_fetch_and((uintptr_t *)percpu_shard_word(shard),
			   SHARD_DISABLED, __ATOMIC_RELEASE);
}
