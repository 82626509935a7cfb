/* SPDX-License-Identifier: MIT */
/*
 * src/malloc/malloc_internal.h: what the allocator's files share. The
 * allocator is built on the public API only (<percpu.h>).
 *
 * Layers, top down:
 *   api.c      the malloc family, initialization, the pre-init bump area
 *   cache      (inline below) per class a per-CPU pointer stack
 *   tcache.c   on the lock path only: per thread a few objects per class
 *   central.c  per class a mutex, a transfer cache and the spans with room
 *   span.c     the reserved range, carved into spans of one class each
 *   large.c    objects above the largest class: one mapping each
 *   drain.c    per-CPU caches given back (malloc_trim, idle shards)
 *   stats.c    counters and their Prometheus text; check.c the walk
 * Lock order: drain, then a class's central lock, then the span lock or
 * the thread caches' list lock; the large registry's lock alone. No
 * percpu operation runs while one of these is held, except drain's
 * percpu_remote() under the drain lock, and no lock of ours is taken
 * inside a percpu_remote() function.
 */
#ifndef PERCPU_MALLOC_INTERNAL_H
#define PERCPU_MALLOC_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <percpu.h>
#include "percpu_malloc.h"

#define HIDDEN __attribute__((visibility("hidden")))
#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- size classes (classes.c) ---- */

#define NR_CLASSES PERCPU_MALLOC_CLASSES	/* 1..NR_CLASSES; 0: none */
#define MAX_SMALL ((size_t)32768)
#define MIN_ALIGN 16u
#define MAX_BATCH 32u
/* A class's transfer cache: at most this many objects. */
#define XFER_MAX 2048u

struct class_info {
	uint32_t size;		/* object size, a multiple of 16 */
	uint32_t batch;		/* objects moved per refill or overflow */
	uint32_t capacity;	/* per-CPU cache slots */
	uint32_t per_span;	/* objects in one span */
	uint32_t xfer_cap;	/* transfer cache slots */
	uint64_t inverse;	/* 2^40 / size, rounded up: offset -> index */
};

HIDDEN extern struct class_info classes[NR_CLASSES + 1];
HIDDEN extern uint8_t class_small[1024 / 16 + 1];	/* (n + 15) >> 4 */
HIDDEN extern uint8_t class_large[32768 / 128 + 1];	/* (n + 127) >> 7 */

HIDDEN void classes_init(void);
HIDDEN unsigned int class_aligned(size_t size, size_t align);

/* The class of n bytes, n <= MAX_SMALL; 0 before classes_init(). */
static inline unsigned int class_of(size_t n)
{
	if (LIKELY(n <= 1024))
		return class_small[(n + 15) >> 4];
	return class_large[(n + 127) >> 7];
}

/* ---- the per-CPU caches ---- */

/* Per class its stack; NULL before initialization (and if refused). */
HIDDEN extern struct percpu_stack *caches[NR_CLASSES + 1];
/* The same per size, as class_of's tables: malloc's fast path finds its
 * cache with one load. NULL until every cache is set up. */
HIDDEN extern struct percpu_stack *cache_small[1024 / 16 + 1];
HIDDEN extern struct percpu_stack *cache_large[32768 / 128 + 1];
HIDDEN void caches_by_size_init(void);
HIDDEN void span_caches_init(void);

/* The cache for n bytes; NULL above MAX_SMALL and before initialization. */
static inline struct percpu_stack *cache_of(size_t n)
{
	if (LIKELY(n <= 1024))
		return cache_small[(n + 15) >> 4];
	if (n <= MAX_SMALL)
		return cache_large[(n + 127) >> 7];
	return NULL;
}

/* Non-zero: count cache hits (PERCPU_MALLOC_STATS set at start); then
 * malloc's and free's fast-path tables stay empty. */
HIDDEN extern int stats_hits;
HIDDEN void stats_hits_from_env(void);

/* One object out of a cache, on a path other than malloc's own. */
static inline int cache_pop(struct percpu_stack *s, void **p)
{
	return percpu_stack_pop(s, p, 1, NULL) == 1;
}

HIDDEN struct percpu_stack *cache_alloc(unsigned int cls);

/* Batches; both loop over the section's length limit. */
HIDDEN size_t cache_push_batch(struct percpu_stack *s, void **p, size_t n);
HIDDEN size_t cache_pop_batch(struct percpu_stack *s, void **p, size_t n);
/* n objects of cls to this shard's cache (opened if need be), what does
 * not fit to the central list. */
HIDDEN void cache_give(unsigned int cls, void **p, size_t n);

/* ---- spans and the range (span.c) ---- */

#define SPAN_SHIFT 18
#define SPAN_SIZE ((size_t)1 << SPAN_SHIFT)
#define RANGE_MAX ((size_t)64 << 30)
#define RANGE_MIN ((size_t)1 << 30)
#define MAX_SPANS (RANGE_MAX >> SPAN_SHIFT)

struct span {
	void *free;		/* freed objects, linked through word 0 */
	struct span *next;	/* in its class's list, or the free spans */
	struct span *prev;
	uint32_t nfree;		/* objects on `free` */
	uint32_t bump;		/* objects [0, bump) handed out at least once */
	struct span **carver;	/* the carving slot naming it, or NULL */
	uint8_t cls;		/* as span_class[], under the class lock */
	uint8_t listed;		/* on its class's list: objects on `free` */
};

HIDDEN extern uintptr_t range_base;	/* 0 until reserved */
HIDDEN extern size_t range_len;
HIDDEN extern uint8_t span_class[MAX_SPANS];
/* Per span its class's cache, NULL if not carved (or no cache): free's
 * fast path finds the cache with one load, not two dependent ones. */
HIDDEN extern struct percpu_stack *span_cache[MAX_SPANS];
HIDDEN extern struct span *spans;
HIDDEN extern pthread_mutex_t span_lock;

HIDDEN int range_init(void);
HIDDEN struct span *span_carve(unsigned int cls);
HIDDEN void span_release(struct span *sp);
HIDDEN size_t spans_carved(void);

static inline size_t span_index(const void *p)
{
	return ((uintptr_t)p - range_base) >> SPAN_SHIFT;
}

static inline char *span_start(const struct span *sp)
{
	return (char *)range_base + ((size_t)(sp - spans) << SPAN_SHIFT);
}

/*
 * The range's length is published after its base (release), and read
 * before it (acquire): a reader that sees a length sees the base that goes
 * with it, so while the range is being set up nothing is taken for ours.
 */
static inline size_t range_length(void)
{
	return __atomic_load_n(&range_len, __ATOMIC_ACQUIRE);
}

/* The class of a pointer in the range, 0 if its span is not carved. */
static inline unsigned int range_class(const void *p)
{
	size_t len = range_length();
	uintptr_t off = (uintptr_t)p - range_base;

	return off < len ? span_class[off >> SPAN_SHIFT] : 0;
}

/* The cache for a pointer in the range, NULL if its span has none. */
static inline struct percpu_stack *range_cache(const void *p)
{
	size_t len = range_length();
	uintptr_t off = (uintptr_t)p - range_base;

	return off < len ? span_cache[off >> SPAN_SHIFT] : NULL;
}

static inline int in_range(const void *p)
{
	size_t len = range_length();

	return (uintptr_t)p - range_base < len;
}

/* Non-zero if p is the start of an object of its span's class. */
HIDDEN int object_valid(const void *p, unsigned int cls);

/* ---- central lists (central.c) ---- */

HIDDEN size_t central_take(unsigned int cls, void **out, size_t n);
HIDDEN void central_give(unsigned int cls, void **p, size_t n);
HIDDEN void central_flush(void);	/* transfer caches, empty spans */
HIDDEN void central_lock_all(void);
HIDDEN void central_unlock_all(void);
HIDDEN void central_counts(unsigned int cls, uint64_t *fetched,
			   uint64_t *returned, uint64_t *xfer);
/* For check.c: fn(arg, transfer cache, length) under the class lock. */
HIDDEN void central_walk(unsigned int cls,
			 void (*fn)(void *arg, void *const *p, size_t n),
			 void *arg);

/* ---- large objects (large.c) ---- */

HIDDEN void *large_alloc(size_t size, size_t align, int zero);
HIDDEN void large_trim(void);	/* unmap the kept mappings */
HIDDEN int large_free(void *p);		/* 0 if not a large object */
HIDDEN size_t large_usable(const void *p);	/* 0 if not one */
HIDDEN void *large_realloc(void *p, size_t size);	/* NULL: cannot */
HIDDEN void large_lock(void);
HIDDEN void large_unlock(void);
HIDDEN void large_counts(uint64_t *objects, uint64_t *bytes);

/* ---- drains (drain.c) ---- */

HIDDEN int drain_all(void);		/* objects given back */
HIDDEN void drain_idle(int shard);	/* rarely: shards gone quiet */
HIDDEN void drain_lock(void);
HIDDEN void drain_unlock(void);
HIDDEN uint64_t cached_objects(unsigned int cls);

/* ---- per-thread caches, on the lock path (tcache.c) ---- */

HIDDEN void *tc_alloc(unsigned int cls);	/* NULL: use the shared caches */
HIDDEN int tc_free(unsigned int cls, void *p);	/* 0: use the shared caches */
HIDDEN uint64_t tc_cached(unsigned int cls);
/* For check.c: fn(arg, objects, count) per thread's cache, under its lock. */
HIDDEN void tc_walk(unsigned int cls,
		    void (*fn)(void *arg, void *const *p, size_t n), void *arg);
HIDDEN void tc_init(void);		/* the key, early: its index stays low */
HIDDEN void tc_trim(void);	/* the caller's given back, the ring swept */
HIDDEN void tc_lock_all(void);
HIDDEN void tc_unlock_all(void);

/* ---- statistics (stats.c) ---- */

enum cstat {
	ST_MALLOC_HIT,		/* popped from the cache (if stats_hits) */
	ST_FREE_HIT,		/* pushed on the cache (if stats_hits) */
	ST_MISS,		/* malloc found the cache empty */
	ST_OVERFLOW,		/* free found the cache full */
	ST_DRAINED,		/* objects taken from caches by drains */
	NR_STATS
};

enum gstat {
	G_LARGE_ALLOC,
	G_LARGE_FREE,
	G_FOREIGN_FREE,		/* free() of a pointer not ours: ignored */
	G_SPANS_CARVED,
	G_SPANS_RELEASED,
	G_DRAINS,		/* percpu_remote() calls that drained */
	NR_GSTATS
};

/*
 * Every counter is a word of one per-CPU block, NULL until stats_init():
 * per class NR_STATS words, then NR_GSTATS. One block, not a
 * percpu_counter each: those are 64 bytes apiece (their read cache and
 * mutex, which these sums do not use), 13 KiB of .bss for 205 counters.
 */
HIDDEN extern intptr_t *stat_words;

#define STAT_CLASS(cls, s) ((cls) * NR_STATS + (s))
#define STAT_GLOBAL(s) ((NR_CLASSES + 1) * NR_STATS + (s))
#define NR_STAT_WORDS STAT_GLOBAL(NR_GSTATS)

HIDDEN int stats_init(void);
HIDDEN void stats_lock(void);
HIDDEN void stats_unlock(void);

static inline void stat_word_add(unsigned int i, intptr_t v)
{
	intptr_t *w = __atomic_load_n(&stat_words, __ATOMIC_ACQUIRE);

	if (w)
		percpu_add(&w[i], v);
}

static inline void stat_add(unsigned int cls, enum cstat s, intptr_t v)
{
	stat_word_add(STAT_CLASS(cls, s), v);
}

static inline void gstat_add(enum gstat s, intptr_t v)
{
	stat_word_add(STAT_GLOBAL(s), v);
}

/* ---- init.c ---- */

HIDDEN extern int central_ok;	/* the range is reserved */
HIDDEN void die(const char *what);
HIDDEN int malloc_ready(void);
/* init_state (init.c) once the allocator is set up. */
#define INIT_DONE (~(uint64_t)0)
HIDDEN extern uint64_t init_state;
HIDDEN int malloc_init_slow(void);

/*
 * Set up if nobody has. Returns 1 when the allocator is set up, 0 when the
 * caller must use the bump area: it is the thread setting up. The check
 * is inline: the paths that call it on every allocation (all of them with
 * hits counted) paid a call whose prologue saved six registers.
 */
static inline int malloc_init(void)
{
	if (LIKELY(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == INIT_DONE))
		return 1;
	return malloc_init_slow();
}

HIDDEN int in_bump(const void *p);
HIDDEN size_t bump_usable(const void *p);
HIDDEN void *bump_alloc(size_t size, size_t align);
HIDDEN extern uint64_t bump_allocs;

#endif
