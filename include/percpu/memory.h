/* SPDX-License-Identifier: MIT */
/*
 * percpu/memory.h: per-CPU memory. An object from percpu_alloc() has one
 * copy per shard, at the same offset in every shard's stride: shard k of p
 * is p + k * PERCPU_STRIDE. Copies are dense (an 8-byte object costs 8 bytes
 * per shard) yet never share a cache line with another shard's copies, and
 * pages no shard has touched cost no memory. Shards are sized by the
 * possible CPUs (/sys/devices/system/cpu/possible), not the online ones.
 *
 * Thread safety: all functions are thread-safe. Signal safety: percpu_ptr()
 * and percpu_nr_shards() are async-signal-safe; percpu_alloc() and
 * percpu_free() are not (they take a mutex).
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
 * percpu_ptr: shard `shard`'s copy of the object at p. Returns NULL with
 * errno EINVAL if shard is not in [0, percpu_nr_shards()).
 */
static inline void *percpu_ptr(void *p, int shard)
{
	if (PERCPU_UNLIKELY((unsigned int)shard >= percpu_rt_shards())) {
		errno = EINVAL;
		return NULL;
	}
	return (char *)p + percpu_shard_offset((unsigned int)shard);
}

PERCPU_EXTERN_C_END

#endif
