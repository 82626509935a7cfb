/* SPDX-License-Identifier: MIT */
/*
 * percpu_malloc.h: the calls libpercpu-malloc adds to the malloc family,
 * for programs that link it (with LD_PRELOAD, look them up with dlsym).
 * See percpu_malloc(3).
 */
#ifndef PERCPU_MALLOC_H
#define PERCPU_MALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PERCPU_MALLOC_CLASSES 40

/*
 * Statistics. Counts are sums of per-CPU counters: exact when no thread
 * allocates during the call, otherwise off by the operations in flight.
 * Cache hits are counted only when PERCPU_MALLOC_STATS was set at start
 * (counting them costs two per-CPU adds per malloc and free); the rest
 * always.
 */
struct percpu_malloc_class_stats {
	uint64_t size;		/* object size of the class */
	uint64_t in_use;	/* objects handed to the program */
	uint64_t cached;	/* objects in per-CPU caches */
	uint64_t transfer;	/* objects in the transfer cache */
	uint64_t malloc_hits;	/* mallocs served by the cache */
	uint64_t free_hits;	/* frees kept by the cache */
	uint64_t misses;	/* mallocs that refilled the cache */
	uint64_t overflows;	/* frees that moved a batch back */
	uint64_t drained;	/* objects taken back from idle caches */
};

struct percpu_malloc_stats {
	struct percpu_malloc_class_stats cls[PERCPU_MALLOC_CLASSES];
	uint64_t small_in_use_bytes;	/* sum of in_use * size */
	uint64_t large_objects;		/* live objects above 32 KiB */
	uint64_t large_bytes;		/* their mappings' bytes */
	uint64_t large_allocs, large_frees;
	uint64_t foreign_frees;		/* free() of pointers not ours */
	uint64_t preinit_allocs;	/* served before initialization */
	uint64_t spans_carved, spans_released, spans_live;
	uint64_t range_bytes;		/* the reserved range */
	uint64_t drains;		/* per-CPU drains (percpu_remote) */
};

/*
 * percpu_malloc_stats: fill *st. Returns 0, or -1 with errno EINVAL (st
 * NULL). Allocates nothing; not async-signal-safe.
 */
int percpu_malloc_stats(struct percpu_malloc_stats *st);

/*
 * percpu_malloc_stats_write: the statistics as Prometheus text (format
 * 0.0.4) written to fd, from a fixed buffer (no allocation). Returns 0,
 * or -1 with errno from write(2). PERCPU_MALLOC_STATS=FILE in the
 * environment does this into FILE at exit.
 */
int percpu_malloc_stats_write(int fd);

/*
 * percpu_malloc_check: walk every span, cache, transfer cache and free
 * list, and count. Call it while no other thread allocates or frees.
 * Returns 0 if consistent: every free object is a valid object of its
 * class found in exactly one place, every span's free count matches its
 * list, and the objects in use by the walk equal those by the counters
 * (taken from the central lists minus given back minus cached). Returns
 * -1 otherwise (errno EFAULT), or -1 with ENOMEM (no scratch memory).
 * Fills *r if not NULL.
 */
struct percpu_malloc_check {
	uint64_t spans;		/* spans holding a class */
	uint64_t objects;	/* objects carved in them */
	uint64_t free;		/* on caches, transfer caches, span lists */
	uint64_t in_use;	/* objects - free */
	uint64_t in_use_counted; /* the same by the central counters */
	uint64_t duplicates;	/* objects found free twice */
	uint64_t invalid;	/* free entries that are not objects */
	uint64_t bad_spans;	/* spans whose free count is wrong */
	uint64_t large_objects;
};

int percpu_malloc_check(struct percpu_malloc_check *r);

/*
 * percpu_malloc_drain: give every per-CPU cache back to the central lists
 * (one percpu_remote() per shard), flush the transfer caches and return
 * empty spans to the kernel. malloc_trim() does this. Returns the number
 * of objects taken from the caches.
 */
size_t percpu_malloc_drain(void);

#ifdef __cplusplus
}
#endif

#endif
