// SPDX-License-Identifier: MIT
/*
 * percpu-bench: ns per operation of the library's operations in rseq and in
 * lock mode, beside baselines measured in the same run, at 1 thread and at
 * one thread per online CPU. One harness; each implementation is an adapter
 * (a row of `impls`): a per-thread loop, a reset, and what it recorded,
 * which must equal the operations counted. Where a cheap check exists (sums,
 * conservation of tokens, nodes and pointers), `recorded` runs it and stops
 * the benchmark with exit status 1 if the data is broken, so the benchmark
 * doubles as a sanity check.
 *
 * Compare-and-store rows count one operation per successful commit (a load
 * and a store retried on CHANGED or MOVED); lock, list and stack rows count
 * one operation per pair (lock and unlock, push and pop).
 *
 * Lock mode cannot be left once entered, so its repetitions run in forked
 * children that disable rseq first. Repetitions of all rows alternate, so
 * that noise on a shared machine hits every row alike; each figure is the
 * median of the repetitions.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <percpu.h>

#define CACHE_LINE 64
/* Operations between two looks at the stop flag: rare enough to cost
 * nothing beside the operation, frequent enough to stop within ~1 ms. */
#define BATCH 4096
#define MAX_THREAD_COUNTS 8
/* The most threads one figure may use (--threads). */
#define MAX_THREADS 4096
/* Below this share of wall time on a CPU, other load inflated a figure. */
#define BUSY_ON_CPU 0.9
/* Above this share of empty list pairs, they weigh in a figure. */
#define EMPTY_PAIRS 0.01
/* list_pushpop: nodes each shard's list starts with. */
#define LIST_PREFILL 8
/* stack_pushpop: pointers per push and per pop. */
#define STACK_BATCH 8
/* Tags of the values store's threads write: thread index + 1 above seq. */
#define STORE_TAG_SHIFT 40

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

/* One repetition's figure, the library modes its threads were in, and
 * the share of the wall time they were on a CPU (below 1: machine busy). */
struct sample {
	double ns_per_op;
	unsigned int modes;	/* bit 1 << enum percpu_mode */
	double on_cpu;
	double empty;		/* list: share of pairs that popped nothing */
};

struct worker {
	pthread_t tid;
	const struct impl *impl;
	uint64_t ops;
	uint64_t ns;
	uint64_t cpu_ns;
	enum percpu_mode mode;
} __attribute__((aligned(CACHE_LINE)));

struct slot {
	uint64_t n;
} __attribute__((aligned(CACHE_LINE)));

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

/* A list node alone on its line, as an allocator's free objects are. */
struct bench_node {
	struct percpu_list_node link;
} __attribute__((aligned(CACHE_LINE)));

/* The memory each implementation works on; hot words on their own lines. */
static struct {
	intptr_t *counter;	/* from percpu_alloc: the word most rows use */
	intptr_t *second;	/* cmp2_store, cas_store2: the second word */
	intptr_t *copy;		/* memcpy_store: 2 words copied per shard */
	intptr_t *lock;		/* lock: the sharded lock */
	struct percpu_list *list;
	struct bench_node *nodes;	/* LIST_PREFILL per shard, 1 per thread */
	unsigned int nr_nodes;
	struct percpu_stack *stack;
	struct thread_state *threads;	/* one per thread of a run */
	struct slot *slots;	/* per CPU, for sched_getcpu() + atomic */
	unsigned int nr_slots;
	uint64_t shared_word __attribute__((aligned(CACHE_LINE)));
	pthread_mutex_t mutex __attribute__((aligned(CACHE_LINE)));
	uint64_t mutex_word;
} target;

static struct {
	int stop __attribute__((aligned(CACHE_LINE)));
	pthread_barrier_t start __attribute__((aligned(CACHE_LINE)));
	unsigned int next_thread __attribute__((aligned(CACHE_LINE)));
	unsigned int nr_threads;
	double empty;		/* what check_list() found */
} run;

static struct {
	int csv;
	unsigned int reps;
	unsigned int ms;
	const char *only;	/* comma-separated row names, or NULL: all */
} opt = { 0, 7, 50, NULL };

static __attribute__((noreturn, format(printf, 1, 2))) void die(
	const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "percpu-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int should_stop(void)
{
	return __atomic_load_n(&run.stop, __ATOMIC_RELAXED);
}

/* The calling thread's state; each thread of a run takes one. */
static struct thread_state *take_thread_state(void)
{
	unsigned int i = __atomic_fetch_add(&run.next_thread, 1,
					    __ATOMIC_RELAXED);

	return &target.threads[i];
}

/* What the threads of the last run counted themselves. */
static uint64_t total_counted(void)
{
	uint64_t sum = 0;

	for (unsigned int t = 0; t < run.nr_threads; t++)
		sum += target.threads[t].count;
	return sum;
}

/* Shard s's copy of the word whose shard-0 address is p (percpu/memory.h). */
static intptr_t *shard_word(intptr_t *p, int s)
{
	return (intptr_t *)((char *)p + (size_t)s * PERCPU_STRIDE);
}

/* ---- adapters: one word ---- */

static void reset_words(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++) {
		*shard_word(target.counter, s) = 0;
		*shard_word(target.second, s) = 0;
		shard_word(target.copy, s)[0] = 0;
		shard_word(target.copy, s)[1] = 0;
		*shard_word(target.lock, s) = 0;
	}
}

static uint64_t sum_counter(void)
{
	intptr_t sum = 0;

	for (int s = 0; s < percpu_nr_shards(); s++)
		sum += *shard_word(target.counter, s);
	return (uint64_t)sum;
}

static uint64_t loop_percpu_add(void)
{
	intptr_t *p = target.counter;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			percpu_add(p, 1);
		ops += BATCH;
	}
	return ops;
}

/* fetch_add: a shard incremented n times returned 0, 1, ..., n - 1 once
 * each, so the values returned add up to the sum of n(n - 1)/2. */
static uint64_t loop_fetch_add(void)
{
	struct thread_state *me = take_thread_state();
	intptr_t *p = target.counter;
	uint64_t ops = 0;
	intptr_t sum = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			sum += percpu_fetch_add(p, 1, NULL);
		ops += BATCH;
	}
	me->value = sum;
	return ops;
}

static uint64_t check_fetch_add(void)
{
	intptr_t want = 0, got = 0;

	for (int s = 0; s < percpu_nr_shards(); s++) {
		intptr_t n = *shard_word(target.counter, s);

		want += n * (n - 1) / 2;
	}
	for (unsigned int t = 0; t < run.nr_threads; t++)
		got += target.threads[t].value;
	if (got != want)
		die("fetch_add: the values returned add up to %ld, not %ld",
		    (long)got, (long)want);
	return sum_counter();
}

/* load: every shard holds 1, so the values loaded add up to the loads. */
static void reset_ones(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		*shard_word(target.counter, s) = 1;
}

static uint64_t loop_load(void)
{
	struct thread_state *me = take_thread_state();
	intptr_t *p = target.counter;
	uint64_t ops = 0;
	intptr_t sum = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			sum += percpu_load(p, NULL);
		ops += BATCH;
	}
	me->count = (uint64_t)sum;
	return ops;
}

/* shard_id: counts the ids in range. */
static uint64_t loop_shard_id(void)
{
	struct thread_state *me = take_thread_state();
	unsigned int n = (unsigned int)percpu_nr_shards();
	uint64_t ops = 0, valid = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			valid += (unsigned int)percpu_shard_id() < n;
		ops += BATCH;
	}
	me->count = valid;
	return ops;
}

static void fence_nothing(void *arg, int shard)
{
	(void)arg;
	(void)shard;
}

/*
 * fence_remote: one percpu_remote() with nothing to do, on each shard in
 * turn: the cost of holding a shard and fencing its CPU. Counts successes.
 */
static uint64_t loop_fence_remote(void)
{
	struct thread_state *me = take_thread_state();
	int n = percpu_nr_shards();
	uint64_t ops = 0, done = 0;

	while (!should_stop()) {
		done += percpu_remote((int)(ops % (uint64_t)n), fence_nothing,
				      NULL) == 0;
		ops++;
	}
	me->count = done;
	return ops;
}

/* store: thread t stores (t + 1) << STORE_TAG_SHIFT | its op number. */
static uint64_t loop_store(void)
{
	struct thread_state *me = take_thread_state();
	intptr_t tag = (intptr_t)(me - target.threads + 1) << STORE_TAG_SHIFT;
	intptr_t *p = target.counter;
	uint64_t ops = 0;
	int shard = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			shard = percpu_store(p, tag | (intptr_t)(ops + i + 1));
		ops += BATCH;
	}
	me->count = ops;
	me->value = tag | (intptr_t)ops;
	me->shard = shard;
	return ops;
}

/* A shard holds 0 or a value a thread stored; where a thread stored last,
 * a value of that thread must be its last one. */
static void check_store_word(intptr_t w)
{
	uint64_t t = (uint64_t)w >> STORE_TAG_SHIFT;
	uint64_t seq = (uint64_t)w & (((uint64_t)1 << STORE_TAG_SHIFT) - 1);

	if (w && (t < 1 || t > run.nr_threads || seq < 1 ||
		  seq > target.threads[t - 1].count))
		die("store: a shard holds %#lx, which no thread stored",
		    (unsigned long)w);
}

static uint64_t check_store(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		check_store_word(*shard_word(target.counter, s));
	for (unsigned int t = 0; t < run.nr_threads; t++) {
		const struct thread_state *ts = &target.threads[t];
		intptr_t w = *shard_word(target.counter, ts->shard);

		if ((uint64_t)w >> STORE_TAG_SHIFT == t + 1 && w != ts->value)
			die("store: thread %u's last store is lost", t);
	}
	return total_counted();
}

/* xchg: tokens 1..shards+threads, one per shard and one per thread, move
 * around; afterwards each must be somewhere exactly once. */
static void reset_tokens(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		*shard_word(target.counter, s) = s + 1;
}

static uint64_t loop_xchg(void)
{
	struct thread_state *me = take_thread_state();
	intptr_t token = percpu_nr_shards() + (me - target.threads) + 1;
	intptr_t *p = target.counter;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			token = percpu_xchg(p, token, NULL);
		ops += BATCH;
	}
	me->count = ops;
	me->value = token;
	return ops;
}

static void see_token(unsigned char *seen, size_t n, intptr_t token)
{
	if (token < 1 || (size_t)token > n || seen[token - 1]++)
		die("xchg: token %ld lost or duplicated", (long)token);
}

static uint64_t check_tokens(void)
{
	size_t n = (size_t)percpu_nr_shards() + run.nr_threads;
	unsigned char *seen = calloc(n, 1);

	if (!seen)
		die("out of memory");
	for (int s = 0; s < percpu_nr_shards(); s++)
		see_token(seen, n, *shard_word(target.counter, s));
	for (unsigned int t = 0; t < run.nr_threads; t++)
		see_token(seen, n, target.threads[t].value);
	free(seen);
	return total_counted();
}

/* cas: load, then compare-and-store the next value, until it commits. */
static inline void cas_increment(intptr_t *p)
{
	for (;;) {
		int shard;
		intptr_t v = percpu_load(p, &shard);
		int r = percpu_cas(p, shard, v, v + 1);

		if (PERCPU_LIKELY(r == PERCPU_OK))
			return;
		if (r < 0)
			die("percpu_cas: %s", strerror(errno));
	}
}

static uint64_t loop_cas(void)
{
	intptr_t *p = target.counter;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			cas_increment(p);
		ops += BATCH;
	}
	return ops;
}

/* lock: the counter is incremented without an atomic under the lock, so
 * a lock that let two threads in would lose increments. */
static inline void locked_increment(intptr_t *lock, intptr_t *p)
{
	int shard = percpu_lock(lock);

	(*shard_word(p, shard))++;
	if (PERCPU_UNLIKELY(percpu_unlock(lock, shard)))
		die("percpu_unlock: %s", strerror(errno));
}

static uint64_t loop_lock(void)
{
	intptr_t *lock = target.lock, *p = target.counter;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			locked_increment(lock, p);
		ops += BATCH;
	}
	return ops;
}

/* ---- adapters: several words (percpu/multi.h) ---- */

static void die_if_error(const char *what, int r)
{
	if (r < 0)
		die("%s: %s", what, strerror(errno));
}

/* cmp2_store: the second word stays 0, so the second compare holds. */
static inline void cmp2_increment(intptr_t *p, intptr_t *q)
{
	for (;;) {
		int shard;
		intptr_t v = percpu_load(p, &shard);
		int r = percpu_cmp2_store(p, shard, v, q, 0, v + 1);

		if (PERCPU_LIKELY(r == PERCPU_OK))
			return;
		die_if_error("percpu_cmp2_store", r);
	}
}

static uint64_t loop_cmp2_store(void)
{
	intptr_t *p = target.counter, *q = target.second;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			cmp2_increment(p, q);
		ops += BATCH;
	}
	return ops;
}

static uint64_t check_cmp2(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		if (*shard_word(target.second, s))
			die("cmp2_store: shard %d's second word changed", s);
	return sum_counter();
}

/* cas_store2 and memcpy_store store the new count beside the commit too:
 * each such word equals its shard's count, or the count + 1 where a
 * speculative store landed without its commit. */
static void check_beside(const char *name, int s, intptr_t w)
{
	intptr_t c = *shard_word(target.counter, s);

	if (w != c && w != c + 1)
		die("%s: shard %d holds %ld beside the count %ld", name, s,
		    (long)w, (long)c);
}

static inline void store2_increment(intptr_t *p, intptr_t *q)
{
	for (;;) {
		int shard;
		intptr_t v = percpu_load(p, &shard);
		int r = percpu_cas_store2(p, shard, v, v + 1, q, v + 1);

		if (PERCPU_LIKELY(r == PERCPU_OK))
			return;
		die_if_error("percpu_cas_store2", r);
	}
}

static uint64_t loop_cas_store2(void)
{
	intptr_t *p = target.counter, *q = target.second;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			store2_increment(p, q);
		ops += BATCH;
	}
	return ops;
}

static uint64_t check_store2(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		check_beside("cas_store2", s, *shard_word(target.second, s));
	return sum_counter();
}

/* memcpy_store: 16 bytes, the new count twice, into the shard's copy. */
static inline void memcpy_increment(intptr_t *p, intptr_t *dst)
{
	for (;;) {
		int shard;
		intptr_t v = percpu_load(p, &shard);
		intptr_t src[2] = { v + 1, v + 1 };
		int r = percpu_memcpy_store(p, shard, v, v + 1,
					    shard_word(dst, shard), src,
					    sizeof(src));

		if (PERCPU_LIKELY(r == PERCPU_OK))
			return;
		die_if_error("percpu_memcpy_store", r);
	}
}

static uint64_t loop_memcpy_store(void)
{
	intptr_t *p = target.counter, *dst = target.copy;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			memcpy_increment(p, dst);
		ops += BATCH;
	}
	return ops;
}

static uint64_t check_memcpy(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++) {
		check_beside("memcpy_store", s, shard_word(target.copy, s)[0]);
		check_beside("memcpy_store", s, shard_word(target.copy, s)[1]);
	}
	return sum_counter();
}

/* ---- adapters: list and stack ---- */

/* Each shard's list starts with LIST_PREFILL nodes of its own. */
static void reset_list(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++) {
		struct percpu_list *l = percpu_ptr(target.list, s);
		struct bench_node *n = &target.nodes[s * LIST_PREFILL];

		l->head = NULL;
		for (int i = 0; i < LIST_PREFILL; i++) {
			n[i].link.next = l->head;
			l->head = &n[i].link;
		}
	}
}

/* Nodes in play: the shards' and one per thread of the run. */
static unsigned int nodes_in_play(void)
{
	return (unsigned int)percpu_nr_shards() * LIST_PREFILL + run.nr_threads;
}

/*
 * A thread holds one node of its own; a pair pushes what it holds and pops
 * what is on top, usually the same node. A thread that moved between the
 * two (or, in lock mode, found its shard held and went on to the next)
 * pops another shard's node; if that shard's list was empty it holds none,
 * and its next pair pops only: such pairs are counted as empty.
 */
static uint64_t loop_list(void)
{
	struct thread_state *me = take_thread_state();
	struct percpu_list *l = target.list;
	struct percpu_list_node *n = &target.nodes[nodes_in_play() - 1 -
						   (me - target.threads)].link;
	uint64_t ops = 0, empty = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			if (PERCPU_LIKELY(n != NULL))
				percpu_list_push(l, n);
			else
				empty++;
			n = percpu_list_pop(l, NULL);
		}
		ops += BATCH;
	}
	me->count = ops;
	me->empty = empty;
	me->node = n;
	return ops;
}

/* Marks the node; false if it is not one in play or was seen already. */
static int see_node(unsigned char *seen, const struct percpu_list_node *n)
{
	uintptr_t at = (uintptr_t)n - (uintptr_t)target.nodes;
	size_t i = at / sizeof(*target.nodes);

	if (at % sizeof(*target.nodes) || i >= nodes_in_play() || seen[i])
		return 0;
	seen[i] = 1;
	return 1;
}

/* Every node on one list or held by one thread, once: none lost, none
 * twice, no cycle. */
static void check_nodes(void)
{
	unsigned char *seen = calloc(nodes_in_play(), 1);
	unsigned int found = 0;

	if (!seen)
		die("out of memory");
	for (int s = 0; s < percpu_nr_shards(); s++) {
		struct percpu_list *l = percpu_ptr(target.list, s);

		for (struct percpu_list_node *n = l->head; n; n = n->next, found++)
			if (!see_node(seen, n))
				die("list_pushpop: shard %d's list holds a "
				    "foreign or repeated node", s);
	}
	for (unsigned int t = 0; t < run.nr_threads; t++) {
		const struct percpu_list_node *n = target.threads[t].node;

		if (n && !see_node(seen, n))
			die("list_pushpop: thread %u holds a foreign or "
			    "repeated node", t);
		found += n != NULL;
	}
	free(seen);
	if (found != nodes_in_play())
		die("list_pushpop: %u of %u nodes found", found,
		    nodes_in_play());
}

/* The share of empty pairs is reported with the figure. */
static uint64_t check_list(void)
{
	uint64_t ops = total_counted(), empty = 0;

	check_nodes();
	for (unsigned int t = 0; t < run.nr_threads; t++)
		empty += target.threads[t].empty;
	run.empty = ops ? (double)empty / (double)ops : 0;
	return ops;
}

static void reset_stack(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		((struct percpu_stack *)percpu_ptr(target.stack, s))->count = 0;
}

/* Thread t holds pointers t * STACK_BATCH + 1 and on (never dereferenced);
 * it pushes what it holds, then pops up to STACK_BATCH: one pair. */
static void hand_out_items(struct thread_state *me)
{
	uintptr_t first = (uintptr_t)(me - target.threads) * STACK_BATCH + 1;

	for (unsigned int i = 0; i < STACK_BATCH; i++)
		me->items[i] = (void *)(first + i);
	me->nr_items = STACK_BATCH;
}

static uint64_t loop_stack(void)
{
	struct thread_state *me = take_thread_state();
	struct percpu_stack *st = target.stack;
	void *items[STACK_BATCH];
	size_t n;
	uint64_t ops = 0;

	hand_out_items(me);
	memcpy(items, me->items, sizeof(items));
	n = me->nr_items;
	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			if (PERCPU_UNLIKELY(percpu_stack_push(st, items, n,
							      NULL) != n))
				die("stack_pushpop: a push did not fit");
			n = percpu_stack_pop(st, items, STACK_BATCH, NULL);
		}
		ops += BATCH;
	}
	memcpy(me->items, items, sizeof(items));
	me->nr_items = (unsigned int)n;
	me->count = ops;
	return ops;
}

static void see_item(unsigned char *seen, size_t n, void *item)
{
	uintptr_t v = (uintptr_t)item;

	if (v < 1 || v > n || seen[v - 1]++)
		die("stack_pushpop: pointer %#lx lost or duplicated",
		    (unsigned long)v);
}

/* Every pointer handed out in exactly one place: a stack or a thread. */
static uint64_t check_stack(void)
{
	size_t n = (size_t)run.nr_threads * STACK_BATCH, found = 0;
	unsigned char *seen = calloc(n, 1);

	if (!seen)
		die("out of memory");
	for (int s = 0; s < percpu_nr_shards(); s++) {
		struct percpu_stack *st = percpu_ptr(target.stack, s);

		if (st->count < 0 || st->count > st->capacity)
			die("stack_pushpop: shard %d's count is %ld", s,
			    (long)st->count);
		for (intptr_t i = 0; i < st->count; i++, found++)
			see_item(seen, n, st->slot[i]);
	}
	for (unsigned int t = 0; t < run.nr_threads; t++)
		for (unsigned int i = 0; i < target.threads[t].nr_items;
		     i++, found++)
			see_item(seen, n, target.threads[t].items[i]);
	free(seen);
	if (found != n)
		die("stack_pushpop: %zu of %zu pointers found", found, n);
	return total_counted();
}

#include "percpu-bench-stats.h"

/* ---- adapters: baselines ---- */

static __thread uint64_t tls_count;

static void reset_nothing(void)
{
}

/* The empty asm makes the compiler keep the counter in memory and do every
 * increment, as a real thread-local counter that others may read would. */
static uint64_t loop_tls_inc(void)
{
	struct thread_state *me = take_thread_state();
	uint64_t ops = 0;

	tls_count = 0;
	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			tls_count++;
			__asm__ __volatile__("" : "+m"(tls_count));
		}
		ops += BATCH;
	}
	me->count = tls_count;
	return ops;
}

static void reset_shared_word(void)
{
	target.shared_word = 0;
}

static uint64_t loop_atomic_shared(void)
{
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			__atomic_fetch_add(&target.shared_word, 1,
					   __ATOMIC_RELAXED);
		ops += BATCH;
	}
	return ops;
}

static uint64_t total_shared_word(void)
{
	return target.shared_word;
}

static void reset_slots(void)
{
	memset(target.slots, 0, target.nr_slots * sizeof(*target.slots));
}

static uint64_t loop_getcpu_atomic(void)
{
	struct slot *slots = target.slots;
	unsigned int n = target.nr_slots;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			unsigned int cpu = (unsigned int)sched_getcpu();

			__atomic_fetch_add(&slots[cpu < n ? cpu : 0].n, 1,
					   __ATOMIC_RELAXED);
		}
		ops += BATCH;
	}
	return ops;
}

static uint64_t total_slots(void)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < target.nr_slots; i++)
		sum += target.slots[i].n;
	return sum;
}

static void reset_mutex_word(void)
{
	target.mutex_word = 0;
}

static uint64_t loop_mutex(void)
{
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			pthread_mutex_lock(&target.mutex);
			target.mutex_word++;
			pthread_mutex_unlock(&target.mutex);
		}
		ops += BATCH;
	}
	return ops;
}

static uint64_t total_mutex_word(void)
{
	return target.mutex_word;
}

/* Each operation in rseq mode, then the same in a lock-mode child. */
static const struct impl impls[] = {
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
#define NR_IMPLS (sizeof(impls) / sizeof(impls[0]))

/* Rows --only left out. */
static unsigned char skipped[NR_IMPLS];

/* ---- the harness ---- */

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Each thread times itself from the common start to its own stop, so
 * thread creation and joining are not counted. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t t0, c0;

	w->mode = percpu_mode(NULL);	/* also registers, off the clock */
	pthread_barrier_wait(&run.start);
	t0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	w->ops = w->impl->loop();
	w->cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	w->ns = now_ns(CLOCK_MONOTONIC) - t0;
	return NULL;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void start_workers(struct worker *w, int nthreads,
			  const struct impl *im)
{
	for (int i = 0; i < nthreads; i++) {
		w[i].impl = im;
		errno = pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
		if (errno)
			die("pthread_create: %s", strerror(errno));
	}
}

/* ns per op per thread: total thread time over total operations. */
static struct sample collect(struct worker *w, int nthreads,
			     const struct impl *im)
{
	uint64_t ops = 0, ns = 0, cpu_ns = 0, seen;
	struct sample s = { 0, 0, 0, 0 };

	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].tid, NULL);
		ops += w[i].ops;
		ns += w[i].ns;
		cpu_ns += w[i].cpu_ns;
		s.modes |= 1u << w[i].mode;
	}
	seen = im->recorded();
	if (seen != ops)
		die("%s, %d threads: recorded %llu but %llu operations ran",
		    im->name, nthreads, (unsigned long long)seen,
		    (unsigned long long)ops);
	if (!ops)
		die("%s, %d threads: no operation ran", im->name, nthreads);
	s.ns_per_op = (double)ns / (double)ops;
	s.on_cpu = (double)cpu_ns / (double)ns;
	s.empty = run.empty;
	return s;
}

static struct sample measure(const struct impl *im, int nthreads)
{
	struct worker *w = aligned_alloc(CACHE_LINE, nthreads * sizeof(*w));
	struct sample s;

	if (!w)
		die("out of memory");
	memset(w, 0, nthreads * sizeof(*w));
	memset(target.threads, 0, nthreads * sizeof(*target.threads));
	run.next_thread = 0;
	run.nr_threads = (unsigned int)nthreads;
	run.empty = 0;
	im->reset();
	__atomic_store_n(&run.stop, 0, __ATOMIC_RELAXED);
	pthread_barrier_init(&run.start, NULL, (unsigned int)nthreads + 1);
	start_workers(w, nthreads, im);
	pthread_barrier_wait(&run.start);
	sleep_ms(opt.ms);
	__atomic_store_n(&run.stop, 1, __ATOMIC_RELAXED);
	s = collect(w, nthreads, im);
	pthread_barrier_destroy(&run.start);
	free(w);
	return s;
}

/* In the child: lock mode for good, checked, then the same measurement. */
static int lock_child(const struct impl *im, int nthreads, int fd)
{
	struct sample s;

	percpu_disable_rseq();
	if (percpu_mode(NULL) != PERCPU_MODE_LOCK)
		die("still in rseq mode after percpu_disable_rseq()");
	s = measure(im, nthreads);
	if (s.modes != 1u << PERCPU_MODE_LOCK)
		die("a thread ran in rseq mode after percpu_disable_rseq()");
	if (write(fd, &s, sizeof(s)) != (ssize_t)sizeof(s))
		die("write to parent: %s", strerror(errno));
	return 0;
}

static struct sample measure_in_lock_child(const struct impl *im, int nthreads)
{
	struct sample s;
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	fflush(NULL);	/* or the child's exit() would print our output again */
	if (pipe(fd) || (pid = fork()) < 0)
		die("pipe or fork: %s", strerror(errno));
	if (pid == 0) {
		close(fd[0]);
		exit(lock_child(im, nthreads, fd[1]));
	}
	close(fd[1]);
	n = read(fd[0], &s, sizeof(s));
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || n != (ssize_t)sizeof(s))
		die("the lock-mode child failed");
	return s;
}

/* ---- repetitions, medians, output ---- */

struct figure {
	double *samples;	/* opt.reps of them */
	unsigned int modes;
	double median;
	unsigned int busy;	/* repetitions mostly off a CPU */
	unsigned int empty;	/* repetitions with many empty list pairs */
};

static struct figure figures[NR_IMPLS][MAX_THREAD_COUNTS];
static int thread_counts[MAX_THREAD_COUNTS];
static int nr_thread_counts;

static void record(struct figure *f, unsigned int rep, struct sample s)
{
	f->samples[rep] = s.ns_per_op;
	f->modes |= s.modes;
	if (s.on_cpu < BUSY_ON_CPU)
		f->busy++;
	if (s.empty > EMPTY_PAIRS)
		f->empty++;
}

/* Rotating the order each repetition keeps any cost of following a given
 * row (a fork, a cold cache) from always landing on the same row. */
static void run_all(void)
{
	for (unsigned int rep = 0; rep < opt.reps; rep++)
		for (int t = 0; t < nr_thread_counts; t++)
			for (unsigned int k = 0; k < NR_IMPLS; k++) {
				unsigned int i = (k + rep) % NR_IMPLS;
				const struct impl *im = &impls[i];
				int n = thread_counts[t];

				if (skipped[i])
					continue;
				record(&figures[i][t], rep,
				       im->path == PATH_LOCK ?
					       measure_in_lock_child(im, n) :
					       measure(im, n));
			}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Shards are concurrency ids (PERCPU_INDEX=cid): rows say so. */
static int cid_indexed;

/* What the threads really ran in, never what the row hoped for. */
static const char *mode_label(const struct impl *im, unsigned int modes)
{
	static const char *const names[2][3] = {
		{ "rseq", "lock", "mixed" },
		{ "rseq_cid", "lock_cid", "mixed_cid" },
	};

	if (im->path == PATH_NONE)
		return "-";
	if (modes == 1u << PERCPU_MODE_RSEQ)
		return names[cid_indexed][0];
	if (modes == 1u << PERCPU_MODE_LOCK)
		return names[cid_indexed][1];
	return names[cid_indexed][2];
}

static const char *row_mode(unsigned int i)
{
	unsigned int modes = 0;

	for (int t = 0; t < nr_thread_counts; t++)
		modes |= figures[i][t].modes;
	return mode_label(&impls[i], modes);
}

static void print_csv(void)
{
	printf("benchmark,mode,threads,ns_per_op\n");
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++)
			printf("%s,%s,%d,%.2f\n", impls[i].name,
			       mode_label(&impls[i], figures[i][t].modes),
			       thread_counts[t], figures[i][t].median);
}

static void print_table(void)
{
	printf("ns per operation per thread, median of %u x %u ms\n\n",
	       opt.reps, opt.ms);
	printf("%-24s %-5s", "benchmark", "mode");
	for (int t = 0; t < nr_thread_counts; t++)
		printf(" %6d thread%s", thread_counts[t],
		       thread_counts[t] > 1 ? "s" : " ");
	printf("\n");
	for (unsigned int i = 0; i < NR_IMPLS; i++) {
		if (skipped[i])
			continue;
		printf("%-24s %-5s", impls[i].name, row_mode(i));
		for (int t = 0; t < nr_thread_counts; t++)
			printf(" %13.2f", figures[i][t].median);
		printf("\n");
	}
}

/* ---- setup and options ---- */

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

static void setup_list(void)
{
	target.list = percpu_alloc(sizeof(struct percpu_list));
	target.nr_nodes = (unsigned int)percpu_nr_shards() * LIST_PREFILL +
			  (unsigned int)most_threads();
	target.nodes = aligned_alloc(CACHE_LINE,
				     target.nr_nodes * sizeof(*target.nodes));
	if (!target.list || !target.nodes)
		die("out of memory");
}


/* Room on one shard for every pointer of the most threads a run has. */
static void setup_targets(void)
{
	size_t nr_threads = most_threads();

	target.counter = percpu_alloc(sizeof(intptr_t));
	target.second = percpu_alloc(sizeof(intptr_t));
	target.copy = percpu_alloc(2 * sizeof(intptr_t));
	target.lock = percpu_alloc(sizeof(intptr_t));
	target.stack = percpu_stack_alloc(nr_threads * STACK_BATCH);
	target.threads = aligned_alloc(CACHE_LINE,
				       nr_threads * sizeof(*target.threads));
	target.nr_slots = (unsigned int)percpu_nr_shards();
	target.slots = aligned_alloc(CACHE_LINE,
				     target.nr_slots * sizeof(*target.slots));
	if (!target.counter || !target.second || !target.copy ||
	    !target.lock || !target.stack || !target.threads || !target.slots)
		die("out of memory");
	setup_list();
	pthread_mutex_init(&target.mutex, NULL);
	setup_stats();
}

static void setup_figures(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts; t++) {
			double *v = calloc(opt.reps, sizeof(*v));

			if (!v)
				die("out of memory");
			figures[i][t].samples = v;
		}
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

static void compute_medians(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++)
			figures[i][t].median =
				median(figures[i][t].samples, opt.reps);
}

/* A row meant for rseq that ran otherwise is said so, on stderr. */
static void warn_modes(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++) {
			const char *m = mode_label(&impls[i],
						   figures[i][t].modes);

			if (impls[i].path == PATH_RSEQ && strncmp(m, "rseq", 4))
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
				thread_counts[t], flagged(f), opt.reps);
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
 * have hit; a median is inflated only if more than half its repetitions
 * were. Contended mutex threads also sleep, so theirs may be legitimate.
 * Pairs that popped nothing are cheaper: say which figures have many. */
static void warn_reps_all(void)
{
	warn_reps("percpu-bench: repetitions whose threads were off a CPU "
		  "over 10% of the time (machine busy, or blocked in a mutex):",
		  busy_reps);
	warn_reps("percpu-bench: repetitions where over 1% of the list pairs "
		  "popped an empty list (nodes drift when threads move "
		  "between push and pop):", empty_reps);
}

static void check_index(void)
{
	struct percpu_runtime_info info;

	percpu_runtime_info(&info);
	cid_indexed = info.index == PERCPU_INDEX_CID;
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
