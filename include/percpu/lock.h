/* SPDX-License-Identifier: MIT */
/*
 * percpu/lock.h: a sharded lock. `lock` is shard 0's address of an
 * intptr_t inside an object from percpu_alloc() (zero means unlocked), one
 * lock per shard. percpu_lock() takes the calling CPU's lock and returns
 * which shard it took; the caller then works on that shard's data and
 * passes the same shard to percpu_unlock().
 *
 * In rseq mode the lock is taken without an atomic instruction. If the
 * shard's lock is held (its holder was preempted or migrated), the caller
 * yields and tries again, on whatever CPU it then runs on. In lock mode a
 * held shard is skipped for the next free one.
 *
 * Thread safety: safe from any thread, in every mode, mixed. Signal safety:
 * not async-signal-safe, like any lock: a handler that takes a lock its
 * interrupted thread holds may wait for ever.
 * Memory ordering: percpu_lock() acquires, percpu_unlock() releases, for
 * everything done under the same shard's lock.
 */
#ifndef PERCPU_LOCK_H
#define PERCPU_LOCK_H

#include <errno.h>
#include "ops.h"

PERCPU_EXTERN_C_BEGIN

PERCPU_API int percpu_lock_slow(intptr_t *lock);

/* percpu_lock: take one shard's lock; returns that shard (>= 0). */
static inline int percpu_lock(intptr_t *lock)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;

	if (PERCPU_LIKELY(percpu_fast_here(&h, lock))) {
		/* Offsets from the int shard returned, as percpu_unlock
		 * computes its own: one register then addresses the lock's
		 * store and the unlock's load (two made lock + unlock 0.89
		 * -> 1.07 ns on an AMD EPYC). */
		h.cpu = (int)h.cpu;
		if (PERCPU_LIKELY(percpu_cs_cmpeq_store(
			    &h, percpu_fast_word(&h),
			    percpu_fast_slot(lock, h.cpu), 0, 1) ==
				  PERCPU_CS_OK))
			return (int)h.cpu;
	}
#endif
	return percpu_lock_slow(lock);
}

/*
 * percpu_unlock: release shard `shard`'s lock, taken by percpu_lock().
 * Returns 0, or -1 with errno EINVAL if `shard` is out of range or that
 * shard's lock is not held.
 */
static inline int percpu_unlock(intptr_t *lock, int shard)
{
	intptr_t *slot = percpu_fast_slot(lock, shard);

	if (PERCPU_UNLIKELY((unsigned int)shard >= percpu_rt_shards()) ||
	    PERCPU_UNLIKELY(__atomic_load_n(slot, __ATOMIC_RELAXED) != 1)) {
		errno = EINVAL;
		return -1;
	}
	__atomic_store_n(slot, 0, __ATOMIC_RELEASE);
	return 0;
}

PERCPU_EXTERN_C_END

#endif
