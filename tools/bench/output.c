// SPDX-License-Identifier: MIT
/*
 * tools/bench/output.c: percpu-bench's output: the medians as a table or
 * as CSV rows on stdout, each row's mode as its threads really ran, and on
 * stderr the figures that a busy machine, a mode other than the one asked
 * for, or many empty list or stack pairs may have distorted.
 */
#include <stdio.h>
#include <string.h>
#include "bench.h"

/* Shards are concurrency ids (PERCPU_INDEX=cid): rows say so. */
static int cid;

void check_index(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	percpu_runtime_info_get(&info);
	cid = info.index == PERCPU_INDEX_CID;
}

int cid_indexed(void)
{
	return cid;
}

/* What the threads really ran in, never what the row hoped for; add_cid's
 * samples come from children indexed by concurrency id. */
const char *mode_label(const struct impl *im, unsigned int modes)
{
	int cid_row = cid || im->path == PATH_RSEQ_CID;

	static const char *const names[2][3] = {
		{ "rseq", "lock", "mixed" },
		{ "rseq_cid", "lock_cid", "mixed_cid" },
	};

	if (im->path == PATH_NONE)
		return "-";
	if (modes == 1u << PERCPU_MODE_RSEQ)
		return names[cid_row][0];
	if (modes == 1u << PERCPU_MODE_LOCK)
		return names[cid_row][1];
	return names[cid_row][2];
}

static const char *row_mode(unsigned int i)
{
	unsigned int modes = 0;

	for (int t = 0; t < nr_thread_counts; t++)
		modes |= figures[i][t].modes;
	return mode_label(&impls[i], modes);
}

/* A row that could not run here (no rseq from glibc) says n/a. */
void print_csv(void)
{
	printf("benchmark,mode,threads,ns_per_op\n");
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++) {
			const struct figure *f = &figures[i][t];

			printf("%s,%s,%d,", impls[i].name,
			       mode_label(&impls[i], f->modes),
			       thread_counts[t]);
			if (f->na)
				printf("n/a\n");
			else
				printf("%.2f\n", f->median);
		}
}

void print_table(void)
{
	printf("ns per operation per thread, median of %u repetitions x %u "
	       "placements x %u ms\n\n", opt.reps, opt.placements, opt.ms);
	printf("%-26s %-9s", "benchmark", "mode");
	for (int t = 0; t < nr_thread_counts; t++)
		printf(" %6d thread%s", thread_counts[t],
		       thread_counts[t] > 1 ? "s" : " ");
	printf("\n");
	for (unsigned int i = 0; i < NR_IMPLS; i++) {
		if (skipped[i])
			continue;
		printf("%-26s %-9s", impls[i].name, row_mode(i));
		for (int t = 0; t < nr_thread_counts; t++)
			if (figures[i][t].na)
				printf(" %13s", "n/a");
			else
				printf(" %13.2f", figures[i][t].median);
		printf("\n");
	}
}

/* A row meant for rseq that ran otherwise is said so, on stderr. */
void warn_modes(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++) {
			const char *m = mode_label(&impls[i],
						   figures[i][t].modes);

			if ((impls[i].path == PATH_RSEQ ||
			     impls[i].path == PATH_RSEQ_CID) &&
			    !figures[i][t].na && strncmp(m, "rseq", 4))
				fprintf(stderr, "percpu-bench: %s, %d "
					"thread(s): ran in %s mode, not rseq\n",
					impls[i].name, thread_counts[t], m);
		}
}

/* Lists on stderr the figures with repetitions counted in `flagged`. */
static void warn_reps(const char *intro,
		      unsigned int (*flagged)(const struct figure *))
{
	const char *sep = intro;

	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts; t++) {
			const struct figure *f = &figures[i][t];

			if (!flagged(f))
				continue;
			fprintf(stderr, "%s %s/%s/%d %u of %u", sep,
				impls[i].name, mode_label(&impls[i], f->modes),
				thread_counts[t], flagged(f), nr_samples());
			sep = ",";
		}
	if (sep != intro)
		fputc('\n', stderr);
}

static unsigned int busy_reps(const struct figure *f)
{
	return f->busy;
}

static unsigned int empty_reps(const struct figure *f)
{
	return f->empty;
}

/* Wall time includes waiting for a CPU: say which figures other load may
 * have hit; a median is inflated only if more than half its samples
 * were. Contended mutex threads also sleep, so theirs may be legitimate.
 * Pairs that popped nothing are cheaper: say which figures have many. */
void warn_reps_all(void)
{
	warn_reps("percpu-bench: samples whose threads were off a CPU "
		  "over 10% of the time (machine busy, or blocked in a mutex):",
		  busy_reps);
	warn_reps("percpu-bench: samples where over 1% of the list or stack "
		  "pairs popped nothing (nodes drift when threads move "
		  "between push and pop):", empty_reps);
}
