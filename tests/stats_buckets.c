// SPDX-License-Identifier: MIT
/*
 * tests/stats_buckets.c: histograms with chosen `le` bounds
 * (percpu_registry_histogram_le) and the linear and exponential series, in
 * the mode PERCPU_TEST_MODE names. Threads record known values; each
 * exported bound must count every value far enough below it and none
 * above it, exactly so for small whole bounds and bounds on a bucket's
 * top; bounds are printed as given; bad bounds and a family's other
 * bounds or scale are refused.
 */
#include <errno.h>
#include "stats_util.h"

#define PER_THREAD 20000

static struct percpu_histogram *shared;
static uint64_t values[THREADS][PER_THREAD];

/* The count on the line that starts with `line`, or -1. */
static long long count_of(const char *text, const char *line)
{
	const char *p = text ? strstr(text, line) : NULL;

	if (!p || (p != text && p[-1] != '\n'))
		return -1;
	return strtoll(p + strlen(line), NULL, 10);
}

static void *recorder(void *arg, int i)
{
	(void)arg;
	for (int k = 0; k < PER_THREAD; k++)
		percpu_histogram_record(shared, values[i][k]);
	return NULL;
}

/* Values spread over five decades of nanoseconds, with some on and
 * next to each bound. */
static void fill_values(const double *le, size_t n)
{
	uint64_t state = 42;

	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < PER_THREAD; k++) {
			uint64_t b = (uint64_t)(le[k % n] * 1e9);

			if (k % 4 == 0)
				values[i][k] = b + (uint64_t)(k % 3) - 1;
			else
				values[i][k] = next_rand(&state) % 20000000000ull;
		}
}

/* The value on the line that starts with `line`, or -1. */
static double sum_of(const char *text, const char *line)
{
	const char *p = text ? strstr(text, line) : NULL;

	return p ? strtod(p + strlen(line), NULL) : -1;
}

/* The recorded values' sum in seconds, as the export divides it. */
static double expected_sum(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < PER_THREAD; k++)
			sum += values[i][k];
	return (double)sum / 1e9;
}

/*
 * A bound b counts every value at most b * (1 - 1/256) (the buckets are
 * 0.39% wide) and none above b, and the counts never fall.
 */
static void test_bounds_ns(void)
{
	static const double le[] = { 0.0001, 0.001, 0.01, 0.1, 1, 10 };
	const size_t n = sizeof(le) / sizeof(le[0]);
	struct worker workers[THREADS];
	struct percpu_registry *r = percpu_registry_new();
	char *text, line[64];
	int within = 1, printed = 1, rising = 1;
	long long last = 0;

	shared = percpu_registry_histogram_le(r, "lat_seconds", "Latency.",
					      NULL, 1e-9, le, n);
	ok(shared != NULL, "registered with %zu chosen bounds", n);
	if (!shared)
		return;
	fill_values(le, n);
	spawn_all(workers, THREADS, recorder, NULL);
	join_all(workers, THREADS);
	text = registry_text(r);
	for (size_t j = 0; j < n; j++) {
		uint64_t bound = (uint64_t)(le[j] * 1e9 + 0.5);
		long long below = 0, at_most = 0, got;

		for (int i = 0; i < THREADS; i++)
			for (int k = 0; k < PER_THREAD; k++) {
				below += values[i][k] <= bound - bound / 256;
				at_most += values[i][k] <= bound;
			}
		snprintf(line, sizeof(line), "lat_seconds_bucket{le=\"%g\"} ",
			 le[j]);
		got = count_of(text, line);
		printed &= got >= 0;
		within &= got >= below && got <= at_most;
		if (got < below || got > at_most)
			tap_diag("le %g: %lld, not in [%lld, %lld]", le[j], got,
				 below, at_most);
		rising &= got >= last;
		last = got;
	}
	ok(printed, "every bound printed as given (0.0001 ... 10)");
	ok(within, "each bound counts all values 0.39%% below it, none above");
	ok(rising, "the counts never fall");
	ok(count_of(text, "lat_seconds_bucket{le=\"+Inf\"} ") ==
		   THREADS * PER_THREAD &&
	   count_of(text, "lat_seconds_count ") == THREADS * PER_THREAD,
	   "+Inf and _count: every value");
	ok(text && strstr(text, "# TYPE lat_seconds histogram\n") &&
	   sum_of(text, "lat_seconds_sum ") == expected_sum(),
	   "typed histogram, _sum in seconds");
	free(text);
	percpu_registry_free(r);
}

/*
 * Whole bounds below 256 and a bound on a bucket's top are exact: values
 * 0 .. 599 once each, bound b counts b + 1 of them.
 */
static void test_exact_bounds(void)
{
	uint64_t low, high;
	double le[] = { 0, 1, 7, 100, 255, 0 };
	struct percpu_registry *r = percpu_registry_new();
	struct percpu_histogram *h;
	char *text, line[64];
	int exact = 1;

	percpu_histogram_bucket_range(percpu_histogram_index(400), &low, &high);
	le[5] = (double)high;
	h = percpu_registry_histogram_le(r, "size_bytes", NULL, "k=\"v\"", 1,
					 le, 6);
	for (uint64_t v = 0; v < 600; v++)
		percpu_histogram_record(h, v);
	text = registry_text(r);
	for (int j = 0; j < 6; j++) {
		snprintf(line, sizeof(line), "size_bytes_bucket{k=\"v\",le=\"%g\"} ",
			 le[j]);
		exact &= count_of(text, line) == (long long)le[j] + 1;
	}
	ok(h && exact, "bounds 0, 1, 7, 100, 255 and a bucket's top (%g): "
	   "exact", le[5]);
	free(text);
	percpu_registry_free(r);
}

/* Scaled whole bounds too: 1e-9 is not exact in binary, and 1e-7 / 1e-9
 * may come out just under 100. */
static void test_exact_scaled(void)
{
	static const double le[] = { 3e-9, 1e-7, 1.7e-7, 2.55e-7 };
	static const long long want[] = { 4, 101, 171, 256 };
	struct percpu_registry *r = percpu_registry_new();
	struct percpu_histogram *h;
	char *text, line[64];
	int exact = 1;

	h = percpu_registry_histogram_le(r, "t_seconds", NULL, NULL, 1e-9, le,
					 4);
	for (uint64_t v = 0; v < 300; v++)
		percpu_histogram_record(h, v);
	text = registry_text(r);
	for (int j = 0; j < 4; j++) {
		snprintf(line, sizeof(line), "t_seconds_bucket{le=\"%g\"} ",
			 le[j]);
		exact &= count_of(text, line) == want[j];
		if (count_of(text, line) != want[j])
			tap_diag("le %g: %lld, not %lld", le[j],
				 count_of(text, line), want[j]);
	}
	ok(h && exact, "in nanoseconds, bounds 3e-9 .. 2.55e-7 s: exact");
	free(text);
	percpu_registry_free(r);
}

static int refused(struct percpu_registry *r, const char *name, double scale,
		   const double *le, size_t n, int err)
{
	errno = 0;
	return !percpu_registry_histogram_le(r, name, NULL, NULL, scale, le, n) &&
	       errno == err;
}

static void test_refused(void)
{
	static const double good[] = { 1, 2, 3 };
	static const double other[] = { 1, 2, 4 };
	double bad[4][2] = { { 2, 1 }, { 1, 1 }, { -1, 1 }, { 0, 1.0 / 0.0 } };
	double huge[1] = { 9.3e18 }, nan[1] = { 0.0 / 0.0 };
	double many[PERCPU_REGISTRY_MAX_BUCKETS + 1];
	struct percpu_registry *r = percpu_registry_new();
	struct percpu_histogram *a;
	int all = 1;

	for (int i = 0; i < 4; i++)
		all &= refused(r, "x", 1, bad[i], 2, EINVAL);
	ok(all, "falling, repeated, negative and infinite bounds: EINVAL");
	ok(refused(r, "x", 1, nan, 1, EINVAL) && refused(r, "x", 1, huge, 1,
							 EINVAL),
	   "NaN, and a last bound at 2^63 recorded units: EINVAL");
	ok(refused(r, "x", 1, NULL, 1, EINVAL) && refused(r, "x", 1, good, 0,
							  EINVAL),
	   "no bounds: EINVAL");
	percpu_buckets_linear(many, PERCPU_REGISTRY_MAX_BUCKETS + 1, 0, 1);
	ok(refused(r, "x", 1, many, PERCPU_REGISTRY_MAX_BUCKETS + 1, EINVAL) &&
	   percpu_registry_histogram_le(r, "max", NULL, NULL, 1, many,
					PERCPU_REGISTRY_MAX_BUCKETS),
	   "%d bounds, not %d", PERCPU_REGISTRY_MAX_BUCKETS,
	   PERCPU_REGISTRY_MAX_BUCKETS + 1);
	ok(refused(r, "x", 0, good, 3, EINVAL), "scale 0: EINVAL");
	a = percpu_registry_histogram_le(r, "h", NULL, "a=\"1\"", 1, good, 3);
	ok(a && percpu_registry_histogram_le(r, "h", NULL, "a=\"1\"", 1, good,
					     3) == a &&
	   percpu_registry_histogram_le(r, "h", NULL, "a=\"2\"", 1, good, 3) &&
	   percpu_registry_histogram_le(r, "h", NULL, "a=\"2\"", 1, good, 3) != a,
	   "the same bounds: the same series, or another of the family");
	ok(refused(r, "h", 1, other, 3, EEXIST) &&
	   refused(r, "h", 1, good, 2, EEXIST) &&
	   refused(r, "h", 2, good, 3, EEXIST),
	   "other bounds, fewer, or another scale for the name: EEXIST");
	ok(percpu_registry_histogram(r, "p", NULL, NULL, 100, 1) &&
	   refused(r, "p", 1, good, 3, EEXIST) && (errno = 0,
	   !percpu_registry_histogram(r, "h", NULL, NULL, 100, 1)) &&
	   errno == EEXIST,
	   "powers of two and chosen bounds do not mix under one name");
	percpu_registry_free(r);
}

static int near(double a, double b)
{
	return a == b || (a - b < 1e-12 * b && b - a < 1e-12 * b);
}

static void test_series(void)
{
	double le[4];

	ok(!percpu_buckets_linear(le, 4, 0, 0.5) && le[0] == 0 &&
	   le[1] == 0.5 && le[2] == 1 && le[3] == 1.5,
	   "linear: 0, 0.5, 1, 1.5");
	ok(!percpu_buckets_exponential(le, 4, 0.001, 10) && le[0] == 0.001 &&
	   near(le[1], 0.01) && near(le[2], 0.1) && near(le[3], 1),
	   "exponential: 0.001, 0.01, 0.1, 1");
	errno = 0;
	ok(percpu_buckets_linear(le, 4, 0, 0) == -1 && errno == EINVAL &&
	   percpu_buckets_linear(le, 4, -1, 1) == -1 &&
	   percpu_buckets_linear(NULL, 4, 0, 1) == -1 &&
	   percpu_buckets_linear(le, 0, 0, 1) == -1,
	   "linear: width 0, start < 0, no array, n 0: EINVAL");
	ok(percpu_buckets_exponential(le, 4, 1, 1) == -1 &&
	   percpu_buckets_exponential(le, 4, 0, 2) == -1 &&
	   percpu_buckets_exponential(le, 4, 1e300, 1e10) == -1 &&
	   errno == EINVAL,
	   "exponential: factor 1, start 0, bounds past DBL_MAX: EINVAL");
}

int main(void)
{
	tap_check_mode();
	test_bounds_ns();
	test_exact_bounds();
	test_exact_scaled();
	test_refused();
	test_series();
	return tap_done();
}
