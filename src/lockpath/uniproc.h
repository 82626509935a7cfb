/* SPDX-License-Identifier: MIT */
/*
 * src/lockpath/uniproc.h: read-modify-writes for a shard no other thread touches
 * (a lease, lease.c). A signal handler on this thread may still run between
 * any two instructions, so each update is one instruction, or commits with
 * one compare-and-exchange: a handler cannot split it. Without the lock
 * prefix they cost about what a plain store does.
 */
#ifndef PERCPU_UNIPROC_H
#define PERCPU_UNIPROC_H

#include <stdint.h>

static inline intptr_t up_load(const intptr_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void up_store(intptr_t *p, intptr_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/*
 * ThreadSanitizer does not see inside asm: it would miss these updates,
 * and the acquire of a lock word taken under a lease, and report the data
 * that lock protects as raced. Its builds take the builtins below.
 */
#if defined(__SANITIZE_THREAD__)
#define UP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UP_TSAN 1
#endif
#endif

#if defined(__x86_64__) && !defined(UP_TSAN)
static inline void up_add(intptr_t *p, intptr_t v)
{
	__asm__ __volatile__("addq %1, %0" : "+m"(*p) : "er"(v) : "cc");
}

static inline intptr_t up_fetch_add(intptr_t *p, intptr_t v)
{
	__asm__ __volatile__("xaddq %0, %1" : "+r"(v), "+m"(*p) : : "cc");
	return v;
}

/* "memory": stores before it (a node's next) must not sink below it. */
static inline int up_cas(intptr_t *p, intptr_t expect, intptr_t v)
{
	int ok;

	__asm__ __volatile__("cmpxchgq %3, %1"
			     : "=@ccz"(ok), "+m"(*p), "+a"(expect)
			     : "r"(v)
			     : "memory");
	return ok;
}
#else
/* Elsewhere the atomic builtins: correct, if not as cheap. */
static inline void up_add(intptr_t *p, intptr_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static inline intptr_t up_fetch_add(intptr_t *p, intptr_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static inline int up_cas(intptr_t *p, intptr_t expect, intptr_t v)
{
	return __atomic_compare_exchange_n(p, &expect, v, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_RELAXED);
}
#endif

static inline intptr_t up_xchg(intptr_t *p, intptr_t v)
{
	intptr_t old;

	do
		old = up_load(p);
	while (!up_cas(p, old, v));
	return old;
}

#endif
