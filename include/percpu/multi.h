/* SPDX-License-Identifier: MIT */
/*
 * percpu/multi.h: operations that compare one word of a shard and store to
 * several, all on a shard the caller names (from percpu_load()):
 *
 *   percpu_cmp2_store      if *p == expect and *q == expect2: *p = v
 *   percpu_cas_store2      if *p == expect: *q = v2, then *p = v
 *   percpu_memcpy_store    if *p == expect: copy len bytes, then *p = v
 *
 * The last store, to *p, commits. The earlier stores (to *q, or the copy)
 * are speculative: they may land although the commit does not (the thread
 * moved, was preempted, or got a signal; or, in lock mode, a single-word
 * operation changed *p between the compare and the commit, which then
 * reports PERCPU_CHANGED); write them only where a reader looks after
 * seeing the commit, e.g. above a stack's count. p and q are
 * shard-0 addresses in objects from percpu_alloc(), and the operation uses
 * the named shard's copies; memcpy_store's dst and src are used as given
 * (with len 0 they may be NULL: neither is touched, in every mode).
 *
 * Argument order, one rule: compares first, then stores. The compares
 * start with the committing word, as in percpu_cas(): p, shard, expect,
 * then the second compare's (q, expect2). The stores start with the
 * commit's value v, then each speculative store's target before what goes
 * there (q, v2; dst, src, len). So cmp2_store takes (p, shard, expect, q,
 * expect2, v), and cas_store2 and memcpy_store read as
 * percpu_cas(p, shard, expect, v) extended on the right.
 *
 * Each returns PERCPU_OK, PERCPU_CHANGED (a compare failed: nothing stored),
 * PERCPU_MOVED (the thread is not on `shard`: nothing committed; load again
 * and retry; may be spurious), or -1 with errno EINVAL for a shard out of
 * range (or a copy longer than PERCPU_MEMCPY_MAX).
 *
 * Atomicity: on its shard, an operation here is atomic with respect to every
 * operation of this library. One exception, in lock mode only: the second
 * compare of percpu_cmp2_store is not atomic with respect to single-word
 * operations (percpu/ops.h) storing to *q at the same moment; keep q for
 * operations of this header.
 * Thread safety: safe from any thread, in every mode, mixed. Signal safety:
 * not async-signal-safe (on the lock path they hold the shard word, which a
 * handler on the same thread could not take).
 * Memory ordering: relaxed, except the _release forms, whose commit is a
 * release store: a reader that sees it with an acquire load sees the
 * speculative stores too.
 */
#ifndef PERCPU_MULTI_H
#define PERCPU_MULTI_H

#include "ops.h"

PERCPU_EXTERN_C_BEGIN

/* The longest copy percpu_memcpy_store() accepts (bounds the section). */
#define PERCPU_MEMCPY_MAX 4096

PERCPU_API int percpu_cmp2_store_slow(intptr_t *p, int shard, intptr_t expect,
				      intptr_t *q, intptr_t expect2,
				      intptr_t v);
PERCPU_API int percpu_cas_store2_slow(intptr_t *p, int shard, intptr_t expect,
				      intptr_t v, intptr_t *q, intptr_t v2,
				      int release);
PERCPU_API int percpu_memcpy_store_slow(intptr_t *p, int shard,
					intptr_t expect, intptr_t v,
					void *dst, const void *src,
					size_t len, int release);

static inline int percpu_cmp2_store(intptr_t *p, int shard, intptr_t expect,
				    intptr_t *q, intptr_t expect2, intptr_t v)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	int r;

	if (PERCPU_LIKELY(percpu_fast_here_on(&h, p, shard))) {
		r = percpu_cs_cmpeq_cmpeq_store(&h, percpu_fast_word(&h),
						percpu_fast_slot(p, h.cpu), expect,
						percpu_fast_slot(q, h.cpu), expect2,
						v);
		if (PERCPU_LIKELY(r == PERCPU_CS_OK))
			return PERCPU_OK;
		if (r == PERCPU_CS_CHANGED)
			return PERCPU_CHANGED;
	}
#endif
	return percpu_cmp2_store_slow(p, shard, expect, q, expect2, v);
}

/* Private: both forms of percpu_cas_store2. */
static inline int percpu_cas_store2_any(intptr_t *p, int shard,
					intptr_t expect, intptr_t v,
					intptr_t *q, intptr_t v2, int release)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	int r;

	if (PERCPU_LIKELY(percpu_fast_here_on(&h, p, shard))) {
		r = percpu_cs_cmpeq_store_store(&h, percpu_fast_word(&h),
						percpu_fast_slot(p, h.cpu), expect,
						percpu_fast_slot(q, h.cpu), v2, v);
		if (PERCPU_LIKELY(r == PERCPU_CS_OK))
			return PERCPU_OK;
		if (r == PERCPU_CS_CHANGED)
			return PERCPU_CHANGED;
	}
#endif
	return percpu_cas_store2_slow(p, shard, expect, v, q, v2, release);
}

static inline int percpu_cas_store2(intptr_t *p, int shard, intptr_t expect,
				    intptr_t v, intptr_t *q, intptr_t v2)
{
	return percpu_cas_store2_any(p, shard, expect, v, q, v2, 0);
}

static inline int percpu_cas_store2_release(intptr_t *p, int shard,
					    intptr_t expect, intptr_t v,
					    intptr_t *q, intptr_t v2)
{
	return percpu_cas_store2_any(p, shard, expect, v, q, v2, 1);
}

/* Private: both forms of percpu_memcpy_store. */
static inline int percpu_memcpy_store_any(intptr_t *p, int shard,
					  intptr_t expect, intptr_t v,
					  void *dst, const void *src,
					  size_t len, int release)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_copy copy = { dst, src, len };
	struct percpu_here h;
	int r;

	if (PERCPU_LIKELY(percpu_fast_here_on(&h, p, shard)) &&
	    PERCPU_LIKELY(len <= PERCPU_MEMCPY_MAX)) {
		r = percpu_cs_cmpeq_memcpy_store(&h, percpu_fast_word(&h),
						 percpu_fast_slot(p, h.cpu),
						 expect, &copy, v);
		if (PERCPU_LIKELY(r == PERCPU_CS_OK))
			return PERCPU_OK;
		if (r == PERCPU_CS_CHANGED)
			return PERCPU_CHANGED;
	}
#endif
	return percpu_memcpy_store_slow(p, shard, expect, v, dst, src, len,
					release);
}

static inline int percpu_memcpy_store(intptr_t *p, int shard, intptr_t expect,
				      intptr_t v, void *dst, const void *src,
				      size_t len)
{
	return percpu_memcpy_store_any(p, shard, expect, v, dst, src, len, 0);
}

static inline int percpu_memcpy_store_release(intptr_t *p, int shard,
					      intptr_t expect, intptr_t v,
					      void *dst, const void *src,
					      size_t len)
{
	return percpu_memcpy_store_any(p, shard, expect, v, dst, src, len, 1);
}

PERCPU_EXTERN_C_END

#endif
