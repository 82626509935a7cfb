// SPDX-License-Identifier: MIT
/*
 * tests/param: one data structure under one kind of disturbance, checked
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
 *
 * This file: the command line, the mode, the threads and what they did;
 * structures.c holds the tests themselves.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "../tap.h"
#include "param.h"

struct param_options opt = { .reps = 5000, .timeout = 120 };
struct worker_ctx *workers;
int nr_shards;
static intptr_t *in_handler;	/* what the signal handlers added */
static pthread_barrier_t started;
static __thread volatile long handled;

void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

void *must(void *p, const char *what)
{
	if (!p)
		bail(what);
	return p;
}

/* ---- threads ---- */

/* errno is saved: the handler may run between a call and its errno check. */
static void on_sigusr1(int sig)
{
	int saved = errno;

	(void)sig;
	percpu_add(in_handler, 1);
	handled++;
	errno = saved;
}

/*
 * percpu_mode_get() registers the thread, so no operation in a handler is the
 * thread's first. All start together, to contend from the first round.
 */
static void *worker_main(void *arg)
{
	struct worker_ctx *w = arg;

	test_thread_setup(w->index);
	w->mode = percpu_mode_get(NULL);
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
	test_shards_free();
	ok(test_sum(in_handler) == t.handled && t.handled == (long)t.raised,
	   "signal handlers: percpu_add sum %ld, %ld handled, %lu raised",
	   (long)test_sum(in_handler), t.handled, t.raised);
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
	for (size_t i = 0; i < nr_tests; i++)
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
	in_handler = alloc_words(1);
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
