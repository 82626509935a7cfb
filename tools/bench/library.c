// SPDX-License-Identifier: MIT
/*
 * tools/bench/library.c: percpu-bench's adapters for the library's
 * operations (percpu/ops.h, lock.h, remote.h, multi.h, list.h, stack.h),
 * each run in rseq and in lock mode by the rows of main.c. Where a cheap
 * check exists (sums, conservation of tokens, nodes and pointers), the
 * adapter's `recorded` runs it and stops the benchmark with exit status 1
 * if the data is broken.
 *
 * Compare-and-store rows count one operation per successful commit (a load
 * and a store retried on CHANGED or MOVED); lock, list and stack rows count
 * one operation per pair (lock and unlock, push and pop).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

/* list_pushpop: nodes each shard's list starts with. */
#define LIST_PREFILL 8
/* Tags of the values store's threads write: thread index + 1 above seq. */
#define STORE_TAG_SHIFT 40

/* A list node alone on its line, as an allocator's free objects are. */
struct bench_node {
	struct percpu_list_node link;
} __attribute__((aligned(CACHE_LINE)));

/* The memory each adapter works on; hot words on their own lines. */
static struct {
	intptr_t *counter;	/* from percpu_alloc: the word most rows use */
	intptr_t *second;	/* cmp2_store, cas_store2: the second word */
	intptr_t *copy;		/* memcpy_store: 2 words copied per shard */
	intptr_t *lock;		/* lock: the sharded lock */
	struct percpu_list *list;
	struct bench_node *nodes;	/* LIST_PREFILL per shard, 1 per thread */
	unsigned int nr_nodes;
	struct percpu_stack *stack;
} target;

/* Shard s's copy of the word whose shard-0 address is p (percpu/memory.h). */
static intptr_t *shard_word(intptr_t *p, int s)
{
	return (intptr_t *)((char *)p + (size_t)s * PERCPU_STRIDE);
}

/* ---- adapters: one word ---- */

void reset_words(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++) {
		*shard_word(target.counter, s) = 0;
		*shard_word(target.second, s) = 0;
		shard_word(target.copy, s)[0] = 0;
		shard_word(target.copy, s)[1] = 0;
		*shard_word(target.lock, s) = 0;
	}
}

uint64_t sum_counter(void)
{
	intptr_t sum = 0;

	for (int s = 0; s < percpu_nr_shards(); s++)
		sum += *shard_word(target.counter, s);
	return (uint64_t)sum;
}

TIMED_LOOP loop_percpu_add(void)
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
PLACED(loop_percpu_add);

/* fetch_add: a shard incremented n times returned 0, 1, ..., n - 1 once
 * each, so the values returned add up to the sum of n(n - 1)/2. */
TIMED_LOOP loop_fetch_add(void)
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
PLACED(loop_fetch_add);

uint64_t check_fetch_add(void)
{
	intptr_t want = 0, got = 0;

	for (int s = 0; s < percpu_nr_shards(); s++) {
		intptr_t n = *shard_word(target.counter, s);

		want += n * (n - 1) / 2;
	}
	for (unsigned int t = 0; t < run.nr_threads; t++)
		got += run.threads[t].value;
	if (got != want)
		die("fetch_add: the values returned add up to %ld, not %ld",
		    (long)got, (long)want);
	return sum_counter();
}

/* load: every shard holds 1, so the values loaded add up to the loads. */
void reset_ones(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		*shard_word(target.counter, s) = 1;
}

TIMED_LOOP loop_load(void)
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
PLACED(loop_load);

/* shard_id: counts the ids in range. */
TIMED_LOOP loop_shard_id(void)
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
PLACED(loop_shard_id);

static void fence_nothing(void *arg, int shard)
{
	(void)arg;
	(void)shard;
}

/*
 * fence_remote: one percpu_remote() with nothing to do, on each shard in
 * turn: the cost of holding a shard and fencing its CPU. Counts successes.
 */
TIMED_LOOP loop_fence_remote(void)
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
PLACED(loop_fence_remote);

/* store: thread t stores (t + 1) << STORE_TAG_SHIFT | its op number. */
TIMED_LOOP loop_store(void)
{
	struct thread_state *me = take_thread_state();
	intptr_t tag = (intptr_t)(me - run.threads + 1) << STORE_TAG_SHIFT;
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
PLACED(loop_store);

/* A shard holds 0 or a value a thread stored; where a thread stored last,
 * a value of that thread must be its last one. */
static void check_store_word(intptr_t w)
{
	uint64_t t = (uint64_t)w >> STORE_TAG_SHIFT;
	uint64_t seq = (uint64_t)w & (((uint64_t)1 << STORE_TAG_SHIFT) - 1);

	if (w && (t < 1 || t > run.nr_threads || seq < 1 ||
		  seq > run.threads[t - 1].count))
		die("store: a shard holds %#lx, which no thread stored",
		    (unsigned long)w);
}

uint64_t check_store(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		check_store_word(*shard_word(target.counter, s));
	for (unsigned int t = 0; t < run.nr_threads; t++) {
		const struct thread_state *ts = &run.threads[t];
		intptr_t w = *shard_word(target.counter, ts->shard);

		if ((uint64_t)w >> STORE_TAG_SHIFT == t + 1 && w != ts->value)
			die("store: thread %u's last store is lost", t);
	}
	return total_counted();
}

/* xchg: tokens 1..shards+threads, one per shard and one per thread, move
 * around; afterwards each must be somewhere exactly once. */
void reset_tokens(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		*shard_word(target.counter, s) = s + 1;
}

TIMED_LOOP loop_xchg(void)
{
	struct thread_state *me = take_thread_state();
	intptr_t token = percpu_nr_shards() + (me - run.threads) + 1;
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
PLACED(loop_xchg);

static void see_token(unsigned char *seen, size_t n, intptr_t token)
{
	if (token < 1 || (size_t)token > n || seen[token - 1]++)
		die("xchg: token %ld lost or duplicated", (long)token);
}

uint64_t check_tokens(void)
{
	size_t n = (size_t)percpu_nr_shards() + run.nr_threads;
	unsigned char *seen = calloc(n, 1);

	if (!seen)
		die("out of memory");
	for (int s = 0; s < percpu_nr_shards(); s++)
		see_token(seen, n, *shard_word(target.counter, s));
	for (unsigned int t = 0; t < run.nr_threads; t++)
		see_token(seen, n, run.threads[t].value);
	free(seen);
	return total_counted();
}

/* cas: load, then compare-and-store the next value, until it commits. */
ALWAYS_INLINE void cas_increment(intptr_t *p)
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

TIMED_LOOP loop_cas(void)
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
PLACED(loop_cas);

/* lock: the counter is incremented without an atomic under the lock, so
 * a lock that let two threads in would lose increments. */
ALWAYS_INLINE void locked_increment(intptr_t *lock, intptr_t *p)
{
	int shard = percpu_lock(lock);

	(*shard_word(p, shard))++;
	if (PERCPU_UNLIKELY(percpu_unlock(lock, shard)))
		die("percpu_unlock: %s", strerror(errno));
}

TIMED_LOOP loop_lock(void)
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
PLACED(loop_lock);

/* ---- adapters: several words (percpu/multi.h) ---- */

static void die_if_error(const char *what, int r)
{
	if (r < 0)
		die("%s: %s", what, strerror(errno));
}

/* cmp2_store: the second word stays 0, so the second compare holds. */
ALWAYS_INLINE void cmp2_increment(intptr_t *p, intptr_t *q)
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

TIMED_LOOP loop_cmp2_store(void)
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
PLACED(loop_cmp2_store);

uint64_t check_cmp2(void)
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

ALWAYS_INLINE void store2_increment(intptr_t *p, intptr_t *q)
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

TIMED_LOOP loop_cas_store2(void)
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
PLACED(loop_cas_store2);

uint64_t check_store2(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		check_beside("cas_store2", s, *shard_word(target.second, s));
	return sum_counter();
}

/* memcpy_store: 16 bytes, the new count twice, into the shard's copy. */
ALWAYS_INLINE void memcpy_increment(intptr_t *p, intptr_t *dst)
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

TIMED_LOOP loop_memcpy_store(void)
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
PLACED(loop_memcpy_store);

uint64_t check_memcpy(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++) {
		check_beside("memcpy_store", s, shard_word(target.copy, s)[0]);
		check_beside("memcpy_store", s, shard_word(target.copy, s)[1]);
	}
	return sum_counter();
}

/* ---- adapters: list and stack ---- */

/* Each shard's list starts with LIST_PREFILL nodes of its own. */
void reset_list(void)
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
TIMED_LOOP loop_list(void)
{
	struct thread_state *me = take_thread_state();
	struct percpu_list *l = target.list;
	struct percpu_list_node *n = &target.nodes[nodes_in_play() - 1 -
						   (me - run.threads)].link;
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
PLACED(loop_list);

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
		const struct percpu_list_node *n = run.threads[t].node;

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
uint64_t check_list(void)
{
	uint64_t ops = total_counted(), empty = 0;

	check_nodes();
	for (unsigned int t = 0; t < run.nr_threads; t++)
		empty += run.threads[t].empty;
	run.empty = ops ? (double)empty / (double)ops : 0;
	return ops;
}

void reset_stack(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		((struct percpu_stack *)percpu_ptr(target.stack, s))->count = 0;
}

/* Thread t holds pointers t * STACK_BATCH + 1 and on (never dereferenced);
 * it pushes what it holds, then pops up to STACK_BATCH: one pair. */
static void hand_out_items(struct thread_state *me)
{
	uintptr_t first = (uintptr_t)(me - run.threads) * STACK_BATCH + 1;

	for (unsigned int i = 0; i < STACK_BATCH; i++)
		me->items[i] = (void *)(first + i);
	me->nr_items = STACK_BATCH;
}

TIMED_LOOP loop_stack(void)
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
PLACED(loop_stack);

/*
 * stack_pushpop1: one pointer per push and per pop, an allocator's per-CPU
 * cache at work. A thread cycles the last of its pointers; a pop that
 * found its shard's stack empty (the thread moved between push and pop)
 * leaves it without one, and its next pair pops only: counted as empty.
 */
TIMED_LOOP loop_stack1(void)
{
	struct thread_state *me = take_thread_state();
	struct percpu_stack *st = target.stack;
	uint64_t ops = 0, empty = 0;
	void *item;

	hand_out_items(me);
	item = me->items[STACK_BATCH - 1];
	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			if (PERCPU_UNLIKELY(item == NULL))
				empty++;
			else if (PERCPU_UNLIKELY(percpu_stack_push(st, &item, 1,
								   NULL) != 1))
				die("stack_pushpop1: a push did not fit");
			if (PERCPU_UNLIKELY(!percpu_stack_pop(st, &item, 1,
							      NULL)))
				item = NULL;
		}
		ops += BATCH;
	}
	me->items[STACK_BATCH - 1] = item;
	me->nr_items = STACK_BATCH - (item == NULL);
	me->count = ops;
	me->empty = empty;
	return ops;
}
PLACED(loop_stack1);

static void see_item(unsigned char *seen, size_t n, void *item)
{
	uintptr_t v = (uintptr_t)item;

	if (v < 1 || v > n || seen[v - 1]++)
		die("stack_pushpop: pointer %#lx lost or duplicated",
		    (unsigned long)v);
}

/* Every pointer handed out in exactly one place: a stack or a thread.
 * The share of empty pairs (stack_pushpop1) is reported with the figure. */
uint64_t check_stack(void)
{
	size_t n = (size_t)run.nr_threads * STACK_BATCH, found = 0;
	unsigned char *seen = calloc(n, 1);
	uint64_t ops = total_counted(), empty = 0;

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
		for (unsigned int i = 0; i < run.threads[t].nr_items;
		     i++, found++)
			see_item(seen, n, run.threads[t].items[i]);
	free(seen);
	if (found != n)
		die("stack_pushpop: %zu of %zu pointers found", found, n);
	for (unsigned int t = 0; t < run.nr_threads; t++)
		empty += run.threads[t].empty;
	run.empty = ops ? (double)empty / (double)ops : 0;
	return ops;
}

static void setup_list(size_t most_threads)
{
	target.list = percpu_alloc(sizeof(struct percpu_list));
	target.nr_nodes = (unsigned int)percpu_nr_shards() * LIST_PREFILL +
			  (unsigned int)most_threads;
	target.nodes = aligned_alloc(CACHE_LINE,
				     target.nr_nodes * sizeof(*target.nodes));
	if (!target.list || !target.nodes)
		die("out of memory");
}

/* Room on one shard for every pointer of the most threads a run has. */
void setup_library(size_t most_threads)
{
	target.counter = percpu_alloc(sizeof(intptr_t));
	target.second = percpu_alloc(sizeof(intptr_t));
	target.copy = percpu_alloc(2 * sizeof(intptr_t));
	target.lock = percpu_alloc(sizeof(intptr_t));
	target.stack = percpu_stack_alloc(most_threads * STACK_BATCH);
	if (!target.counter || !target.second || !target.copy ||
	    !target.lock || !target.stack)
		die("out of memory");
	setup_list(most_threads);
}
