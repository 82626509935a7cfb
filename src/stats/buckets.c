// SPDX-License-Identifier: MIT
/*
 * src/stats/buckets.c: histogram bounds a registration chooses
 * (percpu_registry_histogram_le, see percpu/stats.h): their checks, their
 * value in recorded units, and the linear and exponential series.
 */
#include <errno.h>
#include <math.h>
#include "stats/registry.h"

int stats_le_check(const double *le, size_t n, double scale)
{
	if (!le || n == 0 || n > PERCPU_REGISTRY_MAX_BUCKETS)
		goto invalid;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(le[i]) || le[i] < 0 || (i && le[i] <= le[i - 1]))
			goto invalid;
	/* 2^63: the top a histogram's range can have. */
	if (le[n - 1] / scale >= 9223372036854775808.0)
		goto invalid;
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

/*
 * The largest recorded value that the bound le counts: u with u * scale
 * <= le, to within rounding (1e-9 is not exact in binary: 10^8 ns must
 * count at le 0.1 s). The division is close; the loops only settle the
 * last unit.
 */
uint64_t stats_le_raw(double le, double scale)
{
	double slack = 1 + 1e-12;
	uint64_t u = (uint64_t)(le / scale);

	while (u && (double)u * scale > le * slack)
		u--;
	while ((double)(u + 1) * scale <= le * slack)
		u++;
	return u;
}

static int series_check(const double *le, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(le[i]) || (i && le[i] <= le[i - 1])) {
			errno = EINVAL;
			return -1;
		}
	return 0;
}

int percpu_buckets_linear(double *le, size_t n, double start, double width)
{
	if (!le || n == 0 || !(start >= 0) || !(width > 0)) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		le[i] = start + (double)i * width;
	return series_check(le, n);
}

int percpu_buckets_exponential(double *le, size_t n, double start,
			       double factor)
{
	if (!le || n == 0 || !(start > 0) || !(factor > 1)) {
		errno = EINVAL;
		return -1;
	}
	le[0] = start;
	for (size_t i = 1; i < n; i++)
		le[i] = le[i - 1] * factor;
	return series_check(le, n);
}
