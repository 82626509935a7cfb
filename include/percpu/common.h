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
 * Private: the runtime state read by the inline fast paths. Not part of the
 * API: use the functions.
 *
 * The first three fields and shard_gates (appended, as a program built
 * against older headers reads the others where they were) are set once
 * by initialization, which completes
 * before percpu_alloc() returns its first object, and never change after.
 * The fast paths read them with PERCPU_ARCH_READ_RT(), an asm load with
 * no memory operand: the compiler may keep them in registers across
 * operations (whose sections clobber "memory"), and hoist them out of loops,
 * even under LTO. It may not move them above the computation of the object
 * address the load names as its input, and that address exists only after
 * initialization (a thread that got it from another got it through some
 * synchronization, which orders initialization before), so a read never
 * sees the values from before it.
 *
 * nr_shards and rseq_shards are read with acquire loads: nr_shards is 0
 * until initialization publishes it; rseq_shards is nr_shards while rseq
 * may be used and 0 in lock mode. The fast paths do not read them: lock
 * mode diverts inside each section, through the shard word.
 *
 * The symbol is percpu_rt_v2, in version PERCPU_0.2: the fast paths read
 * shard_gates, which a library older than 0.2 leaves 0, so a program built
 * against these headers needs PERCPU_0.2 and the dynamic linker refuses to
 * start it with such a library. The library still exports percpu_rt, the
 * same state, for programs built against 0.1.
 */
struct percpu_rt {
	long rseq_offset;	/* thread pointer to the sections' rseq area */
	long shard_offset;	/* to the field a section reads its shard from,
				   and compares it with: cpu_id, or mm_cid */
	uintptr_t shard_words;	/* shard 0's shard word; shard k at + k * stride */
	unsigned int nr_shards;
	unsigned int rseq_shards;
	long id_offset;		/* to this thread's cpu_id or mm_cid, for hints */
	uintptr_t shard_gates;	/* shard 0's gate; shard k's at + k * 4 */
} __attribute__((aligned(64)));
PERCPU_API extern struct percpu_rt percpu_rt __asm__("percpu_rt_v2");

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
