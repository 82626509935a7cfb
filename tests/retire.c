// SPDX-License-Identifier: MIT
/*
 * tests/retire.c: retiring a per-CPU structure that workers update, in the
 * spirit of the kernel's rseq membarrier test (selftests/rseq param_test,
 * "membarrier"): a manager swaps the active structure, fences every shard,
 * and the retired structure must never change afterwards.
 *
 * The kernel's test cannot be written with this API as it stands. There
 * the worker's critical section loads the active pointer itself, so once
 * the sections in flight on every CPU are restarted, no increment can reach
 * the old list. Here a section is handed its address: a worker reads the
 * pointer before the section, and may be preempted between that read and
 * the section. The fence restarts sections in flight; it cannot stop one
 * that has not begun, so a percpu_add() through a stale pointer would land
 * on the retired structure after the fence.
 *
 * The closest honest variant moves the check into the section: each shard
 * has a generation word, and a worker increments with percpu_cmp2_store(),
 * which commits only if that shard's generation is still the one it read
 * with the pointer. The manager publishes the new generation, then sets each
 * shard's word inside percpu_remote() (excluded from every operation on the
 * shard, sections in flight restarted): after that no increment that read
 * the old generation can commit anywhere. Delays injected at every point of
 * the sections, and before them, keep operations in flight at the swaps.
 *
 * usage: retire [--rounds N] [--seconds N] [--delay N]
 * Runs N rounds (default 3000), or fewer if the time is up first (the
 * machine may be busy), but at least MIN_ROUNDS.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <time.h>
#include "tap.h"

#define WORKERS 3
#define CACHE_LINE 64
/* A round waits at most this long for the workers to make progress. */
#define ROUND_WAIT_NS 2000000L
#define MIN_ROUNDS 500

struct worker {
	pthread_t tid;
	int index;
	unsigned long ops;		/* increments committed */
	unsigned long mismatches;	/* generation compare failed */
	unsigned long errors;		/* a result the API does not allow */
} __attribute__((aligned(CACHE_LINE)));

static struct {
	unsigned long rounds;
	unsigned long seconds;
	unsigned int delay;
} opt = { 3000, 3, 200 };

static intptr_t *count[2];	/* the structure of generation g: count[g & 1] */
static intptr_t *gen;		/* per shard: the generation it accepts */
static intptr_t active;		/* the current generation */
static struct worker workers[WORKERS];
static int stop;
static int nr;

static intptr_t *shard_gen(int shard)
{
	return percpu_ptr(gen, shard);
}

/* One increment of the active structure, retried until it commits. */
static void increment(struct worker *w)
{
	for (;;) {
		intptr_t g = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
		intptr_t *c = count[g & 1];
		int shard, r;
		intptr_t v = percpu_load(c, &shard);

		r = percpu_cmp2_store(c, shard, v, gen, g, v + 1);
		if (r == PERCPU_OK)
			return;
		if (r != PERCPU_CHANGED && r != PERCPU_MOVED)
			w->errors++;
		if (r == PERCPU_CHANGED &&
		    __atomic_load_n(shard_gen(shard), __ATOMIC_RELAXED) != g)
			w->mismatches++;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	test_thread_setup(w->index);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		increment(w);
		__atomic_store_n(&w->ops, w->ops + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void set_gen(void *arg, int shard)
{
	__atomic_store_n(shard_gen(shard), *(intptr_t *)arg, __ATOMIC_RELAXED);
}

/* Publish generation g, then retire the previous one on every shard. */
static int swap_to(intptr_t g)
{
	__atomic_store_n(&active, g, __ATOMIC_RELEASE);
	for (int s = 0; s < nr; s++)
		if (percpu_remote(s, set_gen, &g))
			return 0;
	return 1;
}

static void snapshot(intptr_t *c, intptr_t *out)
{
	for (int s = 0; s < nr; s++)
		out[s] = __atomic_load_n((intptr_t *)percpu_ptr(c, s),
					 __ATOMIC_RELAXED);
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static unsigned long total_ops(void)
{
	unsigned long sum = 0;

	for (int i = 0; i < WORKERS; i++)
		sum += __atomic_load_n(&workers[i].ops, __ATOMIC_ACQUIRE);
	return sum;
}

/*
 * Until the workers have committed a few more increments, or time is up.
 * Spinning, not yielding: the manager keeps its CPU, rounds stay short,
 * and the workers preempt one another on the other CPUs.
 */
static void let_workers_run(void)
{
	unsigned long seen = total_ops();
	long end = now_ns() + ROUND_WAIT_NS;

	while (total_ops() < seen + 4 * WORKERS && now_ns() < end)
		__asm__ __volatile__("" ::: "memory");
}

struct outcome {
	unsigned long rounds;
	unsigned long changed_after;	/* rounds whose retired copy changed */
	unsigned long fence_errors;
};

static int more_rounds(unsigned long done, long end)
{
	return done < opt.rounds && (done < MIN_ROUNDS || now_ns() < end);
}

static struct outcome manage(void)
{
	struct outcome o = { 0, 0, 0 };
	intptr_t *before = calloc((size_t)nr, sizeof(*before));
	intptr_t *after = calloc((size_t)nr, sizeof(*after));
	long end = now_ns() + (long)opt.seconds * 1000000000L;

	for (intptr_t g = 1; more_rounds(o.rounds, end); g++, o.rounds++) {
		if (!swap_to(g))
			o.fence_errors++;
		snapshot(count[(g - 1) & 1], before);
		let_workers_run();
		snapshot(count[(g - 1) & 1], after);
		if (memcmp(before, after, (size_t)nr * sizeof(*before)))
			o.changed_after++;
	}
	free(before);
	free(after);
	return o;
}

static void set_delays(unsigned int loops)
{
	for (int i = 0; i < PERCPU_INJECT_POINTS; i++)
		percpu_inject.delay[i] = loops;
}

static void run_and_check(void)
{
	struct outcome o;
	unsigned long ops = 0, mismatches = 0, errors = 0;

	set_delays(opt.delay);
	for (int i = 0; i < WORKERS; i++) {
		workers[i].index = i;
		pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]);
	}
	o = manage();
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(workers[i].tid, NULL);
		ops += workers[i].ops;
		mismatches += workers[i].mismatches;
		errors += workers[i].errors;
	}
	set_delays(0);
	ok(o.fence_errors == 0, "percpu_remote fenced every shard, every round");
	ok(o.changed_after == 0, "no retired structure changed after its "
	   "fence (%lu of %lu rounds did)", o.changed_after, o.rounds);
	ok(errors == 0, "cmp2_store returned only OK, CHANGED or MOVED");
	ok(test_sum(count[0]) + test_sum(count[1]) == (intptr_t)ops,
	   "increments exact: %lu", ops);
	ok(mismatches > 0, "workers raced the swaps: %lu increments refused "
	   "for their generation", mismatches);
	test_shards_free();
}

static unsigned long number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > max) {
		fprintf(stderr, "retire: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "delay", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'r')
			opt.rounds = number(optarg, 10000000);
		else if (c == 's')
			opt.seconds = number(optarg, 3600);
		else if (c == 'd')
			opt.delay = (unsigned int)number(optarg, 10000000);
		else
			exit(2);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	nr = percpu_nr_shards();
	tap_check_mode();
	count[0] = percpu_alloc(sizeof(intptr_t));
	count[1] = percpu_alloc(sizeof(intptr_t));
	gen = percpu_alloc(sizeof(intptr_t));
	ok(count[0] && count[1] && gen, "allocated");
	tap_diag("up to %lu rounds or %lu s, %d workers, delay %u", opt.rounds,
		 opt.seconds, WORKERS, opt.delay);
	run_and_check();
	return tap_done();
}
