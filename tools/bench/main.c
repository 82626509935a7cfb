// SPDX-License-Identifier: MIT
/*
 * percpu-bench: ns per operation of the library's operations in rseq and in
 * lock mode, beside baselines measured in the same run, at 1 thread and at
 * one thread per online CPU. One harness (harness.c); each implementation
 * is an adapter (a row of `impls`): a per-thread loop, a reset, and what it
 * recorded, which must equal the operations counted. Where a cheap check
 * exists, `recorded` runs it and stops the benchmark with exit status 1 if
 * the data is broken, so the benchmark doubles as a sanity check.
 *
 * This file: the rows, the options, the setup, and main().
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

struct bench_options opt = { 0, 7, 50, NULL };
unsigned char skipped[NR_IMPLS];
int thread_counts[MAX_THREAD_COUNTS];
int nr_thread_counts;

/* Each operation in rseq mode, then the same in a lock-mode child. */
const struct impl impls[] = {
	{ "add", PATH_RSEQ, reset_words, loop_percpu_add, sum_counter },
	{ "add", PATH_LOCK, reset_words, loop_percpu_add, sum_counter },
	{ "fetch_add", PATH_RSEQ, reset_words, loop_fetch_add,
	  check_fetch_add },
	{ "fetch_add", PATH_LOCK, reset_words, loop_fetch_add,
	  check_fetch_add },
	{ "load", PATH_RSEQ, reset_ones, loop_load, total_counted },
	{ "load", PATH_LOCK, reset_ones, loop_load, total_counted },
	{ "store", PATH_RSEQ, reset_words, loop_store, check_store },
	{ "store", PATH_LOCK, reset_words, loop_store, check_store },
	{ "xchg", PATH_RSEQ, reset_tokens, loop_xchg, check_tokens },
	{ "xchg", PATH_LOCK, reset_tokens, loop_xchg, check_tokens },
	{ "cas", PATH_RSEQ, reset_words, loop_cas, sum_counter },
	{ "cas", PATH_LOCK, reset_words, loop_cas, sum_counter },
	{ "lock", PATH_RSEQ, reset_words, loop_lock, sum_counter },
	{ "lock", PATH_LOCK, reset_words, loop_lock, sum_counter },
	{ "shard_id", PATH_RSEQ, reset_nothing, loop_shard_id, total_counted },
	{ "shard_id", PATH_LOCK, reset_nothing, loop_shard_id, total_counted },
	{ "fence_remote", PATH_RSEQ, reset_nothing, loop_fence_remote,
	  total_counted },
	{ "fence_remote", PATH_LOCK, reset_nothing, loop_fence_remote,
	  total_counted },
	{ "cmp2_store", PATH_RSEQ, reset_words, loop_cmp2_store, check_cmp2 },
	{ "cmp2_store", PATH_LOCK, reset_words, loop_cmp2_store, check_cmp2 },
	{ "cas_store2", PATH_RSEQ, reset_words, loop_cas_store2, check_store2 },
	{ "cas_store2", PATH_LOCK, reset_words, loop_cas_store2, check_store2 },
	{ "memcpy_store", PATH_RSEQ, reset_words, loop_memcpy_store,
	  check_memcpy },
	{ "memcpy_store", PATH_LOCK, reset_words, loop_memcpy_store,
	  check_memcpy },
	{ "list_pushpop", PATH_RSEQ, reset_list, loop_list, check_list },
	{ "list_pushpop", PATH_LOCK, reset_list, loop_list, check_list },
	{ "stack_pushpop", PATH_RSEQ, reset_stack, loop_stack, check_stack },
	{ "stack_pushpop", PATH_LOCK, reset_stack, loop_stack, check_stack },
	{ "baseline_tls_inc", PATH_NONE, reset_nothing, loop_tls_inc,
	  total_counted },
	{ "baseline_atomic_shared", PATH_NONE, reset_shared_word,
	  loop_atomic_shared, total_shared_word },
	{ "baseline_getcpu_atomic", PATH_NONE, reset_slots, loop_getcpu_atomic,
	  total_slots },
	{ "baseline_mutex", PATH_NONE, reset_mutex_word, loop_mutex,
	  total_mutex_word },
	{ "counter_add", PATH_RSEQ, reset_stats_counter, loop_counter_add,
	  total_stats_counter },
	{ "counter_add", PATH_LOCK, reset_stats_counter, loop_counter_add,
	  total_stats_counter },
	{ "baseline_counter_atomic", PATH_NONE, reset_shared_word,
	  loop_atomic_shared, total_shared_word },
	{ "histogram_record", PATH_RSEQ, reset_histogram,
	  loop_histogram_record, total_histogram },
	{ "histogram_record", PATH_LOCK, reset_histogram,
	  loop_histogram_record, total_histogram },
	{ "baseline_histogram_atomic", PATH_NONE, reset_shared_histogram,
	  loop_shared_histogram, total_shared_histogram },
};
_Static_assert(sizeof(impls) / sizeof(impls[0]) == NR_IMPLS,
	       "NR_IMPLS in bench.h counts the rows");

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: percpu-bench [--csv] [--reps N] [--ms N] "
		"[--only NAME[,NAME...]] [--threads N[,N...]] [--help]\n"
		"  --csv     print benchmark,mode,threads,ns_per_op rows\n"
		"  --reps N  repetitions per figure, the median is shown "
		"(default 7)\n"
		"  --ms N    milliseconds per repetition (default 50)\n"
		"  --only    run only these benchmarks (both modes of each)\n"
		"  --threads thread counts to measure, up to 8 "
		"(default 1 and one per online CPU)\n");
}

static unsigned int parse_count(const char *s, const char *what,
				unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > max) {
		fprintf(stderr,
			"percpu-bench: %s: expected 1 to %lu, got '%s'\n",
			what, max, s);
		exit(2);
	}
	return (unsigned int)v;
}

/* --threads: a comma-separated list of thread counts. */
static void parse_threads(char *list)
{
	for (char *n = strtok(list, ","); n; n = strtok(NULL, ",")) {
		if (nr_thread_counts == MAX_THREAD_COUNTS) {
			fprintf(stderr, "percpu-bench: --threads: at most %d "
				"counts\n", MAX_THREAD_COUNTS);
			exit(2);
		}
		thread_counts[nr_thread_counts++] =
			(int)parse_count(n, "--threads", MAX_THREADS);
	}
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "csv", no_argument, NULL, 'c' },
		{ "reps", required_argument, NULL, 'r' },
		{ "ms", required_argument, NULL, 'm' },
		{ "only", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.csv = 1; break;
		case 'r': opt.reps = parse_count(optarg, "--reps", 1000); break;
		case 'm': opt.ms = parse_count(optarg, "--ms", 60000); break;
		case 'o': opt.only = optarg; break;
		case 't': parse_threads(optarg); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "percpu-bench: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		exit(2);
	}
}

/* Marks rows of the names in `list` (comma-separated); 0 if one is unknown. */
static int mark_rows(char *list, unsigned char *wanted)
{
	for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
		int known = 0;

		for (unsigned int i = 0; i < NR_IMPLS; i++)
			if (!strcmp(impls[i].name, name))
				wanted[i] = known = 1;
		if (!known) {
			fprintf(stderr, "percpu-bench: --only: no benchmark "
				"'%s'\n", name);
			return 0;
		}
	}
	return 1;
}

static void select_rows(void)
{
	unsigned char wanted[NR_IMPLS] = { 0 };
	char *list;
	int any = 0;

	if (!opt.only)
		return;
	list = strdup(opt.only);
	if (!list)
		die("out of memory");
	if (!mark_rows(list, wanted))
		exit(2);
	free(list);
	for (unsigned int i = 0; i < NR_IMPLS; i++) {
		skipped[i] = !wanted[i];
		any |= wanted[i];
	}
	if (!any) {
		fprintf(stderr, "percpu-bench: --only: no benchmark named\n");
		exit(2);
	}
}

/* ---- setup ---- */

static void setup_thread_counts(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (nr_thread_counts)
		return; /* --threads said */
	thread_counts[nr_thread_counts++] = 1;
	if (cpus > 1)
		thread_counts[nr_thread_counts++] = (int)cpus;
}

static size_t most_threads(void)
{
	int most = 1;

	for (int t = 0; t < nr_thread_counts; t++)
		if (thread_counts[t] > most)
			most = thread_counts[t];
	return (size_t)most;
}

static void setup_targets(void)
{
	size_t most = most_threads();

	setup_library(most);
	setup_threads(most);
	setup_baselines();
	setup_stats();
}

/* A process not in rseq mode measures its "rseq" row in lock mode: say so. */
static void check_mode(void)
{
	const char *why;

	if (percpu_mode(&why) != PERCPU_MODE_RSEQ)
		fprintf(stderr,
			"percpu-bench: not in rseq mode (%s): the rows that "
			"should be rseq are measured, and labelled, in lock "
			"mode\n", why);
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	check_index();
	select_rows();
	check_mode();
	setup_thread_counts();
	setup_targets();
	setup_figures();
	run_all();
	compute_medians();
	warn_modes();
	warn_reps_all();
	if (opt.csv)
		print_csv();
	else
		print_table();
	return 0;
}
