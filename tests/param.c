// SPDX-License-Identifier: MIT
/*
 * tests/param.c: one data structure under one kind of disturbance, checked
 * exactly afterwards, after the method of the kernel's rseq param_test.
 * Many threads (6 x online CPUs) run one test; delays injected at one point
 * of every critical section widen the window in which the kernel must
 * restart it, and yields, signals or sleeps in the middle of an operation
 * (between a load and its commit, or while holding a popped object or a
 * lock) make threads move and other threads change what they read.
 *
 * Tests, each ending with an exact check once every thread has stopped:
 *   spinlock   plain increments of a per-shard counter under percpu_lock
 *   list       percpu_list pop then push, 100 nodes per shard
 *   buffer     a per-shard pointer array: push by percpu_cas_store2_release,
 *              pop by percpu_cmp2_store (count and top slot compared)
 *   memcpy     a per-shard array of two-word items: percpu_memcpy_store
 *   increment  percpu_add, percpu_fetch_add, and draining by percpu_xchg
 *   stack      percpu_stack batch pop then push
 * Object tests check that every object is in some shard exactly once; the
 * counters' tests check sums. A signal handler adds to its own counter.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define CACHE_LINE 64
#define PER_SHARD 100		/* objects in each shard at the start */
#define MAX_BATCH 8		/* pointers moved by one stack operation */
#define ITEM_MAGIC ((intptr_t)0x5a5a5a5a5a5a5a5aLL)

struct worker_ctx;

struct test {
	const char *name;
	void (*setup)(void);
	void (*op)(struct worker_ctx *, unsigned long);
	void (*check)(void);
};

static struct {
	const struct test *test;
	int threads;			/* 0: 6 x online CPUs */
	unsigned long reps;
	unsigned int delay[PERCPU_INJECT_POINTS];
	unsigned int yield_pct, signal_pct, sleep_pct;
	const char *mode;		/* NULL: PERCPU_TEST_MODE decides */
	unsigned int timeout;
	int verbose;
} opt = { .reps = 5000, .timeout = 120 };

struct worker_ctx {
	pthread_t tid;
	int index;
	enum percpu_mode mode;
	uint64_t rng;
	unsigned long errors;		/* a result the API does not allow */
	unsigned long changed, moved;	/* retries, by reason */
	unsigned long raised;
	long handled;
	intptr_t drained;		/* increment: taken by percpu_xchg */
	intptr_t *fetch_count;		/* increment, per shard: fetch_adds */
	intptr_t *fetch_sum;		/* and the sum of the values returned */
} __attribute__((aligned(CACHE_LINE)));

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
	intptr_t *in_handler;
	struct percpu_list *list;
	struct percpu_stack *buffer;	/* its layout, not its functions */
	struct item_buffer *items;
	struct percpu_stack *stack;
	struct percpu_list_node *objects;
	size_t per_shard, nr_objects;	/* nr_objects is also each capacity */
} g;

static struct worker_ctx *workers;
static int nr_shards;
static pthread_barrier_t started;
static __thread volatile long handled;

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

static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *must(void *p, const char *what)
{
	if (!p)
		bail(what);
	return p;
}

/* Every shard must have room for every object: 16-byte items bound it. */
static void size_objects(void)
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

static intptr_t *alloc_words(size_t n)
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

static const struct test tests[] = {
	{ "spinlock", spinlock_setup, spinlock_op, spinlock_check },
	{ "list", list_setup, list_op, list_check },
	{ "buffer", buffer_setup, buffer_op, buffer_check },
	{ "memcpy", memcpy_setup, memcpy_op, memcpy_check },
	{ "increment", increment_setup, increment_op, increment_check },
	{ "stack", stack_setup, stack_op, stack_check },
};
#define NR_TESTS (sizeof(tests) / sizeof(tests[0]))

/* ---- threads ---- */

/* errno is saved: the handler may run between a call and its errno check. */
static void on_sigusr1(int sig)
{
	int saved = errno;

	(void)sig;
	percpu_add(g.in_handler, 1);
	handled++;
	errno = saved;
}

/*
 * percpu_mode() registers the thread, so no operation in a handler is the
 * thread's first. All start together, to contend from the first round.
 */
static void *worker_main(void *arg)
{
	struct worker_ctx *w = arg;

	test_thread_setup(w->index);
	w->mode = percpu_mode(NULL);
	pthread_barrier_wait(&started);
	for (unsigned long i = 0; i < opt.reps; i++)
		opt.test->op(w, i);
	w->handled = handled;
	return NULL;
}

static void run(void)
{
	pthread_barrier_init(&started, NULL, (unsigned int)opt.threads);
	for (int i = 0; i < opt.threads; i++) {
		workers[i].index = i;
		workers[i].rng = 0x9e3779b97f4a7c15u * (uint64_t)(i + 1);
		errno = pthread_create(&workers[i].tid, NULL, worker_main,
				       &workers[i]);
		if (errno)
			bail("pthread_create");
	}
	for (int i = 0; i < opt.threads; i++)
		pthread_join(workers[i].tid, NULL);
}

static enum percpu_mode expected_mode(int index)
{
	if (test_mode() == TEST_LOCK)
		return PERCPU_MODE_LOCK;
	if (test_mode() == TEST_MIXED && index & 1)
		return PERCPU_MODE_LOCK;
	return PERCPU_MODE_RSEQ;
}

struct totals {
	unsigned long errors, changed, moved, raised, bad_modes;
	long handled;
};

static struct totals add_up(void)
{
	struct totals t = { 0, 0, 0, 0, 0, 0 };

	for (int i = 0; i < opt.threads; i++) {
		const struct worker_ctx *w = &workers[i];

		t.errors += w->errors;
		t.changed += w->changed;
		t.moved += w->moved;
		t.raised += w->raised;
		t.handled += w->handled;
		t.bad_modes += w->mode != expected_mode(i);
	}
	return t;
}

static void report(const struct totals *t)
{
	tap_diag("retries: %lu changed, %lu moved; %lu signals raised",
		 t->changed, t->moved, t->raised);
	tap_diag("slow path: %lu lock-path operations, %lu rseq aborts, %lu "
		 "in a shard their own thread held",
		 percpu_inject.lock_path_ops, percpu_inject.rseq_aborts,
		 percpu_inject.shard_nested);
}

/* Lock and mixed runs must really have taken the lock path. */
static void check(void)
{
	struct totals t = add_up();

	if (opt.verbose)
		report(&t);
	ok(t.bad_modes == 0, "every thread ran in the mode asked for");
	ok(t.errors == 0, "no result outside the API's promises (%lu)",
	   t.errors);
	opt.test->check();
	ok(test_sum(g.in_handler) == t.handled && t.handled == (long)t.raised,
	   "signal handlers: percpu_add sum %ld, %ld handled, %lu raised",
	   (long)test_sum(g.in_handler), t.handled, t.raised);
	if (test_mode() == TEST_LOCK ||
	    (test_mode() == TEST_MIXED && opt.threads > 1))
		ok(percpu_inject.lock_path_ops > 0,
		   "the lock path ran (%lu operations)",
		   percpu_inject.lock_path_ops);
}

/* ---- options ---- */

static void usage(FILE *f, int status)
{
	fprintf(f,
		"usage: param -T TEST [-t THREADS] [-r REPS] [-D POINTS -d LOOPS]...\n"
		"             [-y PCT] [-k PCT] [-s PCT] [-m MODE] [-w SECONDS] [-v]\n"
		"  -T  spinlock, list, buffer, memcpy, increment or stack\n"
		"  -t  threads (default 6 x online CPUs); -r  rounds each (5000)\n"
		"  -D  injection points, comma-separated: 0 to 5, or h (holding)\n"
		"  -d  spin this many loops at the points of the -D before it\n"
		"  -y, -k, -s  in PCT%% of operations, mid-way: yield, raise\n"
		"      SIGUSR1, sleep 1 ms\n"
		"  -m  rseq, lock or mixed (default: $PERCPU_TEST_MODE)\n"
		"  -w  abort after SECONDS (default 120, 0: never); -v  verbose\n");
	exit(status);
}

static unsigned long parse_number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max) {
		fprintf(stderr, "param: expected 0 to %lu, got '%s'\n", max, s);
		usage(stderr, 2);
	}
	return v;
}

/* "0,3,h": a mask of injection points. */
static unsigned int parse_points(const char *s)
{
	unsigned int mask = 0;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '5')
			mask |= 1u << (*s - '0');
		else if (*s == 'h')
			mask |= 1u << PERCPU_INJECT_HOLDING;
		else if (*s != ',')
			usage(stderr, 2);
	}
	return mask;
}

static void set_delays(unsigned int mask, unsigned int loops)
{
	for (unsigned int n = 0; n < PERCPU_INJECT_POINTS; n++)
		if (mask & (1u << n))
			opt.delay[n] = loops;
}

static const struct test *find_test(const char *name)
{
	for (size_t i = 0; i < NR_TESTS; i++)
		if (!strcmp(tests[i].name, name))
			return &tests[i];
	fprintf(stderr, "param: no test '%s'\n", name);
	usage(stderr, 2);
	return NULL;
}

static const char *check_mode_name(const char *m)
{
	if (strcmp(m, "rseq") && strcmp(m, "lock") && strcmp(m, "mixed"))
		usage(stderr, 2);
	return m;
}

/* Returns the mask of -D points still waiting for their -d. */
static unsigned int parse_one(int c, const char *arg, unsigned int points)
{
	switch (c) {
	case 'T': opt.test = find_test(arg); break;
	case 't': opt.threads = (int)parse_number(arg, 4096); break;
	case 'r': opt.reps = parse_number(arg, LONG_MAX / 4096); break;
	case 'D': return points | parse_points(arg);
	case 'd':
		set_delays(points, (unsigned int)parse_number(arg, UINT_MAX));
		return 0;
	case 'y': opt.yield_pct = (unsigned int)parse_number(arg, 100); break;
	case 'k': opt.signal_pct = (unsigned int)parse_number(arg, 100); break;
	case 's': opt.sleep_pct = (unsigned int)parse_number(arg, 100); break;
	case 'm': opt.mode = check_mode_name(arg); break;
	case 'w': opt.timeout = (unsigned int)parse_number(arg, 86400); break;
	case 'v': opt.verbose = 1; break;
	case 'h': usage(stdout, 0); break;
	default: usage(stderr, 2);
	}
	return points;
}

static void parse_options(int argc, char **argv)
{
	unsigned int points = 0;
	int c;

	while ((c = getopt(argc, argv, "T:t:r:D:d:y:k:s:m:w:vh")) != -1)
		points = parse_one(c, optarg, points);
	if (optind < argc || points || !opt.test || !opt.reps)
		usage(stderr, 2);
	if (!opt.threads)
		opt.threads = 6 * (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (opt.threads < 1)
		opt.threads = 1;
}

/* ---- mode, setup, main ---- */

static int env_is(const char *name, const char *value)
{
	const char *v = getenv(name);

	return value ? v && !strcmp(v, value) : !v;
}

/*
 * The library decides the process mode in a constructor, before main():
 * to change the environment it reads, the program runs itself again.
 */
static void enter_mode(char **argv)
{
	const char *disable = strcmp(opt.mode, "lock") ? NULL : "1";

	if (env_is("PERCPU_TEST_MODE", opt.mode) &&
	    env_is("PERCPU_DISABLE_RSEQ", disable))
		return;
	setenv("PERCPU_TEST_MODE", opt.mode, 1);
	if (disable)
		setenv("PERCPU_DISABLE_RSEQ", disable, 1);
	else
		unsetenv("PERCPU_DISABLE_RSEQ");
	execv("/proc/self/exe", argv);
	perror("param: execv /proc/self/exe");
	exit(2);
}

static void setup(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1,
				.sa_flags = SA_RESTART };
	size_t size = (size_t)opt.threads * sizeof(*workers);

	nr_shards = percpu_nr_shards();
	workers = must(aligned_alloc(CACHE_LINE, size), "aligned_alloc");
	memset(workers, 0, size);
	g.in_handler = alloc_words(1);
	size_objects();
	opt.test->setup();
	sigaction(SIGUSR1, &sa, NULL);
	alarm(opt.timeout);
}

static void describe(void)
{
	char delays[256] = "";
	size_t len = 0;

	for (unsigned int n = 0; n < PERCPU_INJECT_POINTS; n++)
		if (opt.delay[n] && len < sizeof(delays))
			len += (size_t)snprintf(delays + len,
						sizeof(delays) - len,
						"; %u loops at point %u",
						opt.delay[n], n);
	tap_diag("%s %s: %d threads x %lu rounds, %d shards%s; yield %u%%, "
		 "signal %u%%, sleep %u%%", opt.test->name, test_mode_name(),
		 opt.threads, opt.reps, nr_shards, delays, opt.yield_pct,
		 opt.signal_pct, opt.sleep_pct);
}

/* The delays start with the threads, so setup runs at full speed. */
static void inject_delays(void)
{
	for (unsigned int n = 0; n < PERCPU_INJECT_POINTS; n++)
		percpu_inject.delay[n] = opt.delay[n];
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	if (opt.mode)
		enter_mode(argv);
	tap_check_mode();
	setup();
	describe();
	inject_delays();
	run();
	check();
	return tap_done();
}
