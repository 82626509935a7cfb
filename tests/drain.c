// SPDX-License-Identifier: MIT
/*
 * tests/drain.c: remote work on shards while their owners run.
 *
 * Drain: workers move items between a per-CPU list and a per-CPU stack
 * (pop from one, push on the other) while a drainer empties one shard
 * after another with percpu_list_drain() and percpu_stack_drain() and
 * pushes what it took back on its own shard. Few items, so drains come
 * often and find the structures busy; delays injected inside the sections
 * keep operations in flight when a shard is taken. Every item carries a
 * `held` flag that whoever takes it (a pop, a drain) sets and whoever puts
 * it back clears: two takers of one item, a lost item or a torn list show
 * at once or in the final count, where every item must be found exactly
 * once.
 *
 * Read and reset: workers add while a resetter calls percpu_remote_xchg()
 * with 0 on every shard in turn; what the resets returned plus what is
 * left must be every add, exactly.
 *
 * usage: drain [--no-membarrier]   (assert the fence runs without it)
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include "tap.h"

#define WORKERS 3
#define NR_ITEMS 64
#define STACK_CAPACITY 16
#define BATCH 4
#define RUN_NS 800000000L
#define GRACE_NS 10000000000L
#define DELAY 100

struct item {
	struct percpu_list_node node;	/* first: a node is its item */
	int held;
};

static struct item items[NR_ITEMS];
static struct percpu_list *list;
static struct percpu_stack *stack;
static intptr_t *counter;
static int stop, nr;
static unsigned long errors, drained;

static int stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_ACQUIRE);
}

static void error(void)
{
	__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
}

static void take(struct item *it)
{
	if (__atomic_exchange_n(&it->held, 1, __ATOMIC_ACQUIRE))
		error();
}

static void put_on_list(struct item *it)
{
	__atomic_store_n(&it->held, 0, __ATOMIC_RELEASE);
	percpu_list_push(list, &it->node);
}

/*
 * Released before the push, which publishes them; those a full stack did
 * not take are still ours, and go on the list.
 */
static void put_on_stack(void **its, size_t n)
{
	size_t k;

	for (size_t i = 0; i < n; i++)
		__atomic_store_n(&((struct item *)its[i])->held, 0,
				 __ATOMIC_RELEASE);
	k = percpu_stack_push(stack, its, n, NULL);
	for (size_t i = k; i < n; i++)
		percpu_list_push(list, &((struct item *)its[i])->node);
}

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static void list_to_stack(void)
{
	void *got[BATCH];
	struct percpu_list_node *n;
	size_t k = 0;

	while (k < BATCH && (n = percpu_list_pop(list, NULL))) {
		take((struct item *)n);
		got[k++] = n;
	}
	put_on_stack(got, k);
}

static void stack_to_list(void)
{
	void *out[BATCH];
	size_t k = percpu_stack_pop(stack, out, BATCH, NULL);

	for (size_t i = 0; i < k; i++)
		take(out[i]);
	for (size_t i = 0; i < k; i++)
		put_on_list(out[i]);
}

static void *mover(void *arg)
{
	uint64_t rng = (uint64_t)(intptr_t)arg * 0x9e3779b97f4a7c15ull + 1;

	test_thread_setup((int)(intptr_t)arg);
	while (!stopped()) {
		if (next_random(&rng) & 1)
			list_to_stack();
		else
			stack_to_list();
	}
	return NULL;
}

/*
 * Take a drained chain's items into got[]; returns how many. A chain longer
 * than every item has a cycle: stop there.
 */
static size_t take_chain(struct percpu_list_node *n, void **got)
{
	size_t k = 0;

	for (; n; n = n->next) {
		if (k == NR_ITEMS) {
			error();
			break;
		}
		take((struct item *)n);
		got[k++] = n;
	}
	return k;
}

/*
 * What a drain took is all held before any of it goes back, on the
 * drainer's own shard (a list's items on the stack, a stack's on the
 * list): an item also popped by a worker, or still linked from the
 * drained list, meets a taker that holds it.
 */
static void drain_list(int s)
{
	void *got[NR_ITEMS];
	size_t k = take_chain(percpu_list_drain(list, s), got);

	put_on_stack(got, k);
	__atomic_store_n(&drained, drained + k, __ATOMIC_RELAXED);
}

static void drain_stack(int s)
{
	void *out[STACK_CAPACITY];
	size_t k = percpu_stack_drain(stack, s, out, STACK_CAPACITY);

	for (size_t i = 0; i < k; i++)
		take(out[i]);
	for (size_t i = 0; i < k; i++)
		put_on_list(out[i]);
	__atomic_store_n(&drained, drained + k, __ATOMIC_RELAXED);
}

/*
 * Every shard's list, then every shard's stack: a drain never follows one
 * of the same shard, whose fence would have just sent that shard's workers
 * off their sections.
 */
static void *drainer(void *arg)
{
	(void)arg;
	test_thread_setup(WORKERS);
	for (unsigned long i = 0; !stopped(); i++) {
		int s = (int)(i % (unsigned long)nr);

		if ((i / (unsigned long)nr) % 2)
			drain_stack(s);
		else
			drain_list(s);
	}
	return NULL;
}

static void set_delays(unsigned int loops)
{
	for (int i = 0; i < PERCPU_INJECT_POINTS; i++)
		percpu_inject.delay[i] = loops;
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/*
 * Start the workers and the helper, let them run, stop them all. A loaded
 * machine can starve the helper for the whole run (a drain without
 * membarrier moves the drainer to each CPU in turn): while *progress is
 * still 0 the run goes on, up to GRACE_NS more.
 */
static void run_threads(void *(*work)(void *), void *(*helper)(void *),
			const unsigned long *progress)
{
	pthread_t t[WORKERS + 1];
	struct timespec pause = { 0, 10000000 };
	long end = now_ns() + RUN_NS;

	set_delays(DELAY);
	__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
	for (intptr_t i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	pthread_create(&t[WORKERS], NULL, helper, NULL);
	while (now_ns() < end ||
	       (now_ns() < end + GRACE_NS &&
		!__atomic_load_n(progress, __ATOMIC_RELAXED)))
		nanosleep(&pause, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i <= WORKERS; i++)
		pthread_join(t[i], NULL);
	set_delays(0);
}

/* Marks each item found on shard s's list and stack; returns how many. */
static int collect_shard(int s, int seen[NR_ITEMS])
{
	struct percpu_list_node *n = percpu_list_drain(list, s);
	void *out[STACK_CAPACITY];
	size_t k = percpu_stack_drain(stack, s, out, STACK_CAPACITY);
	int found = 0;

	for (; n && found <= NR_ITEMS; n = n->next, found++)
		seen[(struct item *)n - items]++;
	for (size_t i = 0; i < k; i++, found++)
		seen[(struct item *)out[i] - items]++;
	return found;
}

static void test_drain(void)
{
	int seen[NR_ITEMS] = { 0 }, found = 0, once = 1, empty = 1;

	for (int i = 0; i < NR_ITEMS; i++)
		put_on_list(&items[i]);
	run_threads(mover, drainer, &drained);
	test_shards_free();
	for (int s = 0; s < nr; s++)
		found += collect_shard(s, seen);
	for (int i = 0; i < NR_ITEMS; i++)
		once &= seen[i] == 1;
	for (int s = 0; s < nr; s++)
		empty &= !((struct percpu_list *)percpu_ptr(list, s))->head &&
			 !((struct percpu_stack *)percpu_ptr(stack, s))->count;
	ok(errors == 0, "no item taken twice, no drained chain cyclic (%lu)",
	   errors);
	ok(drained > 0, "the drainer took %lu items", drained);
	ok(found == NR_ITEMS && once, "every item found exactly once at the end"
	   " (%d found)", found);
	ok(empty, "a drained shard is empty");
}

static unsigned long added[WORKERS];
static intptr_t reset_total;
static unsigned long reset_errors, resets;

static void *adder(void *arg)
{
	int i = (int)(intptr_t)arg;

	test_thread_setup(i);
	for (intptr_t v = 1; !stopped(); v = v % 3 + 1) {
		percpu_add(counter, v);
		added[i] += (unsigned long)v;
	}
	return NULL;
}

static void *resetter(void *arg)
{
	(void)arg;
	test_thread_setup(WORKERS);
	for (int s = 0; !stopped(); s = (s + 1) % nr) {
		intptr_t v;

		errno = 0;
		v = percpu_remote_xchg(counter, s, 0);
		if (v == 0 && errno)
			reset_errors++;
		reset_total += v;
		__atomic_store_n(&resets, resets + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_read_and_reset(void)
{
	unsigned long total = 0;

	run_threads(adder, resetter, &resets);
	test_shards_free();
	for (int i = 0; i < WORKERS; i++)
		total += added[i];
	ok(reset_errors == 0, "percpu_remote_xchg never failed");
	ok(reset_total + test_sum(counter) == (intptr_t)total,
	   "resets %ld + left %ld == adds %lu", (long)reset_total,
	   (long)test_sum(counter), total);
}

static void test_errors(void)
{
	void *out[1];

	errno = 0;
	ok(!percpu_list_drain(list, nr) && errno == EINVAL,
	   "list_drain of a shard out of range: NULL, EINVAL");
	errno = 0;
	ok(percpu_stack_drain(stack, -1, out, 1) == 0 && errno == EINVAL,
	   "stack_drain of shard -1: 0, EINVAL");
	errno = 0;
	ok(percpu_remote_xchg(counter, nr, 0) == 0 && errno == EINVAL,
	   "remote_xchg of a shard out of range: 0, EINVAL");
}

/* Under a filter that refuses membarrier, the fence must do without. */
static void check_fence(int argc, char **argv)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	if (argc < 2 || strcmp(argv[1], "--no-membarrier"))
		return;
	percpu_runtime_info_get(&info);
	ok(info.membarrier_rseq == 0, "membarrier_rseq is 0: the fence runs "
	   "on each CPU instead");
}

int main(int argc, char **argv)
{
	nr = percpu_nr_shards();
	tap_check_mode();
	check_fence(argc, argv);
	list = percpu_alloc(sizeof(*list));
	stack = percpu_stack_alloc(STACK_CAPACITY);
	counter = percpu_alloc(sizeof(*counter));
	ok(list && stack && counter, "allocated");
	test_errors();
	test_drain();
	test_read_and_reset();
	return tap_done();
}
