// SPDX-License-Identifier: MIT
/*
 * src/malloc/stats.c: the allocator's statistics, on the project's own
 * per-CPU words (percpu_add() and percpu_sum(), which allocate nothing;
 * malloc_internal.h says why not a percpu_counter each). Objects in use
 * per class are not counted on the fast path: they are what the central
 * list handed out, less what came back, less what sits in the per-CPU
 * caches. Cache hits cost two per-CPU adds per malloc/free pair, so they
 * are counted only when PERCPU_MALLOC_STATS is set at start. The
 * Prometheus text is written from a fixed buffer with snprintf() and
 * write(): no allocation, so it may run inside the allocator, and at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "malloc_internal.h"

intptr_t *stat_words;
int stats_hits;

/* A block made already (a fork child finishing its parent's set-up) is
 * kept. */
int stats_init(void)
{
	intptr_t *w;

	if (__atomic_load_n(&stat_words, __ATOMIC_ACQUIRE))
		return 0;
	w = percpu_alloc(NR_STAT_WORDS * sizeof(intptr_t));
	if (!w)
		return -1;
	__atomic_store_n(&stat_words, w, __ATOMIC_RELEASE);
	return 0;
}

/* The counters only grow: their sum is exact as a uint64_t, modulo 2^64. */
static uint64_t sum(unsigned int i)
{
	intptr_t *w = __atomic_load_n(&stat_words, __ATOMIC_ACQUIRE);

	return w ? (uint64_t)percpu_sum(&w[i]) : 0;
}

static void class_stats(unsigned int cls, struct percpu_malloc_class_stats *o)
{
	uint64_t fetched, returned, xfer, cached = cached_objects(cls);

	central_counts(cls, &fetched, &returned, &xfer);
	o->size = classes[cls].size;
	o->cached = cached;
	o->transfer = xfer;
	o->in_use = fetched >= returned + cached ? fetched - returned - cached
						 : 0;
	o->malloc_hits = sum(STAT_CLASS(cls, ST_MALLOC_HIT));
	o->free_hits = sum(STAT_CLASS(cls, ST_FREE_HIT));
	o->misses = sum(STAT_CLASS(cls, ST_MISS));
	o->overflows = sum(STAT_CLASS(cls, ST_OVERFLOW));
	o->drained = sum(STAT_CLASS(cls, ST_DRAINED));
}

EXPORT int percpu_malloc_stats(struct percpu_malloc_stats *st)
{
	if (!st) {
		errno = EINVAL;
		return -1;
	}
	*st = (struct percpu_malloc_stats){ 0 };
	if (!malloc_ready())
		return 0;
	for (unsigned int c = 1; c <= NR_CLASSES; c++) {
		class_stats(c, &st->cls[c - 1]);
		st->small_in_use_bytes += st->cls[c - 1].in_use * classes[c].size;
	}
	large_counts(&st->large_objects, &st->large_bytes);
	st->large_allocs = sum(STAT_GLOBAL(G_LARGE_ALLOC));
	st->large_frees = sum(STAT_GLOBAL(G_LARGE_FREE));
	st->foreign_frees = sum(STAT_GLOBAL(G_FOREIGN_FREE));
	st->preinit_allocs = __atomic_load_n(&bump_allocs, __ATOMIC_RELAXED);
	st->spans_carved = sum(STAT_GLOBAL(G_SPANS_CARVED));
	st->spans_released = sum(STAT_GLOBAL(G_SPANS_RELEASED));
	st->spans_live = st->spans_carved - st->spans_released;
	st->range_bytes = range_len;
	st->drains = sum(STAT_GLOBAL(G_DRAINS));
	return 0;
}

/* ---- Prometheus text ---- */

struct text {
	char buf[65536];
	size_t len;
};

static void put(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len >= sizeof(t->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n;
}

static void head(struct text *t, const char *name, const char *type,
		 const char *help)
{
	put(t, "# HELP percpu_malloc_%s %s\n# TYPE percpu_malloc_%s %s\n",
	    name, help, name, type);
}

/* One metric per class: field at byte offset `off` of the class stats. */
static void per_class(struct text *t, const struct percpu_malloc_stats *st,
		      const char *name, const char *type, const char *help,
		      size_t off, int bytes)
{
	head(t, name, type, help);
	for (int c = 0; c < NR_CLASSES; c++) {
		const struct percpu_malloc_class_stats *o = &st->cls[c];
		uint64_t v = *(const uint64_t *)((const char *)o + off);

		put(t, "percpu_malloc_%s{class=\"%llu\"} %llu\n", name,
		    (unsigned long long)o->size,
		    (unsigned long long)(bytes ? v * o->size : v));
	}
}

static void single(struct text *t, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	head(t, name, type, help);
	put(t, "percpu_malloc_%s %llu\n", name, (unsigned long long)v);
}

#define CLASS_FIELD(f) offsetof(struct percpu_malloc_class_stats, f)

static void format(struct text *t, const struct percpu_malloc_stats *st)
{
	per_class(t, st, "in_use_bytes", "gauge",
		  "Bytes handed to the program, by size class.",
		  CLASS_FIELD(in_use), 1);
	per_class(t, st, "cached_objects", "gauge",
		  "Free objects in the per-CPU caches.", CLASS_FIELD(cached), 0);
	per_class(t, st, "transfer_objects", "gauge",
		  "Free objects in the transfer caches.",
		  CLASS_FIELD(transfer), 0);
	per_class(t, st, "malloc_hits_total", "counter",
		  "Mallocs served by the per-CPU cache (with "
		  "PERCPU_MALLOC_STATS).", CLASS_FIELD(malloc_hits), 0);
	per_class(t, st, "free_hits_total", "counter",
		  "Frees kept by the per-CPU cache (with PERCPU_MALLOC_STATS).",
		  CLASS_FIELD(free_hits), 0);
	per_class(t, st, "misses_total", "counter",
		  "Mallocs that found the cache empty and refilled it.",
		  CLASS_FIELD(misses), 0);
	per_class(t, st, "overflows_total", "counter",
		  "Frees that found the cache full and moved a batch back.",
		  CLASS_FIELD(overflows), 0);
	per_class(t, st, "drained_objects_total", "counter",
		  "Objects taken back from per-CPU caches by drains.",
		  CLASS_FIELD(drained), 0);
	single(t, "large_objects", "gauge", "Live objects above 32 KiB.",
	       st->large_objects);
	single(t, "large_bytes", "gauge", "Bytes mapped for large objects.",
	       st->large_bytes);
	single(t, "large_allocs_total", "counter", "Large objects mapped.",
	       st->large_allocs);
	single(t, "large_frees_total", "counter", "Large objects unmapped.",
	       st->large_frees);
	single(t, "foreign_frees_total", "counter",
	       "free() of pointers this allocator did not hand out (ignored).",
	       st->foreign_frees);
	single(t, "preinit_allocs_total", "counter",
	       "Allocations served before initialization.", st->preinit_allocs);
	single(t, "spans_live", "gauge", "Spans holding a size class.",
	       st->spans_live);
	single(t, "spans_released_total", "counter",
	       "Empty spans returned to the kernel.", st->spans_released);
	single(t, "range_bytes", "gauge", "Address space reserved for spans.",
	       st->range_bytes);
	single(t, "drains_total", "counter",
	       "Per-CPU cache drains (one percpu_remote each).", st->drains);
}

static pthread_mutex_t text_mu = PTHREAD_MUTEX_INITIALIZER;
static struct text text;
static struct percpu_malloc_stats text_stats;

/* For fork: taken before the drain and class locks. */
void stats_lock(void)
{
	pthread_mutex_lock(&text_mu);
}

void stats_unlock(void)
{
	pthread_mutex_unlock(&text_mu);
}

EXPORT int percpu_malloc_stats_write(int fd)
{
	int rc = 0;

	pthread_mutex_lock(&text_mu);
	percpu_malloc_stats(&text_stats);
	text.len = 0;
	format(&text, &text_stats);
	for (size_t at = 0; at < text.len;) {
		ssize_t n = write(fd, text.buf + at, text.len - at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		at += (size_t)n;
	}
	pthread_mutex_unlock(&text_mu);
	return rc;
}

/* From set-up, before malloc's and free's tables are filled. */
void stats_hits_from_env(void)
{
	const char *f = getenv("PERCPU_MALLOC_STATS");

	if (f && *f)
		__atomic_store_n(&stats_hits, 1, __ATOMIC_RELAXED);
}

__attribute__((destructor)) static void stats_at_exit(void)
{
	const char *f = getenv("PERCPU_MALLOC_STATS");
	int saved = errno, fd;

	if (!f || !*f || !malloc_ready())
		return;
	fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		percpu_malloc_stats_write(fd);
		close(fd);
	}
	errno = saved;
}
