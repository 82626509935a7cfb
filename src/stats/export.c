// SPDX-License-Identifier: MIT
/*
 * src/stats/export.c: a registry in the Prometheus text exposition format
 * 0.0.4 or in OpenMetrics 1.0.0 (see percpu/stats.h), to a stream or a
 * caller's buffer. The two differ in a few places only, each marked `om`:
 * a counter's family drops the _total its samples carry, help escapes
 * quotes too, `le` is written as a float, and the text ends in # EOF.
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

/*
 * The length of a family's name as exported: in OpenMetrics a counter's
 * family is its name without _total (which its sample adds back), so
 * that both a_total and a export a_total samples under # TYPE a counter.
 * The registry refuses a name beside the same name plus _total when one
 * of them is a counter (stats_registry.c), so no two families meet.
 */
static size_t family_len(const struct stats_family *fam, int om)
{
	size_t len = strlen(fam->name);

	if (om && fam->kind == STATS_COUNTER && stats_has_total(fam->name))
		return len - strlen("_total");
	return len;
}

/* Help text escapes backslash and newline, and in OpenMetrics quotes. */
static void put_help(FILE *f, const struct stats_family *fam, int om)
{
	fprintf(f, "# HELP %.*s ", (int)family_len(fam, om), fam->name);
	for (const char *c = fam->help; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", f);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '"' && om)
			fputs("\\\"", f);
		else
			fputc(*c, f);
	}
	fputc('\n', f);
}

/* name[0..len) suffix{labels,extra} and the space before the value;
 * braces only if some label is there. The labels were validated as
 * exposition text. */
static void put_series(FILE *f, const char *name, size_t len,
		       const char *suffix, const char *labels, const char *extra)
{
	const char *comma = *labels && *extra ? "," : "";

	fprintf(f, "%.*s%s", (int)len, name, suffix);
	if (*labels || *extra)
		fprintf(f, "{%s%s%s}", labels, comma, extra);
	fputc(' ', f);
}

/*
 * le="2^j - 1" times the scale; the exact integer when unscaled. In
 * OpenMetrics `le` is a canonical float: a whole number gets ".0", so
 * that every exposer writes the same label value for the same bound.
 */
static void put_bucket(FILE *f, const char *name, const struct stats_series *s,
		       unsigned int j, uint64_t cumulative, int om)
{
	uint64_t bound = j < 64 ? ((uint64_t)1 << j) - 1 : UINT64_MAX;
	char value[32], le[48];

	if (s->scale == 1)
		snprintf(value, sizeof(value), "%" PRIu64, bound);
	else
		format_double(value, sizeof(value),
			      scaled((double)bound, s->scale));
	snprintf(le, sizeof(le), "le=\"%s%s\"", value,
		 om && !strpbrk(value, ".e") ? ".0" : "");
	put_series(f, name, strlen(name), "_bucket", s->labels, le);
	fprintf(f, "%" PRIu64 "\n", cumulative);
}

/* Every bucket lies wholly below or above each 2^j, so the cumulative
 * counts are exact: no bucket is split. */
static void put_powers_of_two(FILE *f, const char *name,
			      const struct stats_series *s,
			      const struct percpu_histogram_snapshot *snap, int om)
{
	uint64_t cumulative = 0;
	size_t i = 0;

	for (unsigned int j = 0; j <= snap->bits; j++) {
		size_t last = j < 64 ? percpu_histogram_index(((uint64_t)1 << j) - 1)
				     : snap->nr_buckets - 1;

		for (; i <= last; i++)
			cumulative += snap->buckets[i];
		put_bucket(f, name, s, j, cumulative, om);
	}
}

/* The chosen bounds as given; each counts the buckets whose top it
 * reaches (stats_le_raw), so a bucket it splits counts at the next. */
static void put_chosen(FILE *f, const char *name, const struct stats_series *s,
		       const struct percpu_histogram_snapshot *snap, int om)
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
		snprintf(le, sizeof(le), "le=\"%s%s\"", value,
			 om && !strpbrk(value, ".e") ? ".0" : "");
		put_series(f, name, strlen(name), "_bucket", s->labels, le);
		fprintf(f, "%" PRIu64 "\n", cumulative);
	}
}

static int put_histogram(FILE *f, const char *name, const struct stats_series *s,
			 int om)
{
	size_t len = strlen(name);
	struct percpu_histogram_snapshot snap;
	char value[32];

	if (percpu_histogram_snapshot_take(&s->m.histogram, &snap))
		return -1;
	if (s->family->nr_le)
		put_chosen(f, name, s, &snap, om);
	else
		put_powers_of_two(f, name, s, &snap, om);
	put_series(f, name, len, "_bucket", s->labels, "le=\"+Inf\"");
	fprintf(f, "%" PRIu64 "\n", snap.count);
	put_series(f, name, len, "_sum", s->labels, "");
	format_double(value, sizeof(value),
		      scaled(percpu_histogram_sum(&snap), s->scale));
	fprintf(f, "%s\n", value);
	put_series(f, name, len, "_count", s->labels, "");
	fprintf(f, "%" PRIu64 "\n", snap.count);
	percpu_histogram_snapshot_destroy(&snap);
	return 0;
}

static int put_sample(FILE *f, const struct stats_family *fam,
		      const struct stats_series *s, int om)
{
	const char *suffix = om && fam->kind == STATS_COUNTER ? "_total" : "";

	if (fam->kind == STATS_HISTOGRAM)
		return put_histogram(f, fam->name, s, om);
	put_series(f, fam->name, family_len(fam, om), suffix, s->labels, "");
	if (fam->kind == STATS_COUNTER)	/* only grows: unsigned, not < 0 */
		fprintf(f, "%" PRIuPTR "\n",
			(uintptr_t)percpu_counter_sum(&s->m.counter));
	else if (fam->kind == STATS_UPDOWN)
		fprintf(f, "%" PRIdPTR "\n", percpu_updown_sum(&s->m.updown));
	else
		fprintf(f, "%" PRId64 "\n", percpu_gauge_read(&s->m.gauge));
	return 0;
}

static int put_family(FILE *f, const struct stats_family *fam, int om)
{
	if (fam->help)
		put_help(f, fam, om);
	fprintf(f, "# TYPE %.*s %s\n", (int)family_len(fam, om), fam->name,
		type_names[fam->kind]);
	for (const struct stats_series *s = stats_first_series(fam); s;
	     s = stats_next_series(s))
		if (put_sample(f, fam, s, om))
			return -1;
	return 0;
}

static int write_format(struct percpu_registry *r, FILE *f, int om)
{
	if (!r || !f) {
		errno = EINVAL;
		return -1;
	}
	for (const struct stats_family *fam = stats_first_family(r); fam;
	     fam = stats_next_family(fam))
		if (put_family(f, fam, om))
			return -1;
	if (om)
		fputs("# EOF\n", f);
	if (fflush(f) || ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

int percpu_registry_write(struct percpu_registry *r, FILE *f)
{
	return write_format(r, f, 0);
}

int percpu_registry_write_openmetrics(struct percpu_registry *r, FILE *f)
{
	return write_format(r, f, 1);
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
