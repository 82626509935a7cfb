// SPDX-License-Identifier: MIT
/*
 * tests/param/structures.c: the six tests of tests/param, each a setup that
 * spreads the objects evenly over the shards, an operation that the threads
 * repeat with disturbances in the middle, and an exact check afterwards:
 * every object in some shard exactly once, or the counters' sums right.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include "../tap.h"
#include "param.h"

#define PER_SHARD 100		/* objects in each shard at the start */
#define MAX_BATCH 8		/* pointers moved by one stack operation */
#define ITEM_MAGIC ((intptr_t)0x5a5a5a5a5a5a5a5aLL)

/* A two-word item of the memcpy buffer: a torn copy breaks `check`. */
struct item {
	intptr_t id;
	intptr_t check;
};

struct item_buffer {
	intptr_t count;
	intptr_t pad;			/* keeps the items 16-aligned */
	struct item item[];
};

/* Per-CPU objects of the tests, and the objects they move around. */
static struct {
	intptr_t *lock, *locked;
	intptr_t *added, *fetched;
	struct percpu_list *list;
	struct percpu_stack *buffer;	/* its layout, not its functions */
	struct item_buffer *items;
	struct percpu_stack *stack;
	struct percpu_list_node *objects;
	size_t per_shard, nr_objects;	/* nr_objects is also each capacity */
} g;

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static int roll(struct worker_ctx *w, unsigned int pct)
{
	return pct && next_random(&w->rng) % 100 < pct;
}

static void sleep_1ms(void)
{
	struct timespec ts = { 0, 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Called where a thread is between two steps that must agree: another
 * thread gets this CPU, or a handler runs, or the thread sleeps.
 */
static void disturb(struct worker_ctx *w)
{
	if (roll(w, opt.yield_pct))
		sched_yield();
	if (roll(w, opt.signal_pct)) {
		w->raised++;
		raise(SIGUSR1);
	}
	if (roll(w, opt.sleep_pct))
		sleep_1ms();
}

static void check_shard(struct worker_ctx *w, int shard)
{
	if (shard < 0 || shard >= nr_shards)
		w->errors++;
}

/* Counts a failed compare; returns 0 if the operation should give up. */
static int retry(struct worker_ctx *w, int r)
{
	if (r == PERCPU_CHANGED)
		w->changed++;
	else if (r == PERCPU_MOVED)
		w->moved++;
	else
		w->errors++;
	return r == PERCPU_CHANGED || r == PERCPU_MOVED;
}

/* ---- spinlock ---- */

static void spinlock_op(struct worker_ctx *w, unsigned long i)
{
	int shard = percpu_lock(g.lock);
	volatile intptr_t *count = percpu_ptr(g.locked, shard);
	intptr_t v;

	(void)i;
	if (!count) {
		w->errors++;
		return;
	}
	v = *count;
	disturb(w);
	*count = v + 1;
	if (percpu_unlock(g.lock, shard))
		w->errors++;
}

/* ---- list ---- */

static void list_op(struct worker_ctx *w, unsigned long i)
{
	int shard;
	struct percpu_list_node *node = percpu_list_pop(g.list, &shard);

	(void)i;
	check_shard(w, shard);
	if (!node)
		return;
	disturb(w);
	check_shard(w, percpu_list_push(g.list, node));
}

/* ---- buffer ---- */

/* The top slot is compared too: it may have been popped and refilled. */
static intptr_t buffer_pop(struct worker_ctx *w)
{
	for (int first = 1;; first = 0) {
		int shard;
		intptr_t n = percpu_load(&g.buffer->count, &shard);
		struct percpu_stack *mine = percpu_ptr(g.buffer, shard);
		intptr_t top;
		int r;

		if (n <= 0 || (size_t)n > g.nr_objects || !mine)
			return 0;
		top = __atomic_load_n((intptr_t *)&mine->slot[n - 1],
				      __ATOMIC_RELAXED);
		if (first)
			disturb(w);
		r = percpu_cmp2_store(&g.buffer->count, shard, n,
				      (intptr_t *)&g.buffer->slot[n - 1], top,
				      n - 1);
		if (r == PERCPU_OK)
			return top;
		if (!retry(w, r))
			return 0;
	}
}

/* A full shard would be a bug: every shard can hold every object. */
static void buffer_push(struct worker_ctx *w, intptr_t ptr)
{
	for (int first = 1;; first = 0) {
		int shard;
		intptr_t n = percpu_load(&g.buffer->count, &shard);
		int r;

		if (n < 0 || (size_t)n >= g.nr_objects) {
			w->errors++;
			return;
		}
		if (first)
			disturb(w);
		r = percpu_cas_store2_release(&g.buffer->count, shard, n, n + 1,
					      (intptr_t *)&g.buffer->slot[n],
					      ptr);
		if (r == PERCPU_OK || !retry(w, r))
			return;
	}
}

static void buffer_op(struct worker_ctx *w, unsigned long i)
{
	intptr_t ptr = buffer_pop(w);

	(void)i;
	if (ptr)
		buffer_push(w, ptr);
}

/* ---- memcpy ---- */

static int items_pop(struct worker_ctx *w, struct item *out)
{
	for (int first = 1;; first = 0) {
		int shard;
		intptr_t n = percpu_load(&g.items->count, &shard);
		struct item_buffer *mine = percpu_ptr(g.items, shard);
		int r;

		if (n <= 0 || (size_t)n > g.nr_objects || !mine)
			return 0;
		if (first)
			disturb(w);
		r = percpu_memcpy_store(&g.items->count, shard, n, n - 1, out,
					&mine->item[n - 1], sizeof(*out));
		if (r == PERCPU_OK)
			return 1;
		if (!retry(w, r))
			return 0;
	}
}

static void items_push(struct worker_ctx *w, const struct item *it)
{
	for (int first = 1;; first = 0) {
		int shard;
		intptr_t n = percpu_load(&g.items->count, &shard);
		struct item_buffer *mine = percpu_ptr(g.items, shard);
		int r;

		if (n < 0 || (size_t)n >= g.nr_objects || !mine) {
			w->errors++;
			return;
		}
		if (first)
			disturb(w);
		r = percpu_memcpy_store_release(&g.items->count, shard, n,
						n + 1, &mine->item[n], it,
						sizeof(*it));
		if (r == PERCPU_OK || !retry(w, r))
			return;
	}
}

static void memcpy_op(struct worker_ctx *w, unsigned long i)
{
	struct item it;

	(void)i;
	if (!items_pop(w, &it))
		return;
	if (it.check != (it.id ^ ITEM_MAGIC))
		w->errors++;
	items_push(w, &it);
}

/* ---- increment ---- */

static void record_fetch(struct worker_ctx *w, int shard, intptr_t old)
{
	check_shard(w, shard);
	if (shard < 0 || shard >= nr_shards)
		return;
	w->fetch_count[shard]++;
	w->fetch_sum[shard] += old;
}

/* Draining every fourth round makes xchg race with the adds. */
static void increment_op(struct worker_ctx *w, unsigned long i)
{
	int shard = -1;
	intptr_t old;

	check_shard(w, percpu_add(g.added, 1));
	disturb(w);
	old = percpu_fetch_add(g.fetched, 1, &shard);
	record_fetch(w, shard, old);
	if (i % 4 == 3) {
		w->drained += percpu_xchg(g.added, 0, &shard);
		check_shard(w, shard);
	}
}

/* ---- stack ---- */

static void stack_op(struct worker_ctx *w, unsigned long i)
{
	void *batch[MAX_BATCH];
	size_t want = 1 + next_random(&w->rng) % MAX_BATCH, done = 0, got;
	int shard = -1;

	(void)i;
	got = percpu_stack_pop(g.stack, batch, want, &shard);
	check_shard(w, shard);
	if (got > want) {
		w->errors++;
		return;
	}
	disturb(w);
	while (done < got)
		done += percpu_stack_push(g.stack, batch + done, got - done,
					  NULL);
}

/* ---- setup: objects spread evenly over the shards ---- */

/* Every shard must have room for every object: 16-byte items bound it. */
void size_objects(void)
{
	size_t most = (PERCPU_ALLOC_MAX - sizeof(struct item_buffer)) /
		      sizeof(struct item) / (size_t)nr_shards;

	g.per_shard = most < PER_SHARD ? most : PER_SHARD;
	g.nr_objects = g.per_shard * (size_t)nr_shards;
	g.objects = must(calloc(g.nr_objects, sizeof(*g.objects)), "calloc");
}

static struct percpu_list_node *object(int shard, size_t k)
{
	return &g.objects[(size_t)shard * g.per_shard + k];
}

intptr_t *alloc_words(size_t n)
{
	return must(percpu_alloc(n * sizeof(intptr_t)), "percpu_alloc");
}

static void spinlock_setup(void)
{
	g.lock = alloc_words(1);
	g.locked = alloc_words(1);
}

static void increment_setup(void)
{
	g.added = alloc_words(1);
	g.fetched = alloc_words(1);
	for (int i = 0; i < opt.threads; i++) {
		workers[i].fetch_count = must(calloc((size_t)nr_shards,
						     sizeof(intptr_t)), "calloc");
		workers[i].fetch_sum = must(calloc((size_t)nr_shards,
						   sizeof(intptr_t)), "calloc");
	}
}

static void list_setup(void)
{
	g.list = must(percpu_alloc(sizeof(*g.list)), "percpu_alloc");
	for (int s = 0; s < nr_shards; s++) {
		struct percpu_list *mine = percpu_ptr(g.list, s);

		for (size_t k = 0; k < g.per_shard; k++) {
			object(s, k)->next = mine->head;
			mine->head = object(s, k);
		}
	}
}

static struct percpu_stack *filled_stack(void)
{
	struct percpu_stack *stack = must(percpu_stack_alloc(g.nr_objects),
					  "percpu_stack_alloc");

	for (int s = 0; s < nr_shards; s++) {
		struct percpu_stack *mine = percpu_ptr(stack, s);

		for (size_t k = 0; k < g.per_shard; k++)
			mine->slot[k] = object(s, k);
		mine->count = (intptr_t)g.per_shard;
	}
	return stack;
}

static void buffer_setup(void)
{
	g.buffer = filled_stack();
}

static void memcpy_setup(void)
{
	g.items = must(percpu_alloc(sizeof(struct item_buffer) +
				    g.nr_objects * sizeof(struct item)),
		       "percpu_alloc");
	for (int s = 0; s < nr_shards; s++) {
		struct item_buffer *mine = percpu_ptr(g.items, s);

		for (size_t k = 0; k < g.per_shard; k++) {
			intptr_t id = (intptr_t)(object(s, k) - g.objects);

			mine->item[k] = (struct item){ id, id ^ ITEM_MAGIC };
		}
		mine->count = (intptr_t)g.per_shard;
	}
}

static void stack_setup(void)
{
	g.stack = filled_stack();
}

/* ---- checks ---- */

/* How many times each object was seen, over every shard. */
struct census {
	unsigned int *seen;
	unsigned long unknown;
};

static struct census census_start(void)
{
	struct census c = { must(calloc(g.nr_objects, sizeof(unsigned int)),
				 "calloc"), 0 };

	return c;
}

/* Returns 0, counting it, if no object has index k. */
static int census_add(struct census *c, uintptr_t k)
{
	if (k >= g.nr_objects) {
		c->unknown++;
		return 0;
	}
	c->seen[k]++;
	return 1;
}

static int census_add_ptr(struct census *c, const void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)g.objects;

	if (off % sizeof(*g.objects))
		return census_add(c, UINTPTR_MAX);
	return census_add(c, off / sizeof(*g.objects));
}

static void census_report(struct census *c, const char *what)
{
	unsigned long missing = 0, twice = 0;

	for (size_t k = 0; k < g.nr_objects; k++) {
		missing += c->seen[k] == 0;
		twice += c->seen[k] > 1;
	}
	ok(!missing && !twice && !c->unknown,
	   "%s: each of %zu objects present once (%lu missing, %lu more "
	   "than once, %lu unknown)", what, g.nr_objects, missing, twice,
	   c->unknown);
	free(c->seen);
}

/* A count outside [0, capacity] is reported, and its slots not read. */
static size_t shard_count(struct census *c, intptr_t count)
{
	if (count >= 0 && (size_t)count <= g.nr_objects)
		return (size_t)count;
	c->unknown++;
	return 0;
}

static intptr_t total_reps(void)
{
	return (intptr_t)opt.threads * (intptr_t)opt.reps;
}

static void check_sum(intptr_t sum, intptr_t want, const char *what)
{
	ok(sum == want, "%s: sum %ld, %ld expected", what, (long)sum,
	   (long)want);
}

static void spinlock_check(void)
{
	check_sum(test_sum(g.locked), total_reps(),
		  "plain increments under percpu_lock");
	test_all_unlocked(g.lock);
}

/* A cycle would repeat objects, so a walk stops after nr_objects steps. */
static void list_check(void)
{
	struct census c = census_start();

	for (int s = 0; s < nr_shards; s++) {
		struct percpu_list *mine = percpu_ptr(g.list, s);
		struct percpu_list_node *n = mine->head;

		for (size_t steps = 0; n && steps <= g.nr_objects; steps++) {
			if (!census_add_ptr(&c, n))
				break;
			n = n->next;
		}
	}
	census_report(&c, "list");
}

static void stack_census(struct percpu_stack *stack, const char *what)
{
	struct census c = census_start();

	for (int s = 0; s < nr_shards; s++) {
		struct percpu_stack *mine = percpu_ptr(stack, s);
		size_t n = shard_count(&c, mine->count);

		for (size_t k = 0; k < n; k++)
			census_add_ptr(&c, mine->slot[k]);
	}
	census_report(&c, what);
}

static void buffer_check(void)
{
	stack_census(g.buffer, "pointer buffer");
}

static void memcpy_check(void)
{
	struct census c = census_start();

	for (int s = 0; s < nr_shards; s++) {
		struct item_buffer *mine = percpu_ptr(g.items, s);
		size_t n = shard_count(&c, mine->count);

		for (size_t k = 0; k < n; k++) {
			const struct item *it = &mine->item[k];

			if (it->check != (it->id ^ ITEM_MAGIC))
				c.unknown++;
			else
				census_add(&c, (uintptr_t)it->id);
		}
	}
	census_report(&c, "memcpy buffer");
}

static void stack_check(void)
{
	stack_census(g.stack, "stack");
}

/*
 * Each shard's fetch_adds returned 0, 1, ..., final - 1 once each: the
 * count and the sum of the values returned must both match.
 */
static void fetch_add_check(void)
{
	unsigned long bad = 0;

	for (int s = 0; s < nr_shards; s++) {
		intptr_t final = *(intptr_t *)percpu_ptr(g.fetched, s);
		intptr_t count = 0, sum = 0;

		for (int i = 0; i < opt.threads; i++) {
			count += workers[i].fetch_count[s];
			sum += workers[i].fetch_sum[s];
		}
		bad += count != final || sum != final * (final - 1) / 2;
	}
	ok(bad == 0, "percpu_fetch_add returned each shard's values once "
	   "each (%lu shards wrong)", bad);
}

static void increment_check(void)
{
	intptr_t drained = 0;

	for (int i = 0; i < opt.threads; i++)
		drained += workers[i].drained;
	check_sum(test_sum(g.added) + drained, total_reps(),
		  "percpu_add, with what percpu_xchg took");
	check_sum(test_sum(g.fetched), total_reps(), "percpu_fetch_add");
	fetch_add_check();
}

const struct test tests[] = {
	{ "spinlock", spinlock_setup, spinlock_op, spinlock_check },
	{ "list", list_setup, list_op, list_check },
	{ "buffer", buffer_setup, buffer_op, buffer_check },
	{ "memcpy", memcpy_setup, memcpy_op, memcpy_check },
	{ "increment", increment_setup, increment_op, increment_check },
	{ "stack", stack_setup, stack_op, stack_check },
};
const size_t nr_tests = sizeof(tests) / sizeof(tests[0]);
