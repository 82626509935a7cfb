// SPDX-License-Identifier: MIT
/*
 * tests/killswitch.c: percpu_disable_rseq() while other threads are in the
 * middle of operations. Workers add without pause, and half of them also
 * take the sharded lock and increment a plain counter under it; the main
 * thread waits until every worker has run, switches rseq off, and waits
 * until every worker has run again. The process must then be in lock mode
 * for every thread, every operation begun after the switch must have taken
 * the lock path, and no update may be lost or doubled across the switch.
 * With --delay, sections spend most of their time between their start and
 * their commit, so the switch lands on sections in flight.
 *
 * With --reload, the switch is percpu_reload_settings() after writing
 * disable_rseq = 1 into the settings file named by PERCPU_CONF.
 *
 * Whether a round straddled the switch (began before it, ended after it)
 * is up to the scheduler: on a loaded machine the main thread can be
 * preempted inside the switch while the rounds in flight finish. So one
 * run does not require it; with --straddled FILE it appends the count to
 * FILE, and tests/killswitch.t requires it of some run of each case.
 *
 * usage: killswitch [--threads N] [--delay N] [--reload] [--straddled FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define CACHE_LINE 64
/* Operations each worker runs before the switch, and again after it,
 * within PROGRESS_MS each time. */
#define MIN_OPS 2000
#define PROGRESS_MS 20000
/* Fails the run, rather than hanging it, if a worker stops making progress. */
#define WATCHDOG_SECONDS 60

struct worker {
	pthread_t tid;
	int index;
	unsigned long ops[2];	/* begun before the switch, after it */
	unsigned long adds, locks, errors;
	unsigned long in_flight; /* begun before the switch, ended after it */
	enum percpu_mode mode;
	const char *reason;
} __attribute__((aligned(CACHE_LINE)));

static struct {
	int threads;
	unsigned int delay;
	int reload;
	const char *straddled;
} opt;

static intptr_t *counter, *lock, *locked;
static struct worker *workers;
static pthread_barrier_t started;
static int switching, switched, stop;

/* What the main thread saw around the switch. */
static struct {
	unsigned long lock_path_ops;	/* when the switch returned */
	int ran_before, ran_after;	/* every worker reached MIN_OPS */
} seen;

static int load_flag(int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

static void set_flag(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

static void spin(unsigned int loops)
{
	for (unsigned int i = loops; i; i--)
		__asm__ __volatile__("" ::: "memory");
}

/* Load, wait, store: two holders of one shard's lock would lose counts. */
static void locked_increment(struct worker *w)
{
	int shard = percpu_lock(lock);
	volatile intptr_t *count = percpu_ptr(locked, shard);
	intptr_t v;

	if (!count) {
		w->errors++;
		return;
	}
	v = *count;
	spin(opt.delay);
	*count = v + 1;
	if (percpu_unlock(lock, shard))
		w->errors++;
}

/* Workers 2, 3, 6, 7...: in mixed mode both rseq and lock-path ones. */
static unsigned long one_round(struct worker *w)
{
	percpu_add(counter, 1);
	w->adds++;
	if (!(w->index & 2))
		return 1;
	locked_increment(w);
	w->locks++;
	return 2;
}

/*
 * A round counts as after the switch only if it began once
 * percpu_disable_rseq() had returned: it must have taken the lock path.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	test_thread_setup(w->index);
	pthread_barrier_wait(&started);
	while (!load_flag(&stop)) {
		int began_before = !load_flag(&switching);
		int after = load_flag(&switched);
		unsigned long n = one_round(w);

		if (began_before && load_flag(&switched))
			w->in_flight++;
		__atomic_store_n(&w->ops[after], w->ops[after] + n,
				 __ATOMIC_RELAXED);
	}
	w->mode = percpu_mode_get(&w->reason);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Whether every worker began MIN_OPS operations in `phase` in time. */
static int wait_for_ops(int phase)
{
	int ms = 0;

	for (int i = 0; i < opt.threads; i++)
		while (__atomic_load_n(&workers[i].ops[phase],
				       __ATOMIC_RELAXED) < MIN_OPS) {
			if (ms++ == PROGRESS_MS)
				return 0;
			sleep_ms(1);
		}
	return 1;
}

static void start_workers(void)
{
	pthread_barrier_init(&started, NULL, (unsigned int)opt.threads + 1);
	for (int i = 0; i < opt.threads; i++) {
		workers[i].index = i;
		errno = pthread_create(&workers[i].tid, NULL, worker_main,
				       &workers[i]);
		if (errno) {
			perror("killswitch: pthread_create");
			exit(1);
		}
	}
	pthread_barrier_wait(&started);
}

/* The operator's side: the file now says so; then the program's. */
static void reload_off(void)
{
	const char *path = getenv("PERCPU_CONF");
	FILE *f = path ? fopen(path, "w") : NULL;

	if (!f || fputs("disable_rseq = 1\n", f) < 0 || fclose(f)) {
		perror("killswitch: writing $PERCPU_CONF");
		exit(1);
	}
	percpu_reload_settings();
}

static void run(void)
{
	start_workers();
	seen.ran_before = wait_for_ops(0);
	set_flag(&switching);
	if (opt.reload)
		reload_off();
	else
		percpu_disable_rseq();
	seen.lock_path_ops = __atomic_load_n(&percpu_inject.lock_path_ops,
					     __ATOMIC_RELAXED);
	set_flag(&switched);
	seen.ran_after = wait_for_ops(1);
	set_flag(&stop);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(workers[i].tid, NULL);
}

static int switched_off(enum percpu_mode mode, const char *reason)
{
	return mode == PERCPU_MODE_LOCK &&
	       !strcmp(reason, opt.reload ?
			       "disabled by percpu_reload_settings(): "
			       "disable_rseq in the settings file" :
			       "disabled at run time");
}

struct totals {
	unsigned long ops_after, adds, locks, errors, in_flight, not_off;
};

static struct totals add_up(void)
{
	struct totals t = { 0, 0, 0, 0, 0, 0 };

	for (int i = 0; i < opt.threads; i++) {
		const struct worker *w = &workers[i];

		t.ops_after += w->ops[1];
		t.adds += w->adds;
		t.locks += w->locks;
		t.errors += w->errors;
		t.in_flight += w->in_flight;
		t.not_off += !switched_off(w->mode, w->reason);
	}
	return t;
}

static void check_main_thread(void)
{
	const char *reason;
	enum percpu_mode mode = percpu_mode_get(&reason);

	ok(switched_off(mode, reason), "main thread in lock mode (%s: %s)",
	   mode == PERCPU_MODE_RSEQ ? "rseq" : "lock", reason);
	ok(percpu_disable_rseq() == 0,
	   "a second percpu_disable_rseq() returns 0");
	mode = percpu_mode_get(&reason);
	ok(switched_off(mode, reason), "and changes nothing (%s)", reason);
}

static void append_count(const char *path, unsigned long n)
{
	FILE *f = fopen(path, "a");

	ok(f && fprintf(f, "%lu\n", n) > 0 && !fclose(f), "count appended to %s",
	   path);
}

static void check(void)
{
	struct totals t = add_up();
	unsigned long lock_path_after =
		percpu_inject.lock_path_ops - seen.lock_path_ops;

	tap_diag("%d workers, %lu adds, %lu locked increments, %lu rseq aborts",
		 opt.threads, t.adds, t.locks, percpu_inject.rseq_aborts);
	ok(seen.ran_before && seen.ran_after, "every worker ran %d operations "
	   "before the switch and %d after it", MIN_OPS, MIN_OPS);
	tap_diag("%lu rounds began before the switch and ended after it",
		 t.in_flight);
	if (opt.straddled)
		append_count(opt.straddled, t.in_flight);
	check_main_thread();
	ok(t.not_off == 0,
	   "every worker ended in lock mode, disabled at run time");
	ok(lock_path_after >= t.ops_after,
	   "operations after the switch took the lock path (%lu of %lu)",
	   lock_path_after, t.ops_after);
	ok(t.errors == 0,
	   "every percpu_lock shard valid, every unlock accepted");
	ok(test_sum(counter) == (intptr_t)t.adds, "adds exact: %ld of %lu",
	   (long)test_sum(counter), t.adds);
	ok(test_sum(locked) == (intptr_t)t.locks,
	   "locked increments exact: %ld of %lu", (long)test_sum(locked),
	   t.locks);
	test_all_unlocked(lock);
	test_shards_free();
}

static unsigned long parse_number(const char *s, const char *what,
				  unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max) {
		fprintf(stderr, "killswitch: %s: expected 0 to %lu, got '%s'\n",
			what, max, s);
		exit(2);
	}
	return v;
}

static void usage_error(void)
{
	fprintf(stderr,
		"usage: killswitch [--threads N] [--delay N] [--reload] "
		"[--straddled FILE]\n");
	exit(2);
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "delay", required_argument, NULL, 'd' },
		{ "reload", no_argument, NULL, 'r' },
		{ "straddled", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opt.threads = 4 * (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 't')
			opt.threads = (int)parse_number(optarg, "--threads",
							4096);
		else if (c == 'd')
			opt.delay = (unsigned int)parse_number(optarg,
							       "--delay",
							       1000000);
		else if (c == 'r')
			opt.reload = 1;
		else if (c == 's')
			opt.straddled = optarg;
		else
			usage_error();
	}
	if (optind < argc || opt.threads < 1)
		usage_error();
}

/* Delays at every point of every section, and while shard words are held. */
static void setup(void)
{
	counter = percpu_alloc(sizeof(intptr_t));
	lock = percpu_alloc(sizeof(intptr_t));
	locked = percpu_alloc(sizeof(intptr_t));
	workers = aligned_alloc(CACHE_LINE,
				(size_t)opt.threads * sizeof(*workers));
	if (!counter || !lock || !locked || !workers) {
		perror("killswitch: out of memory");
		exit(1);
	}
	memset(workers, 0, (size_t)opt.threads * sizeof(*workers));
	for (unsigned int n = 0; n < PERCPU_INJECT_POINTS; n++)
		percpu_inject.delay[n] = opt.delay;
	alarm(WATCHDOG_SECONDS);
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	tap_check_mode();
	setup();
	run();
	check();
	return tap_done();
}
