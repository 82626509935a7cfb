/* SPDX-License-Identifier: MIT */
/*
 * percpu/ops.h: operations on one word of the calling CPU's shard.
 *
 * `p` is always shard 0's address of a word inside an object from
 * percpu_alloc() (precondition, not checked: the check would cost the fast
 * path); the operation applies to shard k's copy, p + k * PERCPU_STRIDE.
 *
 * Every operation is atomic on its shard and returns (or stores through
 * `shard`) the shard it was applied to: normally the CPU the thread ran
 * on; another if it took the lock path (in lock mode, or in rseq mode
 * after 32 aborts in a row, e.g. while another thread holds the CPU's
 * shard) and found the CPU's shard held: a held shard is skipped, not
 * waited on.
 *
 * Thread safety: all are safe from any thread, in every mode, mixed.
 * Signal safety: all functions in this header are async-signal-safe in every
 * mode, including in a handler that interrupted an operation of its own
 * thread; except the first call of a thread, which may initialize the library
 * (call any operation once outside a handler, e.g. at thread start, to be sure).
 * Memory ordering: relaxed. An operation orders nothing but its own word;
 * use percpu/lock.h or your own fences to publish other data.
 */
#ifndef PERCPU_OPS_H
#define PERCPU_OPS_H

#include "common.h"
#include "arch.h"
#ifdef PERCPU_INJECT
#include "inject.h"	/* the test suite's hooks; not installed */
#endif

PERCPU_EXTERN_C_BEGIN

/* Results of percpu_cas(). */
enum percpu_cas_result {
	PERCPU_OK = 0,		/* stored */
	PERCPU_CHANGED = 1,	/* the shard's word did not equal `expect` */
	PERCPU_MOVED = 2,	/* the thread is not on `shard` now: reload, retry */
};

/* Library slow paths of the inline operations below; call those instead. */
PERCPU_API int percpu_add_slow(intptr_t *p, intptr_t v);
PERCPU_API intptr_t percpu_fetch_add_slow(intptr_t *p, intptr_t v, int *shard);
PERCPU_API int percpu_store_slow(intptr_t *p, intptr_t v);
PERCPU_API int percpu_cas_slow(intptr_t *p, int shard, intptr_t expect,
			       intptr_t v);
PERCPU_API int percpu_shard_id_slow(void);
PERCPU_API intptr_t percpu_xchg_slow(intptr_t *p, intptr_t v, int *shard);

/* Private: a test forces the slow path (PERCPU_INJECT builds only). */
static inline int percpu_fast_forced(void)
{
#ifdef PERCPU_INJECT
	return percpu_inject_before_section();
#else
	return 0;
#endif
}

#if PERCPU_ARCH_RSEQ
/* Private: the runtime's constants a section needs; see percpu_fast_here. */
static inline void percpu_fast_consts(struct percpu_here *h, const void *obj)
{
	h->area = (long)PERCPU_ARCH_READ_RT(rseq_offset, obj);
	h->id = (long)PERCPU_ARCH_READ_RT(shard_offset, obj);
	h->words = PERCPU_ARCH_READ_RT(shard_words, obj);
	h->gates = PERCPU_ARCH_READ_RT(shard_gates, obj);
}

/*
 * Private: where the calling thread is, for an operation on the object at
 * `obj` (any address inside an object from percpu_alloc(): it orders the
 * reads of the runtime's constants after initialization, see struct
 * percpu_rt). The shard is read from cpu_id (or mm_cid), which is a valid
 * id, or -1 or -2 where the kernel does not serve the area: shards -1 and
 * -2 have words, below shard 0's, that are never 0, so a section there
 * always diverts. No bounds check and no branch: the section's compare and
 * its shard-word check say it all. Returns 0 only when a test forces the
 * slow path.
 */
static inline int percpu_fast_here(struct percpu_here *h, const void *obj)
{
	percpu_fast_consts(h, obj);
	h->cpu = percpu_arch_area_s32(h->id);
#ifdef PERCPU_INJECT
	/* A faked id past the shards stands for one the kernel cannot
	 * report: as if the area were not served. */
	if (percpu_inject.fake_shard_on) {
		unsigned int fake = percpu_inject.fake_shard;

		h->cpu = fake < percpu_rt.nr_shards ? (long)fake : -1;
	}
#endif
	return !percpu_fast_forced();
}

/*
 * Private: as percpu_fast_here, for an operation on a shard the caller
 * names: the section compares the thread's shard with `shard` itself, so
 * the id is not read before it. A shard the thread is not on fails that
 * compare (MOVED); one out of range too, as the id the kernel reports is
 * a valid shard, -1 or -2 (whose words divert the section).
 */
static inline int percpu_fast_here_on(struct percpu_here *h, const void *obj,
				      int shard)
{
	percpu_fast_consts(h, obj);
	h->cpu = shard;
	return !percpu_fast_forced();
}

/*
 * Private: as percpu_fast_here, for a _here section, which reads the
 * shard id itself, inside: h->cpu is left unset. A faked id (test
 * builds) cannot reach that read, so with one the section is not run.
 */
static inline int percpu_fast_enter(struct percpu_here *h, const void *obj)
{
	percpu_fast_consts(h, obj);
#ifdef PERCPU_INJECT
	if (percpu_inject.fake_shard_on)
		return 0;
#endif
	return !percpu_fast_forced();
}
#endif

/* Private: a shard's offset in the fast path; shards -1 and -2 lie below
 * shard 0. */
static inline uintptr_t percpu_fast_offset(long shard)
{
	return (uintptr_t)shard << PERCPU_STRIDE_SHIFT;
}

/* Private: this shard's shard word. */
static inline intptr_t *percpu_fast_word(const struct percpu_here *h)
{
	return (intptr_t *)(h->words + percpu_fast_offset(h->cpu));
}

/* Private: this shard's gate. */
static inline const uint32_t *percpu_fast_gate(const struct percpu_here *h)
{
	return (const uint32_t *)h->gates + h->cpu;
}

/* An integer sum: for shards -1 and -2 the address lies outside the object
 * (never dereferenced: the section diverts first). */
static inline intptr_t *percpu_fast_slot(intptr_t *p, long shard)
{
	return (intptr_t *)((uintptr_t)p + percpu_fast_offset(shard));
}

/*
 * percpu_add: add v to this shard's word. Returns the shard (>= 0).
 * Never fails.
 */
static inline int percpu_add(intptr_t *p, intptr_t v)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;

	if (PERCPU_LIKELY(percpu_fast_here(&h, p)) &&
	    PERCPU_LIKELY(percpu_cs_add(&h, percpu_fast_gate(&h), p, v) ==
			  PERCPU_CS_OK))
		return (int)h.cpu;
#endif
	return percpu_add_slow(p, v);
}

/*
 * percpu_fetch_add: add v to this shard's word and return the value it
 * held before. If `shard` is not NULL, the shard is stored there.
 */
static inline intptr_t percpu_fetch_add(intptr_t *p, intptr_t v, int *shard)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	intptr_t old = v;

	if (PERCPU_LIKELY(percpu_fast_here(&h, p)) &&
	    PERCPU_LIKELY(percpu_cs_fetch_add(&h, percpu_fast_gate(&h),
					      percpu_fast_slot(p, h.cpu), &old) ==
			  PERCPU_CS_OK)) {
		if (shard)
			*shard = (int)h.cpu;
		return old;
	}
#endif
	return percpu_fetch_add_slow(p, v, shard);
}

/*
 * percpu_xchg: store v into this shard's word and return the value it held
 * before. If `shard` is not NULL, the shard is stored there.
 */
static inline intptr_t percpu_xchg(intptr_t *p, intptr_t v, int *shard)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	intptr_t old = v;

	if (PERCPU_LIKELY(percpu_fast_here(&h, p)) &&
	    PERCPU_LIKELY(percpu_cs_xchg(&h, percpu_fast_gate(&h),
					 percpu_fast_slot(p, h.cpu), &old) ==
			  PERCPU_CS_OK)) {
		if (shard)
			*shard = (int)h.cpu;
		return old;
	}
#endif
	return percpu_xchg_slow(p, v, shard);
}

/*
 * percpu_shard_id: the shard the calling thread runs on now, in
 * [0, percpu_nr_shards()). A hint: the thread may move at any time.
 */
static inline int percpu_shard_id(void)
{
#if PERCPU_ARCH_RSEQ
	unsigned int n = percpu_rt_rseq_shards();
	unsigned int id = percpu_arch_shard_id(
		__atomic_load_n(&percpu_rt.id_offset, __ATOMIC_RELAXED));

	if (PERCPU_LIKELY(id < n))
		return (int)id;
#endif
	return percpu_shard_id_slow();
}

/*
 * percpu_load: load this shard's word; the shard is stored through `shard`
 * if not NULL, for a later percpu_cas() on the same shard.
 */
static inline intptr_t percpu_load(intptr_t *p, int *shard)
{
	int s;
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;

	if (PERCPU_LIKELY(percpu_fast_here(&h, p)) && PERCPU_LIKELY(h.cpu >= 0))
		s = (int)h.cpu;
	else
#endif
		s = percpu_shard_id_slow();
	if (shard)
		*shard = s;
	/* The offset from the int, as percpu_cas computes it from the shard
	 * it is given: the compiler then addresses both with one register
	 * (on an AMD EPYC, two registers made load+cas 0.7 -> 0.9 ns). */
	return __atomic_load_n(percpu_fast_slot(p, s), __ATOMIC_RELAXED);
}

/* percpu_store: store v into this shard's word. Returns the shard. */
static inline int percpu_store(intptr_t *p, intptr_t v)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;

	if (PERCPU_LIKELY(percpu_fast_here(&h, p)) &&
	    PERCPU_LIKELY(percpu_cs_store(&h, percpu_fast_gate(&h),
					  percpu_fast_slot(p, h.cpu), v) ==
			  PERCPU_CS_OK))
		return (int)h.cpu;
#endif
	return percpu_store_slow(p, v);
}

/*
 * percpu_cas: on shard `shard` (usually from percpu_load()), if the word
 * equals `expect`, store `v`. Returns PERCPU_OK, PERCPU_CHANGED (nothing
 * stored), PERCPU_MOVED (nothing stored: the thread no longer runs on that
 * shard; load again and retry; may also be returned spuriously), or -1 with
 * errno EINVAL if `shard` is not in [0, percpu_nr_shards()). In lock mode a
 * shard other than the current one is locked and updated, so PERCPU_MOVED
 * is not returned there.
 */
static inline int percpu_cas(intptr_t *p, int shard, intptr_t expect,
			     intptr_t v)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	int r;

	if (PERCPU_LIKELY(percpu_fast_here_on(&h, p, shard))) {
		r = percpu_cs_cmpeq_store(&h, percpu_fast_word(&h),
					  percpu_fast_slot(p, h.cpu), expect, v);
		if (PERCPU_LIKELY(r == PERCPU_CS_OK))
			return PERCPU_OK;
		if (r == PERCPU_CS_CHANGED)
			return PERCPU_CHANGED;
	}
#endif
	return percpu_cas_slow(p, shard, expect, v);
}

/*
 * uint64_t counters: each operation above on a uint64_t word, for 64-bit
 * ABIs (intptr_t of 64 bits: every 64-bit Linux one; a 32-bit ABI has no
 * 64-bit per-CPU word). Same contract and cost: each is the intptr_t
 * operation inlined, its values converted modulo 2^64 (a uint64_t may be
 * read through an intptr_t, its signed counterpart there). An int64_t is
 * an intptr_t on these ABIs (both long), so the operations above take an
 * int64_t * as it is. Sum with percpu_sum_u64() (percpu/memory.h).
 */
#if INTPTR_MAX == INT64_MAX
static inline int percpu_add_u64(uint64_t *p, uint64_t v)
{
	return percpu_add((intptr_t *)p, (intptr_t)v);
}

static inline uint64_t percpu_fetch_add_u64(uint64_t *p, uint64_t v,
					    int *shard)
{
	return (uint64_t)percpu_fetch_add((intptr_t *)p, (intptr_t)v, shard);
}

static inline uint64_t percpu_xchg_u64(uint64_t *p, uint64_t v, int *shard)
{
	return (uint64_t)percpu_xchg((intptr_t *)p, (intptr_t)v, shard);
}

static inline uint64_t percpu_load_u64(uint64_t *p, int *shard)
{
	return (uint64_t)percpu_load((intptr_t *)p, shard);
}

static inline int percpu_store_u64(uint64_t *p, uint64_t v)
{
	return percpu_store((intptr_t *)p, (intptr_t)v);
}

static inline int percpu_cas_u64(uint64_t *p, int shard, uint64_t expect,
				 uint64_t v)
{
	return percpu_cas((intptr_t *)p, shard, (intptr_t)expect, (intptr_t)v);
}
#endif

PERCPU_EXTERN_C_END

#endif
