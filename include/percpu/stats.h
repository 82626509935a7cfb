/* SPDX-License-Identifier: MIT */
/*
 * percpu/stats.h: statistics on per-CPU words: counters, gauges, histograms,
 * a registry of named metrics and its Prometheus text exposition.
 *
 * The hot calls (percpu_counter_add, percpu_updown_add,
 * percpu_histogram_record) are inline per-CPU operations of percpu/ops.h:
 * no shared cache line is written, so threads on different CPUs never
 * contend. Reads sum the shards, so they cost O(shards) and are meant to be
 * rare (an export every few seconds); percpu_counter_read() is the cheap
 * exception, a cached sum.
 *
 * On one metric, adds and records, sums, reads, snapshots and resets may all
 * run at the same time, from any threads; init and destroy run alone.
 *
 * Thread safety: every function may be called from any thread, in rseq,
 * lock and mixed mode, with the same results. Signal safety: the add and
 * record calls, percpu_gauge_*, percpu_counter_sum and percpu_updown_sum
 * are async-signal-safe (as percpu/ops.h); nothing else here is.
 * Memory ordering: relaxed. A metric orders nothing but itself.
 *
 * Memory: counters, gauges, up-down gauges and histograms never call the
 * malloc family (their words come from percpu_alloc(), as the library's
 * do), so they may be used underneath malloc. What reads a histogram into
 * a snapshot, and the registry and its export, allocate with malloc: each
 * says so where it is declared.
 */
#ifndef PERCPU_STATS_H
#define PERCPU_STATS_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include "ops.h"
#include "memory.h"

PERCPU_EXTERN_C_BEGIN

/* ---- counter ---- */

/*
 * A counter: a sum of adds, one word per shard. Private fields: use the
 * functions. The cache serves percpu_counter_read(); its mutex serializes
 * the sums that refill it with percpu_counter_reset(), never the adds.
 */
struct percpu_counter {
	intptr_t *shards;
	intptr_t cached;
	uint64_t cached_at;	/* CLOCK_MONOTONIC_COARSE ns; 0: no cache */
	pthread_mutex_t refill;
};

/*
 * percpu_counter_init: a counter at zero. Returns 0, or -1 with errno
 * ENOMEM. Not async-signal-safe.
 */
PERCPU_API int percpu_counter_init(struct percpu_counter *c);

/* percpu_counter_destroy: free what init took. No other call may run. */
PERCPU_API void percpu_counter_destroy(struct percpu_counter *c);

/*
 * percpu_counter_add: add v >= 0 to this CPU's shard. Returns 0; or -1
 * with errno EINVAL, the counter untouched, if v < 0: a counter only grows
 * (what Prometheus' counter type promises; a level that goes down is a
 * percpu_updown). The check is one predictable branch, folded away when v
 * is a constant. Async-signal-safe (a handler that may see the error saves
 * errno, as usual).
 */
static inline int percpu_counter_add(struct percpu_counter *c, intptr_t v)
{
	if (PERCPU_UNLIKELY(v < 0)) {
		errno = EINVAL;
		return -1;
	}
	percpu_add(c->shards, v);
	return 0;
}

/*
 * percpu_counter_sum: the exact value: every shard read, O(shards). Every
 * add that returned before the call is included; adds running during it
 * may or may not be. With only non-negative adds (and no reset running)
 * the result lies between the counter's value when the call started and
 * when it returned. When no add runs, it is exactly the sum of all adds,
 * less what resets took, modulo 2^64: a sum beyond INTPTR_MAX comes back
 * negative, and is exact read as uintptr_t (as the export does).
 * Async-signal-safe.
 */
PERCPU_API intptr_t percpu_counter_sum(const struct percpu_counter *c);

/*
 * percpu_counter_read: the cheap read: a cached exact sum, possibly stale
 * but with a stated bound. Returns the result of a percpu_counter_sum()
 * that began at most max_age_ns + R before this call (R: the resolution of
 * CLOCK_MONOTONIC_COARSE, clock_getres(); 1 to 10 ms on Linux) and after
 * the last percpu_counter_reset() that returned before this call began. So
 * it includes every add that returned before then. When the cache is fresh
 * enough, the cost is a coarse clock read and two loads, whatever the
 * number of shards; otherwise the call sums (O(shards)) and refills the
 * cache. max_age_ns = 0 always sums. Not async-signal-safe (a mutex).
 */
PERCPU_API intptr_t percpu_counter_read(struct percpu_counter *c,
					uint64_t max_age_ns);

/*
 * percpu_counter_reset: take the counter's value, leaving zero. Each shard
 * is exchanged with 0 under percpu_remote(), as percpu_remote_xchg() does,
 * so every add is counted once, either in *taken or in the counter
 * afterwards, even with adds running on every CPU. Returns 0 with the
 * total in *taken; or -1 with errno EDEADLK (called from a percpu_remote()
 * function, or from a signal handler that interrupted a lock-path
 * operation), with in *taken what the shards done before the error held,
 * so nothing is lost. Costs a system call per shard in rseq mode, and waits
 * for other resets and cache refills of the counter. Not
 * async-signal-safe.
 */
PERCPU_API int percpu_counter_reset(struct percpu_counter *c,
				    intptr_t *taken);

/* ---- gauges ---- */

/*
 * Two kinds of gauge, because "set" and per-CPU shards do not mix: a value
 * that is set (a queue length sampled, a configuration, a timestamp) has a
 * last writer, and only one shared word can say which; making a per-CPU
 * set exact would mean holding every shard. A level that only moves by
 * adds (requests in flight, bytes in use) has no last writer: adds commute,
 * so shards can take them where they run and a read sums them.
 *
 * struct percpu_gauge: one plain atomic word, set and add. A hot gauge
 * updated from many CPUs pays a contended atomic (tens of ns): use
 * percpu_updown for those.
 */
struct percpu_gauge {
	int64_t value;
};

#define PERCPU_GAUGE_INIT { 0 }

/* percpu_gauge_set: store v. */
static inline void percpu_gauge_set(struct percpu_gauge *g, int64_t v)
{
	__atomic_store_n(&g->value, v, __ATOMIC_RELAXED);
}

/* percpu_gauge_add: add v (may be negative) atomically. */
static inline void percpu_gauge_add(struct percpu_gauge *g, int64_t v)
{
	__atomic_fetch_add(&g->value, v, __ATOMIC_RELAXED);
}

/* percpu_gauge_read: the current value. */
static inline int64_t percpu_gauge_read(const struct percpu_gauge *g)
{
	return __atomic_load_n(&g->value, __ATOMIC_RELAXED);
}

/*
 * struct percpu_updown: a per-CPU up-down gauge: add only, one word per
 * shard, as cheap as a counter. Private fields: use the functions.
 */
struct percpu_updown {
	intptr_t *shards;
};

/* percpu_updown_init: a gauge at zero. Returns 0, or -1 with ENOMEM. */
PERCPU_API int percpu_updown_init(struct percpu_updown *u);

/* percpu_updown_destroy: free what init took. No other call may run. */
PERCPU_API void percpu_updown_destroy(struct percpu_updown *u);

/* percpu_updown_add: add v (may be negative) to this CPU's shard. */
static inline void percpu_updown_add(struct percpu_updown *u, intptr_t v)
{
	percpu_add(u->shards, v);
}

/*
 * percpu_updown_sum: the value, every shard read. Exact when no add runs.
 * With adds running, a +1 read on one shard may miss its -1 on another and
 * the reverse: the result is off by at most the adds in flight, and may be
 * a value never held (an in-flight count can read -1). O(shards).
 */
PERCPU_API intptr_t percpu_updown_sum(const struct percpu_updown *u);

/* ---- histogram ---- */

/*
 * A histogram of uint64_t values with log-linear buckets: values below 256
 * each have their own bucket; above, each power of two [2^e, 2^(e+1)) is
 * cut into 128 equal buckets, so a bucket's width is at most 1/128 of its
 * lower bound. A quantile is the middle of its bucket: within 1/256
 * (0.39%) of the true value (see percpu_histogram_quantile()).
 *
 * The tracked range is [0, 2^bits), bits from 8 to 64, chosen at init from
 * the highest value to track; (bits - 6) * 128 buckets, 8 bytes each per
 * shard, 58 KiB for the full 64-bit range (pages no CPU touches cost no
 * memory). A value at or above 2^bits is out of range: it is counted in
 * the overflow bucket, and in count, sum, min and max, exactly; only its
 * position among the values is lost.
 *
 * Per shard the histogram keeps PERCPU_HIST_WORDS words (a 128-bit sum, the
 * maximum and the complement of the minimum, so that memory as allocated,
 * zero, means "no value yet" for both), then the buckets, then the
 * overflow bucket.
 */
#define PERCPU_HIST_SUB_BITS 7
#define PERCPU_HIST_SUM_LO 0
#define PERCPU_HIST_SUM_HI 1
#define PERCPU_HIST_MAX 2
#define PERCPU_HIST_NOT_MIN 3
#define PERCPU_HIST_WORDS 4
/* Buckets of the full 64-bit range: percpu_histogram_index(UINT64_MAX) + 1. */
#define PERCPU_HIST_MAX_BUCKETS ((size_t)(64 - 6) << PERCPU_HIST_SUB_BITS)

/* Private fields: use the functions. */
struct percpu_histogram {
	intptr_t *words;
	size_t nr_buckets;	/* in range; the overflow bucket follows */
	unsigned int bits;
};

/*
 * percpu_histogram_init: an empty histogram tracking [0, 2^bits), the
 * smallest such range (bits >= 8) holding `highest`; UINT64_MAX tracks
 * every value. Returns 0, or -1 with errno ENOMEM, or ENOTSUP where
 * intptr_t has fewer than 64 bits. Not async-signal-safe.
 */
PERCPU_API int percpu_histogram_init(struct percpu_histogram *h,
				     uint64_t highest);

/* percpu_histogram_destroy: free what init took. No other call may run. */
PERCPU_API void percpu_histogram_destroy(struct percpu_histogram *h);

/*
 * percpu_histogram_index: the bucket of v, with the range unbounded
 * (compare with nr_buckets for the overflow bucket). Values below 256 are
 * their own index; above, the exponent picks a group of 128 buckets and the
 * 7 bits below the leading one pick the bucket in it.
 */
static inline size_t percpu_histogram_index(uint64_t v)
{
	unsigned int e = 63u - (unsigned int)__builtin_clzll(v | 1);
	unsigned int shift = e > PERCPU_HIST_SUB_BITS ?
				     e - PERCPU_HIST_SUB_BITS : 0;

	return ((size_t)shift << PERCPU_HIST_SUB_BITS) + (size_t)(v >> shift);
}

/*
 * Private: raise this shard's word at p to v if below (unsigned). A shard
 * only ever rises, so a reader's maximum over shards is exact.
 */
static inline void percpu_histogram_raise(intptr_t *p, uint64_t v)
{
	int shard;
	intptr_t cur = percpu_load(p, &shard);

	while ((uint64_t)cur < v) {
		if (percpu_cas(p, shard, cur, (intptr_t)v) == PERCPU_OK)
			return;
		cur = percpu_load(p, &shard);
	}
}

/*
 * percpu_histogram_record: add one value. A few per-CPU operations: the
 * bucket's word, the sum (carrying into its high word when the low one of
 * a shard wraps), and the maximum and minimum, which are only written when
 * this CPU sees a new extreme. Async-signal-safe.
 */
static inline void percpu_histogram_record(struct percpu_histogram *h,
					   uint64_t v)
{
	intptr_t *w = h->words;
	size_t i = percpu_histogram_index(v);
	uint64_t old;

	if (PERCPU_UNLIKELY(i >= h->nr_buckets))
		i = h->nr_buckets;
	percpu_add(w + PERCPU_HIST_WORDS + i, 1);
	old = (uint64_t)percpu_fetch_add(w + PERCPU_HIST_SUM_LO, (intptr_t)v,
					 NULL);
	if (PERCPU_UNLIKELY(old + v < old))
		percpu_add(w + PERCPU_HIST_SUM_HI, 1);
	percpu_histogram_raise(w + PERCPU_HIST_MAX, v);
	percpu_histogram_raise(w + PERCPU_HIST_NOT_MIN, ~v);
}

/*
 * percpu_histogram_bucket_range: the values bucket i holds, low to high
 * inclusive (the range unbounded, as percpu_histogram_index()). Returns 0;
 * or -1 with errno EINVAL, storing nothing, if i is not below
 * PERCPU_HIST_MAX_BUCKETS.
 */
PERCPU_API int percpu_histogram_bucket_range(size_t i, uint64_t *low,
					     uint64_t *high);

/*
 * A snapshot: plain numbers, owned by the caller, read at leisure. Fields
 * are public. With records running during percpu_histogram_snapshot_take(),
 * each field is exact for the records that returned before the call plus
 * some of those running, not necessarily the same ones for every field
 * (count is always the sum of the buckets and overflow).
 */
struct percpu_histogram_snapshot {
	unsigned int bits;	/* tracked range [0, 2^bits) */
	size_t nr_buckets;	/* (bits - 6) * 128 */
	uint64_t *buckets;	/* counts, by percpu_histogram_index() */
	uint64_t overflow;	/* values >= 2^bits */
	uint64_t count;		/* all values, overflow included */
	uint64_t sum_lo;	/* exact sum of all values: */
	uint64_t sum_hi;	/*   sum_hi * 2^64 + sum_lo */
	uint64_t min;		/* UINT64_MAX when count is 0 */
	uint64_t max;		/* 0 when count is 0 */
};

/*
 * percpu_histogram_snapshot_init: an empty snapshot of range [0, 2^bits)
 * as percpu_histogram_init() picks it for `highest`, e.g. to merge others
 * into. Returns 0, or -1 with errno ENOMEM. Allocates the buckets with
 * calloc().
 */
PERCPU_API int percpu_histogram_snapshot_init(
	struct percpu_histogram_snapshot *s, uint64_t highest);

/*
 * percpu_histogram_snapshot_take: read every shard of h into *s (which must not
 * hold buckets already: a fresh or destroyed snapshot). O(shards x
 * buckets). Returns 0, or -1 with errno ENOMEM. Allocates the buckets with
 * calloc().
 */
PERCPU_API int percpu_histogram_snapshot_take(
	const struct percpu_histogram *h, struct percpu_histogram_snapshot *s);
/* The 0.1.0 name, for C sources (a macro: see percpu_mode in mode.h). */
#define percpu_histogram_snapshot(h, s) percpu_histogram_snapshot_take(h, s)

/* percpu_histogram_snapshot_destroy: free the buckets (free()). */
PERCPU_API void percpu_histogram_snapshot_destroy(
	struct percpu_histogram_snapshot *s);

/*
 * percpu_histogram_merge: add src's values to dst. Buckets beyond dst's
 * range, and src's overflow, go to dst's overflow (their values cannot be
 * placed again); count, sum, min and max stay exact.
 */
PERCPU_API void percpu_histogram_merge(struct percpu_histogram_snapshot *dst,
				       const struct percpu_histogram_snapshot *src);

/*
 * percpu_histogram_quantile: an estimate of the q-quantile, q in [0, 1]
 * (clamped; NaN counts as 0): the value of rank ceil(q * count) (at least
 * 1) among the values in increasing order. q = 0 gives min, q = 1 max,
 * exactly. Otherwise the middle of the bucket holding that rank, clamped to
 * [min, max]: the true value itself below 256, else within 1/256 of it
 * (|estimate - true| <= true / 256). If the rank falls among out-of-range
 * values, returns max: an upper bound only. Returns 0 if count is 0.
 */
PERCPU_API uint64_t percpu_histogram_quantile(
	const struct percpu_histogram_snapshot *s, double q);

/* percpu_histogram_sum: the exact sum as a double (rounded). */
PERCPU_API double percpu_histogram_sum(
	const struct percpu_histogram_snapshot *s);

/* percpu_histogram_mean: sum / count, NaN if count is 0. */
PERCPU_API double percpu_histogram_mean(
	const struct percpu_histogram_snapshot *s);

/* ---- registry and export ---- */

/*
 * A registry: named metrics, each series a name plus a set of labels, with
 * help text, exported in the Prometheus text exposition format 0.0.4 or
 * in OpenMetrics 1.0.0.
 *
 * Names match [a-zA-Z_:][a-zA-Z0-9_:]*. Labels are given as Prometheus
 * writes them, e.g. `method="GET",code="200"` (NULL or "" for none), pairs
 * separated by a comma and optionally spaces after it: label names match
 * [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__", no name twice; values
 * are UTF-8 and escape \\, \" and \n as in the exposition. Help text is
 * UTF-8 (the export escapes it), or NULL for none: no # HELP line, which
 * the format allows (promtool's lint, though, asks for help). What is not
 * UTF-8 (overlong forms and surrogates included) is refused, so that one
 * bad value cannot make the whole exposition unreadable; so is help that
 * says nothing, "" or only spaces and tabs, a # HELP line that readers take
 * for none (`promtool check metrics` fails on it: "no help text"). A
 * refused registration changes nothing.
 *
 * A series is its name and its set of labels: the order of the pairs does
 * not matter, and a label with an empty value is no label (as in
 * Prometheus), so `b="2",a="1"`, `a="1", b="2"` and `a="1",b="2",c=""` are
 * one series, exported as `a="1",b="2"` (keys in byte order). A name's type
 * and help come from its first registration; a histogram's range and scale
 * from its series' first. Metrics live until percpu_registry_free(): look
 * one up once and keep the pointer, lookups take the registry's mutex (a
 * hash lookup: O(1) on average, whatever the number of series).
 *
 * Limits (struct percpu_registry_limits) bound what one registration may
 * cost, for callers whose labels come from requests: beyond one it fails
 * with E2BIG or ENOSPC and the registry is as before.
 *
 * Counters only grow (percpu_counter_add() refuses v < 0) and are exported
 * unsigned: exact up to 2^64 - 1, then 0. percpu_counter_reset() and that
 * wrap read to Prometheus as a counter reset, as a restart does: rate()
 * and increase() count from 0 again, and what was added since the last
 * scrape is lost to them.
 *
 * Thread safety: everything but percpu_registry_free() may run at once from
 * any thread, and with updates of the metrics; an export sees the series
 * registered before it began, maybe some registered during it. Not
 * async-signal-safe.
 *
 * Memory: the registry and its export use the malloc family (and stdio),
 * so they may not run inside a malloc built on this library: the registry,
 * each new series and family, and their names are allocated (a lookup of
 * an existing series only a copy of its labels, freed before it returns);
 * an export allocates a snapshot per histogram
 * and, in percpu_registry_format(), the whole text. The metrics themselves
 * allocate nothing once created.
 */
struct percpu_registry;

/* Defaults of the limits (a registry's own: percpu_registry_set_limits). */
#define PERCPU_REGISTRY_MAX_LABELS 32
#define PERCPU_REGISTRY_MAX_NAME_BYTES 256
#define PERCPU_REGISTRY_MAX_VALUE_BYTES 1024
#define PERCPU_REGISTRY_MAX_HELP_BYTES 4096
#define PERCPU_REGISTRY_MAX_SERIES 100000

/* The largest histogram scale: (2^128 - 1) times it, the largest sum, is
 * finite, so every exported bound and _sum is. */
#define PERCPU_REGISTRY_MAX_SCALE 1e269

/* Beyond the first four: E2BIG; beyond max_series: ENOSPC, for new series
 * only (those registered are still found). */
struct percpu_registry_limits {
	size_t max_labels;	/* label pairs per series, empty ones too */
	size_t max_name_bytes;	/* a metric name, a label name */
	size_t max_value_bytes;	/* a label value, as escaped */
	size_t max_help_bytes;	/* a help text, before escaping */
	size_t max_series;	/* series in the registry, all names */
};

/* percpu_registry_new: an empty registry (malloc) with the default limits,
 * or NULL with errno ENOMEM. */
PERCPU_API struct percpu_registry *percpu_registry_new(void);

/*
 * percpu_registry_free: free the registry and every metric in it; NULL is
 * ignored. No other call on it, or on its metrics, may run or follow.
 */
PERCPU_API void percpu_registry_free(struct percpu_registry *r);

/*
 * percpu_registry_get_limits, _set_limits: read or replace the registry's
 * limits (struct percpu_registry_limits; the defaults are the
 * PERCPU_REGISTRY_MAX_* above). New limits apply to the registrations that
 * begin after the call; what is registered already stays, even beyond
 * them. Returns 0, or -1 with errno EINVAL (r or l NULL).
 */
PERCPU_API int percpu_registry_get_limits(const struct percpu_registry *r,
					  struct percpu_registry_limits *l);
PERCPU_API int percpu_registry_set_limits(
	struct percpu_registry *r, const struct percpu_registry_limits *l);

/*
 * percpu_registry_counter, _gauge, _updown: the series name{labels},
 * created at zero if new. Exported as a Prometheus counter (by convention
 * its name ends in _total, and it only grows), a gauge, a gauge. Returns
 * the metric, or NULL with errno EINVAL (r NULL, name, labels or help
 * malformed or not UTF-8, help "" or only blanks), E2BIG (beyond a size
 * limit), ENOSPC (a new series beyond the registry's series limit),
 * EEXIST (the name has another type, or its lines would clash with a
 * histogram's name_bucket, name_sum or name_count, or a counter's in
 * OpenMetrics: name and name_total may not both be registered when one of
 * them is a counter) or ENOMEM. A lookup allocates (malloc) the labels'
 * canonical form while it runs; a new series keeps it, and is allocated
 * too (and a new name's family).
 */
PERCPU_API struct percpu_counter *percpu_registry_counter(
	struct percpu_registry *r, const char *name, const char *help,
	const char *labels);
PERCPU_API struct percpu_gauge *percpu_registry_gauge(
	struct percpu_registry *r, const char *name, const char *help,
	const char *labels);
PERCPU_API struct percpu_updown *percpu_registry_updown(
	struct percpu_registry *r, const char *name, const char *help,
	const char *labels);

/*
 * percpu_registry_histogram: as above, a histogram tracking up to `highest`
 * (percpu_histogram_init()). Values are exported multiplied by `scale`
 * (> 0, at most PERCPU_REGISTRY_MAX_SCALE, so that every bound and the
 * sum are finite): record nanoseconds, export seconds with 1e-9. The `le`
 * boundaries are the powers of two minus one, le = (2^j - 1) * scale for j
 * = 0 .. bits, then +Inf: at most 66, the same at every export, and exact
 * (each bucket lies wholly on one side of each boundary). The last finite
 * one is the top of the range, so +Inf minus it is the out-of-range count;
 * those values are in _sum and _count too. Labels may not use `le`. Errors
 * as above, EINVAL for a scale out of range, and ENOTSUP as
 * percpu_histogram_init().
 */
PERCPU_API struct percpu_histogram *percpu_registry_histogram(
	struct percpu_registry *r, const char *name, const char *help,
	const char *labels, uint64_t highest, double scale);

/* Finite `le` bounds a histogram registered with chosen bounds may have. */
#define PERCPU_REGISTRY_MAX_BUCKETS 256

/*
 * percpu_registry_histogram_le: as percpu_registry_histogram, with the `le`
 * bounds chosen: le[0 .. n), finite, >= 0 and strictly increasing, in
 * exported units (after `scale`), n from 1 to PERCPU_REGISTRY_MAX_BUCKETS;
 * then +Inf. The range tracked is what the last bound needs. Exported
 * from the same log-linear buckets, so a bound's count is exact when
 * bound / scale is a whole number below 256, or a bucket's top
 * (percpu_histogram_bucket_range()); otherwise values less than 0.39%
 * below the bound, which share a bucket with values above it, are counted
 * at the next bound up. The array is copied. Every series of a name has
 * the bounds and the scale its first one had: others are refused with
 * EEXIST, as is a name registered by percpu_registry_histogram. Errors as
 * percpu_registry_histogram, and EINVAL for bounds as above or whose last
 * one over `scale` reaches 2^63.
 */
PERCPU_API struct percpu_histogram *percpu_registry_histogram_le(
	struct percpu_registry *r, const char *name, const char *help,
	const char *labels, double scale, const double *le, size_t n);

/*
 * percpu_buckets_linear: le[i] = start + i * width for i < n;
 * percpu_buckets_exponential: le[i] = start * factor^i. For
 * percpu_registry_histogram_le. Return 0, or -1 with errno EINVAL (le
 * NULL, n 0, start < 0, width <= 0, start <= 0 or factor <= 1 for the
 * exponential, or a bound not finite).
 */
PERCPU_API int percpu_buckets_linear(double *le, size_t n, double start,
				     double width);
PERCPU_API int percpu_buckets_exponential(double *le, size_t n, double start,
					  double factor);

/*
 * percpu_registry_write: the exposition of every metric to f: per name a
 * # HELP line (if help was given) and a # TYPE line, then its series in
 * registration order; counters and updowns read with their exact sum.
 * Returns 0, or -1 with errno EINVAL (r or f NULL), ENOMEM or the stream's
 * error (the stream is
 * flushed, so a write error shows here). Allocates a snapshot per
 * histogram (calloc), and the stream may allocate its buffer.
 */
PERCPU_API int percpu_registry_write(struct percpu_registry *r, FILE *f);

/*
 * percpu_registry_write_openmetrics: the same metrics in OpenMetrics 1.0.0
 * text (application/openmetrics-text; version=1.0.0): as
 * percpu_registry_write(), but a counter's family is its name without
 * _total and its samples end in _total (a counter registered as
 * requests_total or as requests: # TYPE requests counter, then
 * requests_total samples), help escapes quotes too, each `le` is a float
 * ("1.0", "+Inf"), and the text ends with "# EOF". No _created samples.
 * Returns and allocates as percpu_registry_write().
 */
PERCPU_API int percpu_registry_write_openmetrics(struct percpu_registry *r,
						 FILE *f);

/*
 * percpu_registry_format: the same exposition into buf (size bytes, NUL
 * included). Stores its length (without the NUL) in *length, and returns
 * 0 if it fit; or -1 with errno ERANGE if it did not (buf then holds ""
 * if size > 0: call again with *length + 1 bytes), EINVAL (r or length
 * NULL, or buf NULL with size > 0) or ENOMEM. Builds the
 * text in memory first (open_memstream(), malloc).
 */
PERCPU_API int percpu_registry_format(struct percpu_registry *r, char *buf,
				      size_t size, size_t *length);

PERCPU_EXTERN_C_END

#endif
