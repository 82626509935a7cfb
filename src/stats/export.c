// SPDX-License-Identifier: MIT
/*
 * src/stats/export.c: a registry in the Prometheus text exposition format
 * 0.0.4 (see percpu/stats.h), to a stream or a caller's buffer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "stats/registry.h"

static const char *const type_names[] = {
	[STATS_COUNTER] = "counter",
	[STATS_GAUGE] = "gauge",
	[STATS_UPDOWN] = "gauge",
	[STATS_HISTOGRAM] = "histogram",
};

/* The shorter of 15 or 17 significant digits that reads back exactly:
 * "0.001", not "0.0010000000000000000208". */
static void format_double(char *text, size_t size, double v)
{
	snprintf(text, size, "%.15g", v);
	if (strtod(text, NULL) != v)
		snprintf(text, size, "%.17g", v);
}

/*
 * v * scale, but as v / n when scale is 1 / n for a whole n, to within
 * rounding: 1e-9 is not exact in binary, 1e9 is, so 2000 ns come out as
 * 2e-06 s, not 2.0000000000000003e-06.
 */
static double scaled(double v, double scale)
{
	double inverse = 1 / scale, n;

	if (inverse < 1 || inverse >= 1e18)
		return v * scale;
	n = (double)(uint64_t)(inverse + 0.5);
	if (n - inverse > inverse * 1e-12 || inverse - n > inverse * 1e-12)
		return v * scale;
	return v / n;
}

/* Help text escapes only backslash and newline. */
static void put_help(FILE *f, const struct stats_family *fam)
{
	fprintf(f, "# HELP %s ", fam->name);
	for (const char *c = fam->help; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", f);
		else if (*c == '\n')
			fputs("\\n", f);
		else
			fputc(*c, f);
	}
	fputc('\n', f);
}

/* name{labels,extra} and the space before the value; braces only if some
 * label is there. The labels were validated as exposition text. */
static void put_series(FILE *f, const char *name, const char *suffix,
		       const char *labels, const char *extra)
{
	const char *comma = *labels && *extra ? "," : "";

	fprintf(f, "%s%s", name, suffix);
	if (*labels || *extra)
		fprintf(f, "{%s%s%s}", labels, comma, extra);
	fputc(' ', f);
}

/* le="2^j - 1" times the scale; the exact integer when unscaled. */
static void put_bucket(FILE *f, const char *name, const struct stats_series *s,
		       unsigned int j, uint64_t cumulative)
{
	uint64_t bound = j < 64 ? ((uint64_t)1 << j) - 1 : UINT64_MAX;
	char value[32], le[48];

	if (s->scale == 1)
		snprintf(value, sizeof(value), "%" PRIu64, bound);
	else
		format_double(value, sizeof(value),
			      scaled((double)bound, s->scale));
	snprintf(le, sizeof(le), "le=\"%s\"", value);
	put_series(f, name, "_bucket", s->labels, le);
	fprintf(f, "%" PRIu64 "\n", cumulative);
}

/* Every bucket lies wholly below or above each 2^j, so the cumulative
 * counts are exact: no bucket is split. */
static void put_powers_of_two(FILE *f, const char *name,
			      const struct stats_series *s,
			      const struct percpu_histogram_snapshot *snap)
{
	uint64_t cumulative = 0;
	size_t i = 0;

	for (unsigned int j = 0; j <= snap->bits; j++) {
		size_t last = j < 64 ? percpu_histogram_index(((uint64_t)1 << j) - 1)
				     : snap->nr_buckets - 1;

		for (; i <= last; i++)
			cumulative += snap->buckets[i];
		put_bucket(f, name, s, j, cumulative);
	}
}

/* The chosen bounds as given; each counts the buckets whose top it
 * reaches (stats_le_raw), so a bucket it splits counts at the next. */
static void put_chosen(FILE *f, const char *name, const struct stats_series *s,
		       const struct percpu_histogram_snapshot *snap)
{
	const struct stats_family *fam = s->family;
	uint64_t cumulative = 0, low, high;
	char value[32], le[48];
	size_t i = 0;

	for (size_t j = 0; j < fam->nr_le; j++) {
		for (; i < snap->nr_buckets; i++) {
			percpu_histogram_bucket_range(i, &low, &high);
			if (high > fam->le_raw[j])
				break;
			cumulative += snap->buckets[i];
		}
		format_double(value, sizeof(value), fam->le[j]);
		snprintf(le, sizeof(le), "le=\"%s\"", value);
		put_series(f, name, "_bucket", s->labels, le);
		fprintf(f, "%" PRIu64 "\n", cumulative);
	}
}

static int put_histogram(FILE *f, const char *name, const struct stats_series *s)
{
	struct percpu_histogram_snapshot snap;
	char value[32];

	if (percpu_histogram_snapshot_take(&s->m.histogram, &snap))
		return -1;
	if (s->family->nr_le)
		put_chosen(f, name, s, &snap);
	else
		put_powers_of_two(f, name, s, &snap);
	put_series(f, name, "_bucket", s->labels, "le=\"+Inf\"");
	fprintf(f, "%" PRIu64 "\n", snap.count);
	put_series(f, name, "_sum", s->labels, "");
	format_double(value, sizeof(value),
		      scaled(percpu_histogram_sum(&snap), s->scale));
	fprintf(f, "%s\n", value);
	put_series(f, name, "_count", s->labels, "");
	fprintf(f, "%" PRIu64 "\n", snap.count);
	percpu_histogram_snapshot_destroy(&snap);
	return 0;
}

static int put_sample(FILE *f, const struct stats_family *fam,
		      const struct stats_series *s)
{
	if (fam->kind == STATS_HISTOGRAM)
		return put_histogram(f, fam->name, s);
	put_series(f, fam->name, "", s->labels, "");
	if (fam->kind == STATS_COUNTER)	/* only grows: unsigned, not < 0 */
		fprintf(f, "%" PRIuPTR "\n",
			(uintptr_t)percpu_counter_sum(&s->m.counter));
	else if (fam->kind == STATS_UPDOWN)
		fprintf(f, "%" PRIdPTR "\n", percpu_updown_sum(&s->m.updown));
	else
		fprintf(f, "%" PRId64 "\n", percpu_gauge_read(&s->m.gauge));
	return 0;
}

static int put_family(FILE *f, const struct stats_family *fam)
{
	if (fam->help)
		put_help(f, fam);
	fprintf(f, "# TYPE %s %s\n", fam->name, type_names[fam->kind]);
	for (const struct stats_series *s = stats_first_series(fam); s;
	     s = stats_next_series(s))
		if (put_sample(f, fam, s))
			return -1;
	return 0;
}

int percpu_registry_write(struct percpu_registry *r, FILE *f)
{
	if (!r || !f) {
		errno = EINVAL;
		return -1;
	}
	for (const struct stats_family *fam = stats_first_family(r); fam;
	     fam = stats_next_family(fam))
		if (put_family(f, fam))
			return -1;
	if (fflush(f) || ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

/* The whole text is built first: its length is known only at the end. */
int percpu_registry_format(struct percpu_registry *r, char *buf, size_t size,
			   size_t *length)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (!r || !length || (!buf && size)) {
		errno = EINVAL;
		return -1;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return -1;
	rc = percpu_registry_write(r, f);
	if (fclose(f) && !rc)
		rc = -1;
	if (!rc) {
		*length = len;
		if (len < size) {
			memcpy(buf, text, len + 1);
		} else {
			if (size)
				buf[0] = '\0';
			errno = ERANGE;
			rc = -1;
		}
	}
	free(text);
	return rc;
}
