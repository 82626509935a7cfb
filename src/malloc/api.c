// SPDX-License-Identifier: MIT
/*
 * src/malloc/api.c: the malloc family. The fast paths: malloc pops an
 * object from this CPU's cache of its class; free finds the class from
 * the span's class byte and pushes the object on this CPU's cache. All
 * else (a miss, an overflow, large or aligned objects, the first call) is
 * on the slow paths below.
 *
 * Pointers: free() of NULL does nothing; of an object from the pre-init
 * area, nothing (it is never recycled); of a pointer inside the range that
 * is not an object handed out (a span not carved, or, when it reaches the
 * central list, not at an object boundary), the program stops with
 * "percpu-malloc: free(): invalid pointer", as glibc does; of a pointer
 * neither in the range nor a large object (memory another allocator handed
 * out), nothing: it is counted (foreign_frees) and never put on any list.
 * free() preserves errno.
 */
#include <errno.h>
#include <string.h>
#include "malloc_internal.h"

#define PAGE ((size_t)4096)

/*
 * malloc's and free's hot paths are about 120 bytes each: aligned to a
 * cache line they span two lines, where at offset 32 they spanned three,
 * and a malloc+free pair cost 3.55 against 3.31 ns (AMD EPYC, ring64, one
 * thread, the same code linked at two places).
 */
#define HOT_PATH __attribute__((aligned(64)))

/*
 * A class's cache, every shard's capacity 0: each push there fails (full)
 * until the shard's first refill or overflow opens it, so that a class
 * never used on a CPU touches none of its pages there (the headers of 40
 * stacks, most on pages of their own, were 84 KiB per CPU).
 */
struct percpu_stack *cache_alloc(unsigned int cls)
{
	return percpu_alloc(sizeof(struct percpu_stack) +
			    classes[cls].capacity * sizeof(void *));
}

/*
 * Gives shard's cache its capacity if it has none yet; 1 if it had none.
 * From any thread: the capacity only goes from 0 to its value, and a
 * section or lock-path push that reads the old 0 just says full.
 */
static int cache_open(struct percpu_stack *s, int shard, unsigned int cls)
{
	intptr_t *cap = &((struct percpu_stack *)percpu_ptr(s, shard))->capacity;

	if (__atomic_load_n(cap, __ATOMIC_RELAXED))
		return 0;
	__atomic_store_n(cap, (intptr_t)classes[cls].capacity,
			 __ATOMIC_RELAXED);
	return 1;
}

size_t cache_push_batch(struct percpu_stack *s, void **p, size_t n)
{
	size_t done = 0, k;

	while (done < n) {
		k = percpu_stack_push(s, p + done, n - done, NULL);
		if (!k)
			break;
		done += k;
	}
	return done;
}

void cache_give(unsigned int cls, void **p, size_t n)
{
	struct percpu_stack *s = caches[cls];
	size_t pushed = 0;

	if (s) {
		cache_open(s, percpu_shard_id(), cls);
		pushed = cache_push_batch(s, p, n);
	}
	if (pushed < n)
		central_give(cls, p + pushed, n - pushed);
}

size_t cache_pop_batch(struct percpu_stack *s, void **p, size_t n)
{
	size_t done = 0, k;

	while (done < n) {
		k = percpu_stack_pop(s, p + done, n - done, NULL);
		if (!k)
			break;
		done += k;
	}
	return done;
}

/* ---- slow paths ---- */

/* One object of cls from the central list, refilling the cache. */
static void *refill(unsigned int cls, struct percpu_stack *s)
{
	void *buf[MAX_BATCH];
	size_t n = s ? classes[cls].batch : 1, k;

	k = central_take(cls, buf, n);
	if (!k) {
		drain_all();	/* memory pressure: other CPUs' caches */
		k = central_take(cls, buf, n);
		if (!k) {
			errno = ENOMEM;
			return NULL;
		}
	}
	if (k > 1)
		cache_give(cls, buf, k - 1);
	stat_add(cls, ST_MISS, 1);
	if (s)
		drain_idle(-1);
	return buf[k - 1];
}

static void *small_alloc(unsigned int cls)
{
	struct percpu_stack *s = caches[cls];
	void *p = NULL;

	if (s && cache_pop(s, &p)) {
		if (UNLIKELY(stats_hits))
			stat_add(cls, ST_MALLOC_HIT, 1);
		return p;
	}
	return refill(cls, s);
}

/* Any allocation: size bytes aligned to align (a power of two). */
static __attribute__((noinline)) void *alloc_slow(size_t size, size_t align)
{
	unsigned int cls = 0;
	void *p;

	if (!malloc_init()) {
		p = bump_alloc(size, align);
		return p ? p : large_alloc(size, align, 0);
	}
	if (size <= MAX_SMALL && align <= MIN_ALIGN)
		cls = class_of(size);
	else if (size <= MAX_SMALL && align <= MAX_SMALL)
		cls = class_aligned(size, align);
	if (cls && central_ok)
		return small_alloc(cls);
	return large_alloc(size, align, 0);
}

/* p's class is found again here, so that free's fast path need not keep
 * it across the section. */
static __attribute__((noinline)) void free_small_slow(void *p)
{
	unsigned int cls = range_class(p);
	struct percpu_stack *s = caches[cls];
	void *buf[MAX_BATCH + 1];
	size_t k = 1;
	int saved = errno;

	buf[0] = p;
	if (s) {
		k += cache_pop_batch(s, buf + 1, classes[cls].batch);
		stat_add(cls, ST_OVERFLOW, 1);
	}
	central_give(cls, buf, k);
	if (s)
		drain_idle(-1);
	errno = saved;
}

static __attribute__((noinline)) void free_slow(void *p)
{
	int saved = errno;

	if (!p || in_bump(p))
		return;
	if (in_range(p))
		die("free(): invalid pointer");
	if (!large_free(p))
		gstat_add(G_FOREIGN_FREE, 1);
	errno = saved;
}

/* ---- the fast paths ---- */

/*
 * The fast paths are one inline section each, with no call before it and
 * none after it on a hit, so they need no stack frame and no callee-saved
 * register, and they count nothing: with hits counted (stats_hits), their
 * tables stay empty and every call takes the paths below, which count.
 * All else is out of line: the slow paths retry the section and then take
 * the library's.
 */

/* malloc's section popped nothing (empty, preempted, or lock mode): the
 * library's slow path, which retries it or takes the lock path, then a
 * refill. */
static __attribute__((noinline)) void *malloc_cache_slow(size_t size)
{
	unsigned int cls = class_of(size);
	struct percpu_stack *s = caches[cls];
	void *p;

	if ((p = tc_alloc(cls)) != NULL ||
	    percpu_stack_pop_slow(s, &p, 1, NULL) == 1) {
		if (UNLIKELY(stats_hits))
			stat_add(cls, ST_MALLOC_HIT, 1);
		return p;
	}
	return refill(cls, s);
}

HOT_PATH EXPORT void *malloc(size_t size)
{
	struct percpu_stack *s = cache_of(size);
	void *p;

	if (LIKELY(s != NULL)) {
		p = percpu_stack_pop1_fast(s);
		if (UNLIKELY(p == NULL))
			return malloc_cache_slow(size);
		return p;
	}
	return alloc_slow(size, MIN_ALIGN);
}

/*
 * free's fast path found no cache (not ours, or no cache for the span),
 * or its section did not push p (full, not yet opened, preempted, or
 * lock mode).
 */
static __attribute__((noinline)) void free_not_fast(void *p)
{
	unsigned int cls = range_class(p);
	struct percpu_stack *s = caches[cls];
	int shard;

	if (!cls) {
		free_slow(p);
		return;
	}
	/* Counting hits, free's fast path never runs (its table is empty):
	 * its section first, before the lock path's ways. */
	if (UNLIKELY(stats_hits) && s && percpu_stack_push1_fast(s, p)) {
		stat_add(cls, ST_FREE_HIT, 1);
		return;
	}
	if (tc_free(cls, p) ||
	    (s && (percpu_stack_push_slow(s, &p, 1, &shard) == 1 ||
		  (cache_open(s, shard, cls) &&
		   percpu_stack_push_slow(s, &p, 1, NULL) == 1)))) {
		if (UNLIKELY(stats_hits))
			stat_add(cls, ST_FREE_HIT, 1);
		return;
	}
	free_small_slow(p);
}

HOT_PATH EXPORT void free(void *p)
{
	struct percpu_stack *s = range_cache(p);

	if (LIKELY(s != NULL) && LIKELY(percpu_stack_push1_fast(s, p)))
		return;
	free_not_fast(p);
}

/* ---- the rest of the family ---- */

EXPORT size_t malloc_usable_size(void *p)
{
	unsigned int cls;

	if (!p)
		return 0;
	cls = range_class(p);
	if (cls)
		return classes[cls].size;
	if (in_bump(p))
		return bump_usable(p);
	return large_usable(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (total > MAX_SMALL && malloc_init())
		return large_alloc(total, MIN_ALIGN, 1);	/* zeroes reuse */
	p = malloc(total);
	/* Bump objects are never reused: still zero. */
	if (p && !in_bump(p))
		memset(p, 0, total);
	return p;
}

/* Move p (usable bytes `have`) to a new object of size bytes. */
static void *realloc_move(void *p, size_t have, size_t size, int keep)
{
	void *q = malloc(size);

	if (!q)
		return NULL;
	memcpy(q, p, have < size ? have : size);
	if (!keep)
		free(p);
	return q;
}

EXPORT void *realloc(void *p, size_t size)
{
	unsigned int cls;
	size_t have;

	if (!p)
		return malloc(size);
	if (!size) {
		free(p);
		return NULL;
	}
	cls = range_class(p);
	if (cls) {
		have = classes[cls].size;
		if (size <= have && (size >= have / 2 || size <= MIN_ALIGN))
			return p;
		return realloc_move(p, have, size, 0);
	}
	if (in_bump(p))
		return realloc_move(p, bump_usable(p), size, 1);
	if (in_range(p))
		die("realloc(): invalid pointer");
	have = large_usable(p);
	if (!have)
		die("realloc(): invalid pointer");
	if (size > MAX_SMALL)
		return size <= have && size >= have / 2 ? p :
							  large_realloc(p, size);
	return realloc_move(p, have, size, 0);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, total);
}

static void *aligned(size_t align, size_t size)
{
	if (align <= MIN_ALIGN)
		return malloc(size);
	return alloc_slow(size, align);
}

static int power_of_two(size_t v)
{
	return v && !(v & (v - 1));
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	int saved = errno;
	void *p;

	if (align < sizeof(void *) || !power_of_two(align))
		return EINVAL;
	p = aligned(align, size);
	errno = saved;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!power_of_two(align)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned(align, size);
}

/* As glibc: an alignment that is not a power of two is rounded up. */
EXPORT void *memalign(size_t align, size_t size)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	while (!power_of_two(align))
		align = align ? (align | (align - 1)) + 1 : 1;
	return aligned(align, size);
}

EXPORT void *valloc(size_t size)
{
	return aligned(PAGE, size);
}

EXPORT void *pvalloc(size_t size)
{
	if (size > SIZE_MAX - PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size = (size + PAGE - 1) & ~(PAGE - 1);
	return aligned(PAGE, size ? size : PAGE);
}

EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	if (!malloc_ready())
		return 0;
	large_trim();
	tc_trim();
	return drain_all() > 0 || spans_carved() > 0;
}
