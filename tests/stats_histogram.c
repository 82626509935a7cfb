// SPDX-License-Identifier: MIT
/*
 * tests/stats_histogram.c: the histogram of percpu/stats.h in the mode
 * PERCPU_TEST_MODE names. The bucket function over its whole range; count,
 * 128-bit sum, min, max and every bucket exact after threads recorded at
 * once (again after the kill switch); quantiles within the stated 1/256 of
 * the true value on known distributions, at 1025 values of q each;
 * out-of-range values; merges; an empty snapshot.
 */
#include <errno.h>
#include <sched.h>
#include "stats_util.h"

#define RECORDS 50000L
#define SAMPLES 50000L

/* A 128-bit sum as the snapshot keeps it. */
struct sum128 {
	uint64_t lo, hi;
};

static void sum_add(struct sum128 *s, uint64_t v)
{
	s->lo += v;
	s->hi += s->lo < v;
}

static void test_bucket_function(void)
{
	uint64_t low, high, prev_high = 0, v, seed = 7;
	int contiguous = 1, narrow = 1, inverse = 1, inside = 1;

	for (size_t i = 0; i < PERCPU_HIST_MAX_BUCKETS; i++) {
		percpu_histogram_bucket_range(i, &low, &high);
		contiguous &= i ? low == prev_high + 1 : low == 0;
		narrow &= low < 256 ? high == low
				    : high - low + 1 <= low / 128;
		inverse &= percpu_histogram_index(low) == i &&
			   percpu_histogram_index(high) == i;
		prev_high = high;
	}
	for (int k = 0; k < 100000; k++) {
		v = next_rand(&seed) >> (k % 64);
		percpu_histogram_bucket_range(percpu_histogram_index(v), &low,
					      &high);
		inside &= low <= v && v <= high;
	}
	ok(contiguous && prev_high == UINT64_MAX,
	   "buckets partition [0, 2^64) in order");
	ok(narrow, "a bucket is one value below 256, else at most 1/128 of "
	   "its lower bound wide");
	ok(inverse, "each bucket's bounds index back to it");
	ok(inside, "random values fall inside their bucket's range");
}

/* Each thread records values of every magnitude, from its own seed. */
static uint64_t spread_value(uint64_t *seed)
{
	uint64_t r = next_rand(seed);

	return r >> (r % 64);
}

static void *record_spread(void *arg, int index)
{
	struct percpu_histogram *h = arg;
	uint64_t seed = 1000 + (uint64_t)index;

	for (long k = 0; k < RECORDS; k++) {
		percpu_histogram_record(h, spread_value(&seed));
		if (k % 4096 == 0)
			sched_yield();
	}
	return NULL;
}

/* What the threads recorded, replayed from their seeds. */
static void expected_spread(uint64_t *counts, struct sum128 *sum,
			    uint64_t *min, uint64_t *max)
{
	for (int t = 0; t < THREADS; t++) {
		uint64_t seed = 1000 + (uint64_t)t;

		for (long k = 0; k < RECORDS; k++) {
			uint64_t v = spread_value(&seed);

			counts[percpu_histogram_index(v)]++;
			sum_add(sum, v);
			*min = v < *min ? v : *min;
			*max = v > *max ? v : *max;
		}
	}
}

static void test_histogram_exact(void)
{
	uint64_t *counts = calloc(PERCPU_HIST_MAX_BUCKETS, sizeof(uint64_t));
	uint64_t min = UINT64_MAX, max = 0;
	struct percpu_histogram_snapshot s;
	struct percpu_histogram h;
	struct sum128 sum = { 0, 0 };
	struct worker w[THREADS];
	int good;

	ok(percpu_histogram_init(&h, UINT64_MAX) == 0, "histogram init");
	spawn_all(w, THREADS, record_spread, &h);
	join_all(w, THREADS);
	expected_spread(counts, &sum, &min, &max);
	good = percpu_histogram_snapshot_take(&h, &s) == 0;
	ok(good && s.count == THREADS * RECORDS && s.overflow == 0,
	   "%d threads x %ld records: count %llu", THREADS, RECORDS,
	   (unsigned long long)s.count);
	ok(!memcmp(s.buckets, counts, PERCPU_HIST_MAX_BUCKETS * sizeof(uint64_t)),
	   "every bucket holds exactly its values");
	ok(s.sum_lo == sum.lo && s.sum_hi == sum.hi,
	   "128-bit sum exact (high word %llu: carries counted)",
	   (unsigned long long)sum.hi);
	ok(s.min == min && s.max == max, "min and max exact");
	percpu_histogram_snapshot_destroy(&s);
	percpu_histogram_destroy(&h);
	free(counts);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The estimate against the true value: equal below 256, else within
 * true / 256 (|d| is an integer, so against the floor of it). */
static int within(uint64_t est, uint64_t truth, double *worst)
{
	uint64_t d = est > truth ? est - truth : truth - est;

	if (truth && (double)d / (double)truth > *worst)
		*worst = (double)d / (double)truth;
	return truth < 256 ? d == 0 : d <= truth / 256;
}

/* q = k / 1024 times SAMPLES is exact in a double, so the true rank
 * ceil(q * n) is computed here in integers, independently. */
static int quantiles_within(const struct percpu_histogram_snapshot *s,
			    const uint64_t *sorted, double *worst)
{
	int good = 1;

	for (uint64_t k = 0; k <= 1024; k++) {
		uint64_t rank = (k * SAMPLES + 1023) / 1024;

		rank = rank ? rank : 1;
		good &= within(percpu_histogram_quantile(s, (double)k / 1024),
			       sorted[rank - 1], worst);
	}
	return good;
}

static void check_distribution(const char *name, uint64_t *v)
{
	struct percpu_histogram_snapshot s;
	struct percpu_histogram h;
	struct sum128 sum = { 0, 0 };
	double worst = 0;
	int good;

	percpu_histogram_init(&h, UINT64_MAX);
	for (long i = 0; i < SAMPLES; i++) {
		percpu_histogram_record(&h, v[i]);
		sum_add(&sum, v[i]);
	}
	percpu_histogram_snapshot_take(&h, &s);
	qsort(v, SAMPLES, sizeof(*v), cmp_u64);
	ok(s.count == SAMPLES && s.min == v[0] && s.max == v[SAMPLES - 1] &&
	   s.sum_lo == sum.lo && s.sum_hi == sum.hi,
	   "%s: count, min, max, sum exact", name);
	good = quantiles_within(&s, v, &worst);
	ok(good, "%s: 1025 quantiles within 1/256 (worst %.4f%%)", name,
	   100 * worst);
	percpu_histogram_snapshot_destroy(&s);
	percpu_histogram_destroy(&h);
}

static uint64_t edge_value(uint64_t *seed, long i)
{
	uint64_t low, high;

	percpu_histogram_bucket_range(next_rand(seed) % PERCPU_HIST_MAX_BUCKETS,
				      &low, &high);
	return i % 2 ? low : high;
}

static uint64_t distribution_value(int which, uint64_t *seed, long i)
{
	static const uint64_t extremes[] = { 0, 1, 255, 256, UINT64_MAX };

	switch (which) {
	case 0: return next_rand(seed) % 1000000;
	case 1: return next_rand(seed);
	case 2: return (uint64_t)(-ln(next_unit(seed)) * 100000);
	case 3: return 123456789;
	case 4: return edge_value(seed, i);
	case 5: return 0;
	case 6: return UINT64_MAX;
	case 7: return next_rand(seed) % 256;
	default: return extremes[next_rand(seed) % 5];
	}
}

static void test_quantiles(void)
{
	static const char *const names[] = {
		"uniform [0, 1e6)", "uniform 64-bit", "exponential, mean 1e5",
		"constant 123456789", "bucket edges", "all 0", "all UINT64_MAX",
		"small (< 256, exact)", "0, 1, 255, 256, UINT64_MAX",
	};
	uint64_t *v = malloc(SAMPLES * sizeof(*v)), seed = 42;

	for (int d = 0; d < (int)(sizeof(names) / sizeof(names[0])); d++) {
		for (long i = 0; i < SAMPLES; i++)
			v[i] = distribution_value(d, &seed, i);
		check_distribution(names[d], v);
	}
	free(v);
}

static void test_out_of_range(void)
{
	static const uint64_t values[] = { 5, 1023, 1024, 5000, UINT64_MAX };
	struct percpu_histogram_snapshot s;
	struct percpu_histogram h;
	struct sum128 sum = { 0, 0 };

	ok(percpu_histogram_init(&h, 1000) == 0, "histogram up to 1000");
	for (int i = 0; i < 5; i++) {
		percpu_histogram_record(&h, values[i]);
		sum_add(&sum, values[i]);
	}
	percpu_histogram_snapshot_take(&h, &s);
	ok(s.bits == 10 && s.nr_buckets == 512, "range [0, 2^10): 512 buckets");
	ok(s.overflow == 3 && s.count == 5,
	   "1024, 5000 and UINT64_MAX in overflow, counted");
	ok(s.sum_lo == sum.lo && s.sum_hi == sum.hi && s.min == 5 &&
	   s.max == UINT64_MAX, "sum, min, max include them exactly");
	ok(percpu_histogram_quantile(&s, 0.2) == 5 &&
	   within(percpu_histogram_quantile(&s, 0.4), 1023, &(double){ 0 }),
	   "quantiles in range still within the error");
	ok(percpu_histogram_quantile(&s, 0.6) == UINT64_MAX,
	   "a quantile among out-of-range values gives max");
	percpu_histogram_snapshot_destroy(&s);
	percpu_histogram_destroy(&h);
}

static void test_ranges(void)
{
	static const struct { uint64_t highest; unsigned int bits; } r[] = {
		{ 0, 8 }, { 255, 8 }, { 256, 9 }, { 1u << 20, 21 },
		{ (1u << 20) - 1, 20 }, { UINT64_MAX, 64 },
	};
	struct percpu_histogram_snapshot s;
	int good = 1;

	for (int i = 0; i < 6; i++) {
		good &= percpu_histogram_snapshot_init(&s, r[i].highest) == 0 &&
			s.bits == r[i].bits &&
			s.nr_buckets == (size_t)(r[i].bits - 6) * 128;
		percpu_histogram_snapshot_destroy(&s);
	}
	ok(good, "ranges: the smallest [0, 2^bits), bits >= 8, holding highest");
	percpu_histogram_snapshot_init(&s, 1000);
	ok(s.count == 0 && s.min == UINT64_MAX && s.max == 0 &&
	   percpu_histogram_quantile(&s, 0.5) == 0 &&
	   percpu_histogram_mean(&s) != percpu_histogram_mean(&s),
	   "empty: count 0, min UINT64_MAX, max 0, quantile 0, mean NaN");
	percpu_histogram_snapshot_destroy(&s);
}

static void record_all(struct percpu_histogram *h, uint64_t seed, int n,
		       struct percpu_histogram_snapshot *s)
{
	while (n--)
		percpu_histogram_record(h, next_rand(&seed) >> 40);
	percpu_histogram_snapshot_take(h, s);
}

/* a tracks [0, 2^20), b every value: both record values up to 2^24. */
static void test_merge(void)
{
	struct percpu_histogram_snapshot sa, sb, all, narrow;
	struct percpu_histogram a, b;
	uint64_t beyond = 0;

	percpu_histogram_init(&a, (1u << 20) - 1);
	percpu_histogram_init(&b, UINT64_MAX);
	record_all(&a, 1, 1000, &sa);
	record_all(&b, 2, 3000, &sb);
	percpu_histogram_snapshot_init(&all, UINT64_MAX);
	percpu_histogram_merge(&all, &sa);
	percpu_histogram_merge(&all, &sb);
	ok(all.count == 4000 && all.overflow == sa.overflow &&
	   all.min == (sa.min < sb.min ? sa.min : sb.min) &&
	   all.max == (sa.max > sb.max ? sa.max : sb.max) &&
	   percpu_histogram_sum(&all) ==
		   percpu_histogram_sum(&sa) + percpu_histogram_sum(&sb),
	   "merge: count, overflow, min, max, sum");
	for (size_t i = sa.nr_buckets; i < sb.nr_buckets; i++)
		beyond += sb.buckets[i];
	percpu_histogram_snapshot_init(&narrow, (1u << 20) - 1);
	percpu_histogram_merge(&narrow, &sb);
	ok(beyond > 0 && narrow.overflow == beyond && narrow.count == 3000,
	   "merged into a smaller range: %llu values beyond it in overflow",
	   (unsigned long long)beyond);
	percpu_histogram_snapshot_destroy(&sa);
	percpu_histogram_snapshot_destroy(&sb);
	percpu_histogram_snapshot_destroy(&all);
	percpu_histogram_snapshot_destroy(&narrow);
	percpu_histogram_destroy(&a);
	percpu_histogram_destroy(&b);
}

int main(void)
{
	tap_check_mode();
	test_bucket_function();
	test_histogram_exact();
	test_quantiles();
	test_out_of_range();
	test_ranges();
	test_merge();
	if (test_mode() != TEST_LOCK) {
		percpu_disable_rseq();
		tap_diag("again after percpu_disable_rseq()");
		test_histogram_exact();
	}
	return tap_done();
}
