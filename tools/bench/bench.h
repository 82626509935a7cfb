/* SPDX-License-Identifier: MIT */
/*
 * tools/bench/bench.h: what the files of percpu-bench share. main.c holds
 * the rows and the options, harness.c runs and times them, output.c prints
 * the figures and ratios.c their ratios; library.c, baselines.c, rseq_raw.c
 * and stats.c are the adapters.
 */
#ifndef PERCPU_BENCH_H
#define PERCPU_BENCH_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
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
#define NR_IMPLS 47
/* Copies of each timed loop, each placed differently (PLACED below). */
#define MAX_PLACEMENTS 8

/* Where a row runs, which also says what its mode column means. */
enum path {
	PATH_NONE,	/* a baseline: the library's mode is irrelevant */
	PATH_RSEQ,	/* this process, expected in rseq mode */
	PATH_LOCK,	/* a child after percpu_disable_rseq() */
	PATH_RSEQ_CID,	/* a child run again with PERCPU_INDEX=cid */
};

/*
 * A timed loop in MAX_PLACEMENTS copies: copy p is the same loop with its
 * code 16 * p bytes further from a 64-byte boundary (PLACED_COPY). How
 * fast a hot loop runs depends on where its code lies (fetch windows,
 * the op cache, branch prediction): the figures are medians over copies.
 */
struct placed {
	uint64_t (*copy[MAX_PLACEMENTS])(void);
};

/*
 * PLACED(loop) defines `loop`_placed from `loop`, an always-inline
 * function, which each copy inlines after its padding. The copies are
 * 64-byte aligned; the padding is nops run once per call. The code after
 * it is the same in every copy and compilers align loops to at most 16
 * bytes, so padding by multiples of 16 moves the loop by exactly the
 * padding: copies 0-3 start it at four places 16 bytes apart in a cache
 * line, copies 4-7 at the same places one line further on.
 */
#define PLACED_COPY(loop, p)						\
	static __attribute__((noinline, aligned(64))) uint64_t		\
	loop##_at_##p(void)						\
	{								\
		__asm__ __volatile__(".if " #p "\n\t"			\
				     ".skip 16 * " #p ", 0x90\n\t"	\
				     ".endif");				\
		return loop();						\
	}
#define PLACED(loop)							\
	PLACED_COPY(loop, 0) PLACED_COPY(loop, 1) PLACED_COPY(loop, 2)	\
	PLACED_COPY(loop, 3) PLACED_COPY(loop, 4) PLACED_COPY(loop, 5)	\
	PLACED_COPY(loop, 6) PLACED_COPY(loop, 7)			\
	const struct placed loop##_placed = { {				\
		loop##_at_0, loop##_at_1, loop##_at_2, loop##_at_3,	\
		loop##_at_4, loop##_at_5, loop##_at_6, loop##_at_7,	\
	} }
/* A timed loop and what it calls per operation: inlined into each copy,
 * so that each copy holds the whole loop. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define TIMED_LOOP ALWAYS_INLINE uint64_t

struct impl {
	const char *name;
	enum path path;
	void (*reset)(void);
	const struct placed *loop;	/* per thread, in copies: ops done
					   until stop */
	uint64_t (*recorded)(void);	/* what the implementation counted */
	int (*usable)(void);		/* NULL, or 0 if the row cannot run
					   here: its figures are n/a */
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
	unsigned int placements;	/* copies of each loop measured */
	const char *only;	/* comma-separated row names, or NULL: all */
	const char *ratios;	/* a file the ratios are appended to, or NULL */
};

/* One row's figure at one thread count, over the rounds and placements:
 * samples[rep * opt.placements + p] is copy p's figure in round rep. */
struct figure {
	double *samples;
	unsigned int modes;
	double median;
	int na;			/* the row cannot run here (impl.usable) */
	unsigned int busy;	/* samples mostly off a CPU */
	unsigned int empty;	/* samples with many empty list pairs */
};

/* main.c: the rows, the options, and which rows and thread counts run. */
extern const struct impl impls[];
extern struct bench_options opt;
extern unsigned char skipped[NR_IMPLS];	/* rows --only left out */
extern int thread_counts[MAX_THREAD_COUNTS];
extern int nr_thread_counts;
void setup_targets(size_t most_threads);

/* Samples of a figure: opt.reps rounds of opt.placements each. */
static inline unsigned int nr_samples(void)
{
	return opt.reps * opt.placements;
}

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
double median(const double *v, unsigned int n);
int sample_child(const char *spec);

/* ratios.c */
void print_ratios(FILE *f, int markdown);

/* output.c */
void check_index(void);
void warn_modes(void);
void warn_reps_all(void);
int cid_indexed(void);
const char *mode_label(const struct impl *im, unsigned int modes);
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
extern const struct placed loop_percpu_add_placed;
extern const struct placed loop_fetch_add_placed;
uint64_t check_fetch_add(void);
void reset_ones(void);
extern const struct placed loop_load_placed;
extern const struct placed loop_shard_id_placed;
extern const struct placed loop_fence_remote_placed;
extern const struct placed loop_store_placed;
uint64_t check_store(void);
void reset_tokens(void);
extern const struct placed loop_xchg_placed;
uint64_t check_tokens(void);
extern const struct placed loop_cas_placed;
extern const struct placed loop_lock_placed;
extern const struct placed loop_cmp2_store_placed;
uint64_t check_cmp2(void);
extern const struct placed loop_cas_store2_placed;
uint64_t check_store2(void);
extern const struct placed loop_memcpy_store_placed;
uint64_t check_memcpy(void);
void reset_list(void);
extern const struct placed loop_list_placed;
uint64_t check_list(void);
void reset_stack(void);
extern const struct placed loop_stack_placed;
extern const struct placed loop_stack1_placed;
uint64_t check_stack(void);

/* baselines.c: the same work without the library. */
void setup_baselines(void);
extern const struct placed loop_tls_inc_placed;
void reset_shared_word(void);
extern const struct placed loop_atomic_shared_placed;
uint64_t total_shared_word(void);
void reset_slots(void);
extern const struct placed loop_getcpu_atomic_placed;
uint64_t total_slots(void);
void reset_mutex_word(void);
extern const struct placed loop_mutex_placed;
uint64_t total_mutex_word(void);

/* rseq_raw.c: rseq sections of the project's own, without the library:
 * the physical limit of the library's add, list and load + cas rows. */
int raw_usable(void);
void setup_raw(size_t most_threads);
void reset_raw(void);
extern const struct placed loop_raw_add_placed;
uint64_t sum_raw_add(void);
extern const struct placed loop_raw_add_word_placed;
extern const struct placed loop_raw_loadcas_word_placed;
extern const struct placed loop_raw_loadcas_placed;
uint64_t sum_raw_loadcas(void);
void reset_raw_list(void);
extern const struct placed loop_raw_list_placed;
extern const struct placed loop_raw_list_word_placed;
uint64_t check_raw_list(void);

/* stats.c: percpu/stats.h, and its baseline on shared memory. */
void setup_stats(void);
void reset_stats_counter(void);
extern const struct placed loop_counter_add_placed;
uint64_t total_stats_counter(void);
void reset_histogram(void);
extern const struct placed loop_histogram_record_placed;
uint64_t total_histogram(void);
void reset_shared_histogram(void);
extern const struct placed loop_shared_histogram_placed;
uint64_t total_shared_histogram(void);

#endif
