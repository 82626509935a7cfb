// SPDX-License-Identifier: MIT
/* src/stats/histogram.c: log-linear histograms (see percpu/stats.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "percpu.h"

#define SUB ((size_t)1 << PERCPU_HIST_SUB_BITS)
#define TWO_TO_64 18446744073709551616.0

/* The smallest range [0, 2^bits), bits >= 8, that holds `highest`. */
static unsigned int range_bits(uint64_t highest)
{
	unsigned int len = highest ? 64u - (unsigned int)__builtin_clzll(highest)
				   : 0;

	return len > PERCPU_HIST_SUB_BITS + 1 ? len : PERCPU_HIST_SUB_BITS + 1;
}

/* Values below 2^bits have indexes below that of 2^bits, which is: */
static size_t buckets_in(unsigned int bits)
{
	return (size_t)(bits - PERCPU_HIST_SUB_BITS + 1) << PERCPU_HIST_SUB_BITS;
}

int percpu_histogram_init(struct percpu_histogram *h, uint64_t highest)
{
	if (sizeof(intptr_t) < sizeof(uint64_t)) {
		errno = ENOTSUP;
		return -1;
	}
	h->bits = range_bits(highest);
	h->nr_buckets = buckets_in(h->bits);
	h->words = percpu_alloc((PERCPU_HIST_WORDS + h->nr_buckets + 1) *
				sizeof(intptr_t));
	return h->words ? 0 : -1;
}

void percpu_histogram_destroy(struct percpu_histogram *h)
{
	percpu_free(h->words);
	h->words = NULL;
}

/* Beyond the last bucket the shift would reach 64: undefined, refused. */
int percpu_histogram_bucket_range(size_t i, uint64_t *low, uint64_t *high)
{
	unsigned int shift = i < 2 * SUB ? 0
			     : (unsigned int)(i >> PERCPU_HIST_SUB_BITS) - 1;
	uint64_t mantissa = (uint64_t)i - ((uint64_t)shift << PERCPU_HIST_SUB_BITS);

	if (i >= PERCPU_HIST_MAX_BUCKETS) {
		errno = EINVAL;
		return -1;
	}
	*low = mantissa << shift;
	*high = *low + (((uint64_t)1 << shift) - 1);
	return 0;
}

static int snapshot_alloc(struct percpu_histogram_snapshot *s,
			  unsigned int bits)
{
	s->bits = bits;
	s->nr_buckets = buckets_in(bits);
	s->buckets = calloc(s->nr_buckets, sizeof(*s->buckets));
	s->overflow = s->count = s->sum_lo = s->sum_hi = s->max = 0;
	s->min = UINT64_MAX;
	return s->buckets ? 0 : -1;
}

int percpu_histogram_snapshot_init(struct percpu_histogram_snapshot *s,
				   uint64_t highest)
{
	return snapshot_alloc(s, range_bits(highest));
}

void percpu_histogram_snapshot_destroy(struct percpu_histogram_snapshot *s)
{
	free(s->buckets);
	s->buckets = NULL;
}

static void add_sum(struct percpu_histogram_snapshot *s, uint64_t lo,
		    uint64_t hi)
{
	s->sum_lo += lo;
	s->sum_hi += hi + (s->sum_lo < lo);
}

static uint64_t load(const intptr_t *w)
{
	return (uint64_t)__atomic_load_n(w, __ATOMIC_RELAXED);
}

static void read_shard(struct percpu_histogram_snapshot *s, const intptr_t *w)
{
	const intptr_t *b = w + PERCPU_HIST_WORDS;
	uint64_t max = load(w + PERCPU_HIST_MAX);
	uint64_t min = ~load(w + PERCPU_HIST_NOT_MIN);

	add_sum(s, load(w + PERCPU_HIST_SUM_LO), load(w + PERCPU_HIST_SUM_HI));
	s->max = max > s->max ? max : s->max;
	s->min = min < s->min ? min : s->min;
	for (size_t i = 0; i < s->nr_buckets; i++)
		s->buckets[i] += load(b + i);
	s->overflow += load(b + s->nr_buckets);
}

int percpu_histogram_snapshot_take(const struct percpu_histogram *h,
				   struct percpu_histogram_snapshot *s)
{
	if (snapshot_alloc(s, h->bits))
		return -1;
	for (int shard = 0; shard < percpu_nr_shards(); shard++)
		read_shard(s, percpu_ptr(h->words, shard));
	s->count = s->overflow;
	for (size_t i = 0; i < s->nr_buckets; i++)
		s->count += s->buckets[i];
	return 0;
}

/* The 0.1.0 symbol, for binaries linked before the rename (stats.h). */
#undef percpu_histogram_snapshot
PERCPU_API int percpu_histogram_snapshot(const struct percpu_histogram *h,
					 struct percpu_histogram_snapshot *s)
	__attribute__((alias("percpu_histogram_snapshot_take")));

void percpu_histogram_merge(struct percpu_histogram_snapshot *dst,
			    const struct percpu_histogram_snapshot *src)
{
	for (size_t i = 0; i < src->nr_buckets; i++) {
		if (i < dst->nr_buckets)
			dst->buckets[i] += src->buckets[i];
		else
			dst->overflow += src->buckets[i];
	}
	dst->overflow += src->overflow;
	dst->count += src->count;
	add_sum(dst, src->sum_lo, src->sum_hi);
	dst->min = src->min < dst->min ? src->min : dst->min;
	dst->max = src->max > dst->max ? src->max : dst->max;
}

/* ceil(q * count) in [1, count], without libm. */
static uint64_t rank_of(double q, uint64_t count)
{
	double r = q * (double)count;
	uint64_t rank;

	if (r >= (double)count)
		return count;
	rank = (uint64_t)r;
	rank += (double)rank < r;
	return rank ? rank : 1;
}

/* The middle of the bucket is at most half its width, 1/256 of its lower
 * bound, from any value in it; clamping to [min, max] only moves it
 * closer to the values there are. */
static uint64_t estimate(const struct percpu_histogram_snapshot *s, size_t i)
{
	uint64_t low, high, mid;

	percpu_histogram_bucket_range(i, &low, &high);
	mid = low + (high - low) / 2;
	if (s->min > s->max)	/* a snapshot racing with its first record */
		return mid;
	if (mid < s->min)
		return s->min;
	return mid > s->max ? s->max : mid;
}

uint64_t percpu_histogram_quantile(const struct percpu_histogram_snapshot *s,
				   double q)
{
	uint64_t rank, seen = 0;

	if (!s->count)
		return 0;
	if (!(q > 0))
		return s->min;
	if (q >= 1)
		return s->max;
	rank = rank_of(q, s->count);
	for (size_t i = 0; i < s->nr_buckets; i++) {
		seen += s->buckets[i];
		if (seen >= rank)
			return estimate(s, i);
	}
	return s->max;
}

double percpu_histogram_sum(const struct percpu_histogram_snapshot *s)
{
	return (double)s->sum_hi * TWO_TO_64 + (double)s->sum_lo;
}

double percpu_histogram_mean(const struct percpu_histogram_snapshot *s)
{
	return s->count ? percpu_histogram_sum(s) / (double)s->count : NAN;
}
