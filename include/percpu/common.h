/* SPDX-License-Identifier: MIT */
/*
 * percpu/common.h: what every public piece shares: the export macro, the
 * layout of per-CPU memory, and the runtime state the inline fast paths read.
 */
#ifndef PERCPU_COMMON_H
#define PERCPU_COMMON_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
#define PERCPU_EXTERN_C_BEGIN extern "C" {
#define PERCPU_EXTERN_C_END }
#else
#define PERCPU_EXTERN_C_BEGIN
#define PERCPU_EXTERN_C_END
#endif

#define PERCPU_API __attribute__((visibility("default")))
#define PERCPU_LIKELY(x) __builtin_expect(!!(x), 1)
#define PERCPU_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Shard k of a per-CPU object p lives at p + k * PERCPU_STRIDE. A
 * compile-time power of two, so the fast path indexes with one shift.
 */
#if UINTPTR_MAX > 0xffffffffu
#define PERCPU_STRIDE_SHIFT 20
#else
#define PERCPU_STRIDE_SHIFT 16
#endif
#define PERCPU_STRIDE ((size_t)1 << PERCPU_STRIDE_SHIFT)

PERCPU_EXTERN_C_BEGIN

/*
 * Private: the runtime state read by the inline fast paths. Written once by
 * initialization, before nr_shards is published with a release store; until
 * then nr_shards is 0 and every fast path takes the library's slow path,
 * which initializes. Not part of the API: use the functions.
 */
struct percpu_rt {
	unsigned int nr_shards;
	/* nr_shards while rseq may be used, 0 in lock mode: the fast path's
	 * bound check then diverts at once, without entering a section. */
	unsigned int rseq_shards;
	long rseq_offset;	/* thread pointer to this thread's rseq area */
	long id_offset;		/* thread pointer to its cpu_id or mm_cid */
	uintptr_t shard_words;	/* shard 0's shard word; shard k at + k * stride */
};
PERCPU_API extern struct percpu_rt percpu_rt;

static inline unsigned int percpu_rt_shards(void)
{
	return __atomic_load_n(&percpu_rt.nr_shards, __ATOMIC_ACQUIRE);
}

static inline unsigned int percpu_rt_rseq_shards(void)
{
	return __atomic_load_n(&percpu_rt.rseq_shards, __ATOMIC_ACQUIRE);
}

static inline uintptr_t percpu_shard_offset(unsigned int shard)
{
	return (uintptr_t)shard << PERCPU_STRIDE_SHIFT;
}

PERCPU_EXTERN_C_END

#endif
