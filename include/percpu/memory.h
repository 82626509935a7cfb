/* SPDX-License-Identifier: MIT */
/*
 * percpu/memory.h: per-CPU memory. An object from percpu_alloc() has one
 * copy per shard, at the same offset in every shard's stride: shard k of p
 * is p + k * PERCPU_STRIDE. Copies are dense (an 8-byte object costs 8 bytes
 * per shard) yet never share a cache line with another shard's copies, and
 * pages no shard has touched cost no memory. Shards are sized by the
 * possible CPUs (/sys/devices/system/cpu/possible), not the online ones.
 *
 * Thread safety: all functions are thread-safe. Signal safety: percpu_ptr(),
 * percpu_sum(), percpu_sum_u64() and percpu_nr_shards() are
 * async-signal-safe; percpu_alloc() and percpu_free() are not (they take a
 * mutex).
 */
#ifndef PERCPU_MEMORY_H
#define PERCPU_MEMORY_H

#include <errno.h>
#include "common.h"

PERCPU_EXTERN_C_BEGIN

/* The largest size percpu_alloc() accepts. */
#define PERCPU_ALLOC_MAX (PERCPU_STRIDE / 2)

/*
 * percpu_alloc: a per-CPU object of `size` bytes, zeroed in every shard,
 * aligned to the smaller of its size rounded up to a power of two and 4096
 * (so an 8-byte object is 8-aligned, a 64-byte one cache-line aligned).
 * Returns shard 0's address, or NULL with errno EINVAL (size 0 or above
 * PERCPU_ALLOC_MAX) or ENOMEM.
 */
PERCPU_API void *percpu_alloc(size_t size);

/*
 * percpu_alloc_init: as percpu_alloc(), then copy `size` bytes from `init`
 * into every shard's copy (so every shard's page is touched: use it for
 * objects whose start value is not zero). NULL with EINVAL if init is NULL.
 */
PERCPU_API void *percpu_alloc_init(size_t size, const void *init);

/*
 * percpu_free: return an object to the pool; NULL is ignored. Returns 0,
 * or -1 with errno EINVAL if p is not an object percpu_alloc() returned
 * and that is still allocated (double frees are detected).
 */
PERCPU_API int percpu_free(void *p);

/* percpu_nr_shards: the number of shards (possible CPUs), at least 1. */
PERCPU_API int percpu_nr_shards(void);

/*
 * percpu_ptr: shard `shard`'s copy of the object at p, with p's type
 * (`struct table *t` gives a `struct table *`, `const intptr_t *` a
 * `const intptr_t *`), in C and in C++. Returns NULL with errno EINVAL if
 * shard is not in [0, percpu_nr_shards()).
 *
 * A macro over the function of the same name, which returns void *:
 * `(percpu_ptr)(p, shard)` calls it, as does taking its address. p is
 * evaluated once (__typeof__ does not evaluate it). Code that assigned the
 * result to a pointer of another type (not from a void *) needs a cast.
 */
static inline void *percpu_ptr(const void *p, int shard)
{
	if (PERCPU_UNLIKELY((unsigned int)shard >= percpu_rt_shards())) {
		errno = EINVAL;
		return NULL;
	}
	return (char *)(uintptr_t)p + percpu_shard_offset((unsigned int)shard);
}
#define percpu_ptr(p, shard) ((__typeof__(p))(percpu_ptr)((p), (shard)))

/*
 * PERCPU_FOR_EACH_SHARD(s): a for loop over every shard, declaring `int s`
 * from 0 to percpu_nr_shards() - 1:
 *
 *   PERCPU_FOR_EACH_SHARD(s)
 *           total += percpu_ptr(counts, s)->hits;
 *
 * The bound is percpu_nr_shards(), called at each iteration (its value
 * never changes). Loops nest, each with its own variable.
 */
#define PERCPU_FOR_EACH_SHARD(s) for (int s = 0; s < percpu_nr_shards(); s++)

/*
 * percpu_sum: the sum of every shard's copy of the word at p (shard 0's
 * address of an intptr_t in an object from percpu_alloc()), modulo 2^N as
 * unsigned arithmetic gives it (no overflow trap). O(shards), each read
 * with a relaxed atomic load: exact when no operation on the word runs;
 * with adds running, each add is either in the sum or not, so it may be a
 * value the total never held (as percpu_updown_sum() in percpu/stats.h).
 * Async-signal-safe.
 */
static inline intptr_t percpu_sum(const intptr_t *p)
{
	uintptr_t total = 0;

	PERCPU_FOR_EACH_SHARD(s)
		total += (uintptr_t)__atomic_load_n(percpu_ptr(p, s),
						    __ATOMIC_RELAXED);
	return (intptr_t)total;
}

#if INTPTR_MAX == INT64_MAX
/* percpu_sum_u64: percpu_sum() of a uint64_t word (percpu/ops.h, _u64). */
static inline uint64_t percpu_sum_u64(const uint64_t *p)
{
	return (uint64_t)percpu_sum((const intptr_t *)p);
}
#endif

PERCPU_EXTERN_C_END

#endif
