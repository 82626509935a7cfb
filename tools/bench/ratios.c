// SPDX-License-Identifier: MIT
/*
 * tools/bench/ratios.c: percpu-bench's ratios between rows of one run:
 * the library against the physical limit (its raw rseq baselines),
 * concurrency-id against CPU indexing, a one-pointer stack pair against a
 * list pair. Each ratio pairs the two rows' samples of the same round
 * (same repetition, same copy index, measured close in time) and gives
 * the median of those ratios, with the lowest and the highest median of
 * one placement beside it: the spread that code placement alone makes.
 */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

struct ratio {
	const char *num;	/* row name and path of the numerator */
	enum path num_path;
	const char *den;	/* and of the denominator */
	enum path den_path;
};

static const struct ratio ratios[] = {
	{ "add", PATH_RSEQ, "baseline_rseq_raw_add", PATH_NONE },
	{ "add", PATH_RSEQ, "baseline_rseq_raw_add_word", PATH_NONE },
	{ "list_pushpop", PATH_RSEQ, "baseline_rseq_raw_list", PATH_NONE },
	{ "list_pushpop", PATH_RSEQ, "baseline_rseq_raw_list_word", PATH_NONE },
	{ "cas", PATH_RSEQ, "baseline_rseq_raw_loadcas", PATH_NONE },
	{ "cas", PATH_RSEQ, "baseline_rseq_raw_loadcas_word", PATH_NONE },
	{ "add_cid", PATH_RSEQ_CID, "add", PATH_RSEQ },
	{ "stack_pushpop1", PATH_RSEQ, "list_pushpop", PATH_RSEQ },
};

/* One ratio at one thread count: the median, the placements' extremes. */
struct ratio_figure {
	double median, low, high;
	int na;
};

/* The row of that name and path, or -1 if there is none or it was left
 * out (--only, or add_cid in a process already indexed by cid). */
static int find_row(const char *name, enum path path)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		if (impls[i].path == path && !strcmp(impls[i].name, name))
			return skipped[i] ? -1 : (int)i;
	return -1;
}

/* The median over repetitions of placement p's ratios in r. */
static double placement_median(const double *r, unsigned int p)
{
	double *v = malloc(opt.reps * sizeof(*v)), m;

	if (!v)
		die("out of memory");
	for (unsigned int rep = 0; rep < opt.reps; rep++)
		v[rep] = r[rep * opt.placements + p];
	m = median(v, opt.reps);
	free(v);
	return m;
}

static struct ratio_figure compute(const struct figure *a,
				   const struct figure *b)
{
	struct ratio_figure rf = { 0, 0, 0, 1 };
	unsigned int n = nr_samples();
	double *r;

	if (a->na || b->na)
		return rf;
	r = malloc(n * sizeof(*r));
	if (!r)
		die("out of memory");
	for (unsigned int k = 0; k < n; k++)
		r[k] = a->samples[k] / b->samples[k];
	rf.median = median(r, n);
	rf.low = rf.high = placement_median(r, 0);
	for (unsigned int p = 1; p < opt.placements; p++) {
		double m = placement_median(r, p);

		if (m < rf.low)
			rf.low = m;
		if (m > rf.high)
			rf.high = m;
	}
	rf.na = 0;
	free(r);
	return rf;
}

/* "add (rseq) / baseline_rseq_raw_add": each row with the mode it ran in. */
static void label(char *buf, size_t size, int a, int b)
{
	unsigned int ma = 0, mb = 0;

	for (int t = 0; t < nr_thread_counts; t++) {
		ma |= figures[a][t].modes;
		mb |= figures[b][t].modes;
	}
	if (impls[b].path == PATH_NONE)
		snprintf(buf, size, "%s (%s) / %s", impls[a].name,
			 mode_label(&impls[a], ma), impls[b].name);
	else
		snprintf(buf, size, "%s (%s) / %s (%s)", impls[a].name,
			 mode_label(&impls[a], ma), impls[b].name,
			 mode_label(&impls[b], mb));
}

static void print_heading(FILE *f, int markdown)
{
	const char *indexing = cid_indexed() ? "concurrency id" : "CPU id";

	if (markdown) {
		fprintf(f, "\nRatios of the run with shards indexed by %s: "
			"the median over %u repetitions x %u placements of "
			"the ratio of two samples of the same round; in "
			"parentheses the lowest and highest placement's "
			"median.\n\n| ratio |", indexing, opt.reps,
			opt.placements);
		for (int t = 0; t < nr_thread_counts; t++)
			fprintf(f, " %d thread%s |", thread_counts[t],
				thread_counts[t] > 1 ? "s" : "");
		fprintf(f, "\n|---|");
		for (int t = 0; t < nr_thread_counts; t++)
			fprintf(f, "---|");
		fprintf(f, "\n");
		return;
	}
	fprintf(f, "\nratios (shards indexed by %s), median over the rounds "
		"of the ratio of two samples of the same round, (lowest-highest "
		"placement median)\n\n%-50s", indexing, "ratio");
	for (int t = 0; t < nr_thread_counts; t++)
		fprintf(f, " %12d thread%s", thread_counts[t],
			thread_counts[t] > 1 ? "s" : " ");
	fprintf(f, "\n");
}

static void print_cell(FILE *f, int markdown, struct ratio_figure rf)
{
	char cell[64];

	if (rf.na)
		snprintf(cell, sizeof(cell), "n/a");
	else
		snprintf(cell, sizeof(cell), "%.2f (%.2f-%.2f)", rf.median,
			 rf.low, rf.high);
	if (markdown)
		fprintf(f, " %s |", cell);
	else
		fprintf(f, " %19s", cell);
}

/* The ratios whose two rows ran, as a table (or Markdown) on f. */
void print_ratios(FILE *f, int markdown)
{
	int headed = 0;

	for (size_t k = 0; k < sizeof(ratios) / sizeof(ratios[0]); k++) {
		int a = find_row(ratios[k].num, ratios[k].num_path);
		int b = find_row(ratios[k].den, ratios[k].den_path);
		char name[128];

		if (a < 0 || b < 0)
			continue;
		if (!headed++)
			print_heading(f, markdown);
		label(name, sizeof(name), a, b);
		fprintf(f, markdown ? "| %s |" : "%-50s", name);
		for (int t = 0; t < nr_thread_counts; t++)
			print_cell(f, markdown, compute(&figures[a][t],
							&figures[b][t]));
		fprintf(f, "\n");
	}
}
