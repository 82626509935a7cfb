/* SPDX-License-Identifier: MIT */
/*
 * percpu/stack.h: a per-CPU array stack of pointers, the shape of an
 * allocator's per-CPU cache. Each shard has its own count and `capacity`
 * slots.
 *
 *   percpu_stack_push1, percpu_stack_pop1   one pointer: one section that
 *                                           reads the count, checks it
 *                                           and commits; about the cost
 *                                           of a list push and pop
 *   percpu_stack_push1_fast,                the inline section alone,
 *   percpu_stack_pop1_fast                  for callers with a slow path
 *                                           of their own (an allocator):
 *                                           no call, no stack frame
 *   percpu_stack_push, percpu_stack_pop     up to n pointers: a constant
 *                                           n of 1 as above; up to
 *                                           PERCPU_STACK_SMALL with plain
 *                                           moves in one section; more,
 *                                           a load of the count, then a
 *                                           block copy (rep movsb) and
 *                                           the commit in one section
 *
 * The sections read the count and compare it with the capacity (or 0)
 * inside, so a push or pop is one section; when it cannot commit (the
 * thread moved or was preempted, the shard is held by the lock path, or
 * rseq is off) the call goes to the library, which retries it and then
 * applies it holding the shard (src/lockpath/slow.c).
 *
 * Every call applies to one shard, atomically, and tells which: the CPU
 * (or concurrency id) in rseq mode; in lock mode normally the same, but
 * possibly another shard that was free. Full and empty are answers about
 * that shard: other shards' stacks are not looked at (percpu_stack_drain,
 * percpu/remote.h, takes another shard's pointers).
 *
 * Thread safety: safe from any thread, in every mode, mixed; every call
 * here may run at the same time as every other, and as percpu_stack_drain.
 * Signal safety: not async-signal-safe (on the lock path a call holds the
 * shard word, which a handler on the same thread could not take).
 * Memory ordering: a push publishes its pointers with the count (a release:
 * on x86-64 the slots are stored before the count, and x86 stores are
 * ordered), and a pop reads them after the count: what was written to an
 * object before its push is seen by the thread that pops it.
 */
#ifndef PERCPU_STACK_H
#define PERCPU_STACK_H

#include "memory.h"
#include "multi.h"

PERCPU_EXTERN_C_BEGIN

struct percpu_stack {
	intptr_t count;
	intptr_t capacity;
#ifdef __cplusplus
/* A flexible array member is C only; g++ and clang++ take it as an
 * extension, the same layout, but warn under -Wpedantic. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
	void *slot[];
#ifdef __cplusplus
#pragma GCC diagnostic pop
#endif
};

/* The largest batch moved with plain moves; larger ones copy a block. */
#define PERCPU_STACK_SMALL 8

/*
 * percpu_stack_alloc: a stack of `capacity` pointers per shard, empty.
 * Returns NULL with errno EINVAL (capacity 0 or too large for
 * PERCPU_ALLOC_MAX) or ENOMEM. Free it with percpu_free().
 */
PERCPU_API struct percpu_stack *percpu_stack_alloc(size_t capacity);

/* Library slow paths of the inline operations below; call those instead. */
PERCPU_API size_t percpu_stack_push_slow(struct percpu_stack *s,
					 void *const *ptrs, size_t n,
					 int *shard);
PERCPU_API size_t percpu_stack_pop_slow(struct percpu_stack *s, void **out,
					size_t n, int *shard);

/* Private: this shard's stack, as the sections see it (words). */
static inline intptr_t *percpu_stack_here(struct percpu_stack *s,
					  const struct percpu_here *h)
{
	return percpu_fast_slot(&s->count, h->cpu);
}

/*
 * percpu_stack_push1: push `ptr` onto this shard's stack. Returns 1, or 0
 * if that stack is full; stores the shard through `shard` if not NULL.
 */
static inline int percpu_stack_push1(struct percpu_stack *s, void *ptr,
				     int *shard)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	int r;

	if (PERCPU_LIKELY(percpu_fast_here(&h, s))) {
		r = percpu_cs_stack_push1(&h, percpu_fast_gate(&h),
					  percpu_stack_here(s, &h),
					  (intptr_t)ptr);
		if (PERCPU_LIKELY(r == PERCPU_CS_OK || r == PERCPU_CS_CHANGED)) {
			if (shard)
				*shard = (int)h.cpu;
			return r == PERCPU_CS_OK;
		}
	}
#endif
	return (int)percpu_stack_push_slow(s, &ptr, 1, shard);
}

/* Private: percpu_stack_pop1 into *out (left alone if empty); 1 or 0. */
static inline int percpu_stack_pop1_into(struct percpu_stack *s, void **out,
					 int *shard)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	int r;

	if (PERCPU_LIKELY(percpu_fast_here(&h, s))) {
		r = percpu_cs_stack_pop1(&h, percpu_fast_gate(&h),
					 percpu_stack_here(s, &h),
					 (intptr_t *)out);
		if (PERCPU_LIKELY(r == PERCPU_CS_OK || r == PERCPU_CS_CHANGED)) {
			if (shard)
				*shard = (int)h.cpu;
			return r == PERCPU_CS_OK;
		}
	}
#endif
	return (int)percpu_stack_pop_slow(s, out, 1, shard);
}

/*
 * percpu_stack_pop1: pop the top pointer of this shard's stack. Returns
 * it, or NULL if that stack is empty (a NULL that was pushed looks the
 * same: percpu_stack_pop tells them apart); stores the shard through
 * `shard` if not NULL.
 */
static inline void *percpu_stack_pop1(struct percpu_stack *s, int *shard)
{
	void *ptr = NULL;

	percpu_stack_pop1_into(s, &ptr, shard);
	return ptr;
}

/*
 * percpu_stack_push1_fast: push `ptr` onto this shard's stack in one rseq
 * section, if that can be done here and now. Returns 1 if pushed; 0 if
 * not: the stack is full, or the section could not commit (preempted,
 * moved, the shard held by the lock path), or there is no rseq (lock
 * mode, always). On 0 nothing was pushed; the caller goes on with
 * percpu_stack_push1, or its own slow path. It never calls the library.
 */
static inline int percpu_stack_push1_fast(struct percpu_stack *s, void *ptr)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;

	return percpu_fast_enter(&h, s) &&
	       percpu_cs_stack_push1_here(&h, &s->count, (intptr_t)ptr);
#else
	(void)s;
	(void)ptr;
	return 0;
#endif
}

/*
 * percpu_stack_pop1_fast: pop the top pointer of this shard's stack in one
 * rseq section, if that can be done here and now. Returns it, or NULL
 * when the stack is empty, the section could not commit, or there is no
 * rseq (lock mode, always): then nothing was popped, and the caller goes
 * on with percpu_stack_pop1 or its own slow path. A stack that may hold
 * NULL cannot tell a popped NULL from a failure: use percpu_stack_pop1.
 * The pointer comes back in a register on x86-64 (through memory on
 * aarch64); it never calls the library.
 */
static inline void *percpu_stack_pop1_fast(struct percpu_stack *s)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;

	if (!percpu_fast_enter(&h, s))
		return NULL;
	return (void *)percpu_cs_stack_pop1_here(&h, &s->count);
#else
	(void)s;
	return NULL;
#endif
}

/*
 * percpu_stack_push: push up to n pointers from `ptrs` onto this shard's
 * stack, as many as fit. Returns how many were pushed (ptrs[0] first, so
 * the last pushed is on top), 0 if that stack is full; stores the shard
 * through `shard` if not NULL. At most PERCPU_MEMCPY_MAX / sizeof(void *)
 * pointers move in one call. An n known to be 1 at compile time takes
 * percpu_stack_push1's section; one known only at run time, the small
 * batch's (which keeps the inline code small). With n = 0, ptrs may be
 * NULL: nothing is read, 0 is returned, in every mode.
 */
static inline size_t percpu_stack_push(struct percpu_stack *s,
				       void *const *ptrs, size_t n, int *shard)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	size_t k = n;
	int r;

	if (__builtin_constant_p(n) && n == 1)
		return (size_t)percpu_stack_push1(s, ptrs[0], shard);
	if (PERCPU_LIKELY(n <= PERCPU_STACK_SMALL) &&
	    PERCPU_LIKELY(percpu_fast_here(&h, s))) {
		r = percpu_cs_stack_push_small(&h, percpu_fast_gate(&h),
					       percpu_stack_here(s, &h), ptrs,
					       &k);
		if (PERCPU_LIKELY(r == PERCPU_CS_OK || r == PERCPU_CS_CHANGED)) {
			if (shard)
				*shard = (int)h.cpu;
			return r == PERCPU_CS_OK ? k : 0;
		}
	}
#endif
	return percpu_stack_push_slow(s, ptrs, n, shard);
}

/*
 * percpu_stack_pop: pop up to n pointers from this shard's stack into
 * `out`, in the order they were pushed: the top is out[k - 1]. Returns
 * how many were popped (k), 0 if that stack is empty; stores the shard
 * through `shard` if not NULL. out[k .. n) may have been written to. At
 * most PERCPU_MEMCPY_MAX / sizeof(void *) pointers move in one call. With
 * n = 0, out may be NULL: nothing is written, 0 is returned.
 */
static inline size_t percpu_stack_pop(struct percpu_stack *s, void **out,
				      size_t n, int *shard)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	size_t k = n;
	int r;

	if (__builtin_constant_p(n) && n == 1)
		return (size_t)percpu_stack_pop1_into(s, out, shard);
	if (PERCPU_LIKELY(n <= PERCPU_STACK_SMALL) &&
	    PERCPU_LIKELY(percpu_fast_here(&h, s))) {
		r = percpu_cs_stack_pop_small(&h, percpu_fast_gate(&h),
					      percpu_stack_here(s, &h), out,
					      &k);
		if (PERCPU_LIKELY(r == PERCPU_CS_OK || r == PERCPU_CS_CHANGED)) {
			if (shard)
				*shard = (int)h.cpu;
			return r == PERCPU_CS_OK ? k : 0;
		}
	}
#endif
	return percpu_stack_pop_slow(s, out, n, shard);
}

PERCPU_EXTERN_C_END

#endif
