/* SPDX-License-Identifier: MIT */
/*
 * tools/bench/bench.h: what the files of percpu-bench share. main.c holds
 * the rows and the options, harness.c runs and times them, output.c prints
 * the figures; library.c, baselines.c and stats.c are the adapters.
 */
#ifndef PERCPU_BENCH_H
#define PERCPU_BENCH_H

#include <pthread.h>
#include <stdint.h>
#include <percpu.h>

#define CACHE_LINE 64
/* Operations between two looks at the stop flag: rare enough to cost
 * nothing beside the operation, frequent enough to stop within ~1 ms. */
#define BATCH 4096
#define MAX_THREAD_COUNTS 8
/* The most threads one figure may use (--threads). */
#define MAX_THREADS 4096
/* stack_pushpop: pointers per push and per pop. */
#define STACK_BATCH 8
/* The rows of main.c's table; it checks the count. */
#define NR_IMPLS 38

/* Where a row runs, which also says what its mode column means. */
enum path {
	PATH_NONE,	/* a baseline: the library's mode is irrelevant */
	PATH_RSEQ,	/* this process, expected in rseq mode */
	PATH_LOCK,	/* a child after percpu_disable_rseq() */
};

struct impl {
	const char *name;
	enum path path;
	void (*reset)(void);
	uint64_t (*loop)(void);		/* per thread: ops done until stop */
	uint64_t (*recorded)(void);	/* what the implementation counted */
};

/* What a thread leaves behind for the check after the run. */
struct thread_state {
	uint64_t count;		/* operations it counted itself */
	uint64_t empty;		/* list: pops that found the list empty */
	intptr_t value;		/* store: its last value; xchg: its token;
				   fetch_add: the sum of the values returned */
	int shard;		/* store: the shard of its last store */
	struct percpu_list_node *node;	/* list: the node it holds, or NULL */
	unsigned int nr_items;	/* stack: pointers it holds */
	void *items[STACK_BATCH];
} __attribute__((aligned(CACHE_LINE)));

/* The run in progress (harness.c). */
struct bench_run {
	int stop __attribute__((aligned(CACHE_LINE)));
	pthread_barrier_t start __attribute__((aligned(CACHE_LINE)));
	unsigned int next_thread __attribute__((aligned(CACHE_LINE)));
	unsigned int nr_threads;
	struct thread_state *threads;	/* one per thread of a run */
	double empty;		/* what check_list() found */
};

struct bench_options {
	int csv;
	unsigned int reps;
	unsigned int ms;
	const char *only;	/* comma-separated row names, or NULL: all */
};

/* One row's figure at one thread count, over the repetitions. */
struct figure {
	double *samples;	/* opt.reps of them */
	unsigned int modes;
	double median;
	unsigned int busy;	/* repetitions mostly off a CPU */
	unsigned int empty;	/* repetitions with many empty list pairs */
};

/* main.c: the rows, the options, and which rows and thread counts run. */
extern const struct impl impls[];
extern struct bench_options opt;
extern unsigned char skipped[NR_IMPLS];	/* rows --only left out */
extern int thread_counts[MAX_THREAD_COUNTS];
extern int nr_thread_counts;

/* harness.c */
extern struct bench_run run;
extern struct figure figures[NR_IMPLS][MAX_THREAD_COUNTS];
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
struct thread_state *take_thread_state(void);
uint64_t total_counted(void);
void reset_nothing(void);
void setup_threads(size_t most);
void setup_figures(void);
void run_all(void);
void compute_medians(void);

/* output.c */
void check_index(void);
void warn_modes(void);
void warn_reps_all(void);
void print_csv(void);
void print_table(void);

static inline int should_stop(void)
{
	return __atomic_load_n(&run.stop, __ATOMIC_RELAXED);
}

/* library.c: the library's operations, in rseq and in lock mode. */
void setup_library(size_t most_threads);
void reset_words(void);
uint64_t sum_counter(void);
uint64_t loop_percpu_add(void);
uint64_t loop_fetch_add(void);
uint64_t check_fetch_add(void);
void reset_ones(void);
uint64_t loop_load(void);
uint64_t loop_shard_id(void);
uint64_t loop_fence_remote(void);
uint64_t loop_store(void);
uint64_t check_store(void);
void reset_tokens(void);
uint64_t loop_xchg(void);
uint64_t check_tokens(void);
uint64_t loop_cas(void);
uint64_t loop_lock(void);
uint64_t loop_cmp2_store(void);
uint64_t check_cmp2(void);
uint64_t loop_cas_store2(void);
uint64_t check_store2(void);
uint64_t loop_memcpy_store(void);
uint64_t check_memcpy(void);
void reset_list(void);
uint64_t loop_list(void);
uint64_t check_list(void);
void reset_stack(void);
uint64_t loop_stack(void);
uint64_t check_stack(void);

/* baselines.c: the same work without the library. */
void setup_baselines(void);
uint64_t loop_tls_inc(void);
void reset_shared_word(void);
uint64_t loop_atomic_shared(void);
uint64_t total_shared_word(void);
void reset_slots(void);
uint64_t loop_getcpu_atomic(void);
uint64_t total_slots(void);
void reset_mutex_word(void);
uint64_t loop_mutex(void);
uint64_t total_mutex_word(void);

/* stats.c: percpu/stats.h, and its baseline on shared memory. */
void setup_stats(void);
void reset_stats_counter(void);
uint64_t loop_counter_add(void);
uint64_t total_stats_counter(void);
void reset_histogram(void);
uint64_t loop_histogram_record(void);
uint64_t total_histogram(void);
void reset_shared_histogram(void);
uint64_t loop_shared_histogram(void);
uint64_t total_shared_histogram(void);

#endif
