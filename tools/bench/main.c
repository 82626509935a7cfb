// SPDX-License-Identifier: MIT
/*
 * percpu-bench: ns per operation of the library's operations in rseq and in
 * lock mode, beside baselines measured in the same run, at 1 thread and at
 * one thread per online CPU. One harness (harness.c); each implementation
 * is an adapter (a row of `impls`): a per-thread loop in placed copies
 * (bench.h), a reset, what it recorded, which must equal the operations
 * counted, and for some whether they can run here. Where a cheap check
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

struct bench_options opt = { 0, 7, 50, 4, NULL, NULL };
/* --sample-child: this process measures one sample for its parent. */
static const char *child_spec;
unsigned char skipped[NR_IMPLS];
int thread_counts[MAX_THREAD_COUNTS];
int nr_thread_counts;

/*
 * Each operation in rseq mode, then the same in a lock-mode child; the raw
 * rseq baselines and add_cid beside the rows they are the measure of.
 * `&loop_x_placed` is the loop `loop_x` in its placed copies (bench.h).
 */
const struct impl impls[] = {
	{ "add", PATH_RSEQ, reset_words, &loop_percpu_add_placed, sum_counter,
	  NULL },
	{ "add", PATH_LOCK, reset_words, &loop_percpu_add_placed, sum_counter,
	  NULL },
	{ "add_cid", PATH_RSEQ_CID, reset_words, &loop_percpu_add_placed,
	  sum_counter, NULL },
	{ "baseline_rseq_raw_add", PATH_NONE, reset_raw, &loop_raw_add_placed,
	  sum_raw_add, raw_usable },
	{ "baseline_rseq_raw_add_word", PATH_NONE, reset_raw,
	  &loop_raw_add_word_placed, sum_raw_add, raw_usable },
	{ "fetch_add", PATH_RSEQ, reset_words, &loop_fetch_add_placed,
	  check_fetch_add, NULL },
	{ "fetch_add", PATH_LOCK, reset_words, &loop_fetch_add_placed,
	  check_fetch_add, NULL },
	{ "load", PATH_RSEQ, reset_ones, &loop_load_placed, total_counted,
	  NULL },
	{ "load", PATH_LOCK, reset_ones, &loop_load_placed, total_counted,
	  NULL },
	{ "store", PATH_RSEQ, reset_words, &loop_store_placed, check_store,
	  NULL },
	{ "store", PATH_LOCK, reset_words, &loop_store_placed, check_store,
	  NULL },
	{ "xchg", PATH_RSEQ, reset_tokens, &loop_xchg_placed, check_tokens,
	  NULL },
	{ "xchg", PATH_LOCK, reset_tokens, &loop_xchg_placed, check_tokens,
	  NULL },
	{ "cas", PATH_RSEQ, reset_words, &loop_cas_placed, sum_counter, NULL },
	{ "cas", PATH_LOCK, reset_words, &loop_cas_placed, sum_counter, NULL },
	{ "baseline_rseq_raw_loadcas", PATH_NONE, reset_raw,
	  &loop_raw_loadcas_placed, sum_raw_loadcas, raw_usable },
	{ "baseline_rseq_raw_loadcas_word", PATH_NONE, reset_raw,
	  &loop_raw_loadcas_word_placed, sum_raw_loadcas, raw_usable },
	{ "lock", PATH_RSEQ, reset_words, &loop_lock_placed, sum_counter,
	  NULL },
	{ "lock", PATH_LOCK, reset_words, &loop_lock_placed, sum_counter,
	  NULL },
	{ "shard_id", PATH_RSEQ, reset_nothing, &loop_shard_id_placed,
	  total_counted, NULL },
	{ "shard_id", PATH_LOCK, reset_nothing, &loop_shard_id_placed,
	  total_counted, NULL },
	{ "fence_remote", PATH_RSEQ, reset_nothing, &loop_fence_remote_placed,
	  total_counted, NULL },
	{ "fence_remote", PATH_LOCK, reset_nothing, &loop_fence_remote_placed,
	  total_counted, NULL },
	{ "cmp2_store", PATH_RSEQ, reset_words, &loop_cmp2_store_placed,
	  check_cmp2, NULL },
	{ "cmp2_store", PATH_LOCK, reset_words, &loop_cmp2_store_placed,
	  check_cmp2, NULL },
	{ "cas_store2", PATH_RSEQ, reset_words, &loop_cas_store2_placed,
	  check_store2, NULL },
	{ "cas_store2", PATH_LOCK, reset_words, &loop_cas_store2_placed,
	  check_store2, NULL },
	{ "memcpy_store", PATH_RSEQ, reset_words, &loop_memcpy_store_placed,
	  check_memcpy, NULL },
	{ "memcpy_store", PATH_LOCK, reset_words, &loop_memcpy_store_placed,
	  check_memcpy, NULL },
	{ "list_pushpop", PATH_RSEQ, reset_list, &loop_list_placed, check_list,
	  NULL },
	{ "list_pushpop", PATH_LOCK, reset_list, &loop_list_placed, check_list,
	  NULL },
	{ "baseline_rseq_raw_list", PATH_NONE, reset_raw_list,
	  &loop_raw_list_placed, check_raw_list, raw_usable },
	{ "baseline_rseq_raw_list_word", PATH_NONE, reset_raw_list,
	  &loop_raw_list_word_placed, check_raw_list, raw_usable },
	{ "stack_pushpop", PATH_RSEQ, reset_stack, &loop_stack_placed,
	  check_stack, NULL },
	{ "stack_pushpop", PATH_LOCK, reset_stack, &loop_stack_placed,
	  check_stack, NULL },
	{ "stack_pushpop1", PATH_RSEQ, reset_stack, &loop_stack1_placed,
	  check_stack, NULL },
	{ "stack_pushpop1", PATH_LOCK, reset_stack, &loop_stack1_placed,
	  check_stack, NULL },
	{ "baseline_tls_inc", PATH_NONE, reset_nothing, &loop_tls_inc_placed,
	  total_counted, NULL },
	{ "baseline_atomic_shared", PATH_NONE, reset_shared_word,
	  &loop_atomic_shared_placed, total_shared_word, NULL },
	{ "baseline_getcpu_atomic", PATH_NONE, reset_slots,
	  &loop_getcpu_atomic_placed, total_slots, NULL },
	{ "baseline_mutex", PATH_NONE, reset_mutex_word, &loop_mutex_placed,
	  total_mutex_word, NULL },
	{ "counter_add", PATH_RSEQ, reset_stats_counter,
	  &loop_counter_add_placed, total_stats_counter, NULL },
	{ "counter_add", PATH_LOCK, reset_stats_counter,
	  &loop_counter_add_placed, total_stats_counter, NULL },
	{ "baseline_counter_atomic", PATH_NONE, reset_shared_word,
	  &loop_atomic_shared_placed, total_shared_word, NULL },
	{ "histogram_record", PATH_RSEQ, reset_histogram,
	  &loop_histogram_record_placed, total_histogram, NULL },
	{ "histogram_record", PATH_LOCK, reset_histogram,
	  &loop_histogram_record_placed, total_histogram, NULL },
	{ "baseline_histogram_atomic", PATH_NONE, reset_shared_histogram,
	  &loop_shared_histogram_placed, total_shared_histogram, NULL },
};
_Static_assert(sizeof(impls) / sizeof(impls[0]) == NR_IMPLS,
	       "NR_IMPLS in bench.h counts the rows");

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: percpu-bench [--csv] [--reps N] [--ms N] "
		"[--placements N] [--only NAME[,NAME...]] [--threads N[,N...]] "
		"[--ratios FILE] [--help]\n"
		"  --csv     print benchmark,mode,threads,ns_per_op rows\n"
		"  --reps N  repetitions per figure, each over every placement; "
		"the median of all samples is shown (default 7)\n"
		"  --ms N    milliseconds per sample (default 50)\n"
		"  --placements N  copies of each loop, placed 16 bytes apart, "
		"to measure (1 to %d, default 4)\n"
		"  --only    run only these benchmarks (both modes of each)\n"
		"  --threads thread counts to measure, up to 8 "
		"(default 1 and one per online CPU)\n"
		"  --ratios FILE  append the ratios, as Markdown, to FILE\n",
		MAX_PLACEMENTS);
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
		{ "placements", required_argument, NULL, 'p' },
		{ "only", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "ratios", required_argument, NULL, 'R' },
		/* not for users: how add_cid's children are run */
		{ "sample-child", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.csv = 1; break;
		case 'r': opt.reps = parse_count(optarg, "--reps", 1000); break;
		case 'm': opt.ms = parse_count(optarg, "--ms", 60000); break;
		case 'p':
			opt.placements = parse_count(optarg, "--placements",
						     MAX_PLACEMENTS);
			break;
		case 'o': opt.only = optarg; break;
		case 't': parse_threads(optarg); break;
		case 'R': opt.ratios = optarg; break;
		case 'S': child_spec = optarg; break;
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

/* Each row's name once (a name has a row per mode, one after the other). */
static void list_names(FILE *f)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		if (!i || strcmp(impls[i].name, impls[i - 1].name))
			fprintf(f, " %s", impls[i].name);
	fputc('\n', f);
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
				"'%s'; the benchmarks:", name);
			list_names(stderr);
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

/* add_cid measures cid indexing in a child; a process already indexed by
 * cid measures it in its own add row. */
static void skip_redundant(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		if (impls[i].path == PATH_RSEQ_CID && cid_indexed())
			skipped[i] = 1;
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

void setup_targets(size_t most)
{
	setup_library(most);
	setup_threads(most);
	setup_baselines();
	setup_raw(most);
	setup_stats();
}

/* A process not in rseq mode measures its "rseq" row in lock mode: say so. */
static void check_mode(void)
{
	const char *why;

	if (percpu_mode_get(&why) != PERCPU_MODE_RSEQ)
		fprintf(stderr,
			"percpu-bench: not in rseq mode (%s): the rows that "
			"should be rseq are measured, and labelled, in lock "
			"mode\n", why);
}

/* --ratios FILE: opened before the run, so that a bad name stops it. */
static FILE *open_ratios(void)
{
	FILE *f = opt.ratios ? fopen(opt.ratios, "ae") : NULL;

	if (opt.ratios && !f)
		die("--ratios %s: %s", opt.ratios, strerror(errno));
	return f;
}

/* The ratios as Markdown, after what the file holds. */
static void append_ratios(FILE *f)
{
	print_ratios(f, 1);
	if (fclose(f))
		die("--ratios %s: %s", opt.ratios, strerror(errno));
}

int main(int argc, char **argv)
{
	FILE *ratios;

	parse_options(argc, argv);
	check_index();
	if (child_spec)
		return sample_child(child_spec);
	select_rows();
	skip_redundant();
	check_mode();
	ratios = open_ratios();
	setup_thread_counts();
	setup_targets(most_threads());
	setup_figures();
	run_all();
	compute_medians();
	warn_modes();
	warn_reps_all();
	if (opt.csv) {
		print_csv();
	} else {
		print_table();
		print_ratios(stdout, 0);
	}
	if (ratios)
		append_ratios(ratios);
	return 0;
}
