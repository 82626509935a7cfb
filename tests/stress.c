// SPDX-License-Identifier: MIT
/*
 * tests/stress.c: every kind of operation under forced preemption, checked
 * by exact sums. Workers loop over percpu_add, percpu_fetch_add, a plain
 * increment under the sharded lock, and a percpu_load + percpu_cas retry
 * loop. Yields, CPU re-pinning, signals (whose handlers add too) and delays
 * injected inside the critical sections make the kernel restart sections,
 * make threads move between load and cas, and make lock-path operations
 * meet rseq ones. A lost or doubled update anywhere shows in the sums.
 *
 * Options: see `stress --help`; without any, no preemption is forced.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define CACHE_LINE 64
#define OFF ULONG_MAX	/* a helper thread that is not started */

static struct {
	unsigned long threads;		/* 0: 6 x online CPUs */
	unsigned long seconds;
	unsigned long iterations;	/* per worker; 0: run for `seconds` */
	unsigned long yield_one_in;	/* 0: never */
	unsigned long self_pin_every;	/* 0: never */
	unsigned long migrate_us;
	unsigned long signal_us;
	unsigned long delay;
	unsigned long timeout;		/* 0: no watchdog */
	unsigned long lease_no_ban;
} opt = { 0, 2, 0, 0, 0, OFF, OFF, 0, 120, 0 };

/* Every option takes a number: its name, largest value and help. */
static const struct number_option {
	const char *name;
	unsigned long *value;
	unsigned long max;
	const char *help;
} options[] = {
	{ "threads", &opt.threads, 4096, "workers (default 6 x online CPUs)" },
	{ "seconds", &opt.seconds, 3600, "run for N seconds (default 2)" },
	{ "iterations", &opt.iterations, ULONG_MAX - 1,
	  "each worker runs N rounds, not for a time" },
	{ "yield", &opt.yield_one_in, ULONG_MAX - 1,
	  "sched_yield after 1 in N operations" },
	{ "self-pin", &opt.self_pin_every, ULONG_MAX - 1,
	  "each worker re-pins itself to a CPU every N rounds" },
	{ "migrate", &opt.migrate_us, 1000000,
	  "a thread re-pins a worker every N us (0: back to back)" },
	{ "signals", &opt.signal_us, 1000000,
	  "SIGUSR1 to every worker every N us (0: back to back)" },
	{ "delay", &opt.delay, 1000000,
	  "spin N loops at each point of every critical section" },
	{ "timeout", &opt.timeout, 86400,
	  "abort after N seconds (default 120, 0: never)" },
	{ "lease-no-ban", &opt.lease_no_ban, 1,
	  "1: lock mode may lease a revoked shard again at once" },
};
#define NR_OPTIONS (sizeof(options) / sizeof(options[0]))

struct worker {
	pthread_t tid;
	int index;
	enum percpu_mode mode;
	uint64_t rng;
	unsigned long loops;
	unsigned long changed, moved;	/* percpu_cas retries, by reason */
	unsigned long errors;	/* a result the API does not allow */
	unsigned long self_pins;
	long handled;
} __attribute__((aligned(CACHE_LINE)));

/* Per-CPU objects; `locked` is only touched under `lock`, with plain code. */
static struct {
	intptr_t *add, *fetch_add, *cas, *in_handler, *lock, *locked;
} obj;

static struct worker *workers;
static int nr_workers;
static pthread_barrier_t started, finished;
static cpu_set_t allowed;
static int stop_workers, stop_helpers;
static unsigned long sends, repins;
static __thread volatile sig_atomic_t handled;

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static void spin(unsigned long loops)
{
	for (unsigned long i = loops; i; i--)
		__asm__ __volatile__("" ::: "memory");
}

/* 0 means back to back, but the workers still get the CPU. */
static void sleep_us(unsigned long us)
{
	struct timespec ts = { (time_t)(us / 1000000),
			       (long)(us % 1000000 * 1000) };

	if (us == 0)
		sched_yield();
	else
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
}

/* A set with one CPU the process may run on, picked at random. */
static cpu_set_t random_cpu(uint64_t *rng)
{
	int k = (int)(next_random(rng) % (uint64_t)CPU_COUNT(&allowed));
	cpu_set_t one;

	CPU_ZERO(&one);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed) && k-- == 0)
			CPU_SET(cpu, &one);
	return one;
}

/* Another thread gets the CPU between operations, at a random fraction. */
static void maybe_yield(struct worker *w)
{
	if (opt.yield_one_in && next_random(&w->rng) % opt.yield_one_in == 0)
		sched_yield();
}

static void check_shard(struct worker *w, int shard)
{
	if (shard < 0 || shard >= percpu_nr_shards())
		w->errors++;
}

/*
 * Load, wait, store: if two threads ever held one shard's lock at once,
 * the wait lets one overwrite the other's increment, and the sum is short.
 */
static void locked_increment(struct worker *w)
{
	int shard = percpu_lock(obj.lock);
	volatile intptr_t *count = percpu_ptr(obj.locked, shard);
	intptr_t v;

	if (!count) {
		w->errors++;
		return;
	}
	v = *count;
	spin(opt.delay);
	*count = v + 1;
	if (percpu_unlock(obj.lock, shard))
		w->errors++;
}

/* The wait between load and cas gives other threads time to change the
 * word, and the kernel time to move this one. */
static void cas_increment(struct worker *w)
{
	for (;;) {
		int shard;
		intptr_t v = percpu_load(obj.cas, &shard);
		int r;

		spin(opt.delay);
		maybe_yield(w);
		r = percpu_cas(obj.cas, shard, v, v + 1);
		if (r == PERCPU_OK)
			return;
		if (r == PERCPU_CHANGED)
			w->changed++;
		else if (r == PERCPU_MOVED)
			w->moved++;
		else
			w->errors++;
	}
}

static void one_round(struct worker *w)
{
	int shard;

	check_shard(w, percpu_add(obj.add, 1));
	maybe_yield(w);
	percpu_fetch_add(obj.fetch_add, 1, &shard);
	check_shard(w, shard);
	maybe_yield(w);
	locked_increment(w);
	maybe_yield(w);
	cas_increment(w);
	maybe_yield(w);
}

static void maybe_pin_self(struct worker *w)
{
	cpu_set_t one;

	if (!opt.self_pin_every || w->loops % opt.self_pin_every)
		return;
	one = random_cpu(&w->rng);
	if (sched_setaffinity(0, sizeof(one), &one) == 0)
		w->self_pins++;
}

static int keep_going(const struct worker *w)
{
	if (opt.iterations)
		return w->loops < opt.iterations;
	return !__atomic_load_n(&stop_workers, __ATOMIC_RELAXED);
}

/*
 * Blocking SIGUSR1 before reading `handled` keeps a late handler from
 * adding after the count is taken; a signal still pending is never handled.
 */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * The first operation may initialize the library, which a handler must not
 * do: it runs (adding 0) before the start barrier, after which the helpers
 * start. Workers wait at `finished` until the helpers, which need their
 * thread ids, have stopped.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	test_thread_setup(w->index);
	percpu_add(obj.add, 0);
	w->mode = percpu_mode_get(NULL);
	pthread_barrier_wait(&started);
	while (keep_going(w)) {
		one_round(w);
		w->loops++;
		maybe_pin_self(w);
	}
	block_signals();
	w->handled = handled;
	pthread_barrier_wait(&finished);
	return NULL;
}

/* errno is saved: the handler may interrupt code between a call and its
 * errno check, and the library's slow path makes system calls. */
static void on_sigusr1(int sig)
{
	int saved = errno;

	(void)sig;
	percpu_add(obj.in_handler, 1);
	handled++;
	errno = saved;
}

static void *signal_sender(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_helpers, __ATOMIC_RELAXED)) {
		for (int i = 0; i < nr_workers; i++)
			if (pthread_kill(workers[i].tid, SIGUSR1) == 0)
				sends++;
		sleep_us(opt.signal_us);
	}
	return NULL;
}

static void *migrator(void *arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15u;

	(void)arg;
	while (!__atomic_load_n(&stop_helpers, __ATOMIC_RELAXED)) {
		uint64_t pick = next_random(&rng) % (uint64_t)nr_workers;
		struct worker *w = &workers[pick];
		cpu_set_t one = random_cpu(&rng);

		if (pthread_setaffinity_np(w->tid, sizeof(one), &one) == 0)
			repins++;
		sleep_us(opt.migrate_us);
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: stress [--OPTION N]... [--help]\n");
	for (size_t i = 0; i < NR_OPTIONS; i++)
		fprintf(f, "  --%-10s N  %s\n", options[i].name,
			options[i].help);
}

static unsigned long parse_number(const char *s,
				  const struct number_option *o)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > o->max) {
		fprintf(stderr, "stress: --%s: expected 0 to %lu, got '%s'\n",
			o->name, o->max, s);
		exit(2);
	}
	return v;
}

/* getopt_long returns the index in options[] of a number option. */
static void make_longopts(struct option *longopts)
{
	const struct option help = { "help", no_argument, NULL, 'h' };
	const struct option end = { NULL, 0, NULL, 0 };

	for (size_t i = 0; i < NR_OPTIONS; i++) {
		longopts[i] = end;
		longopts[i].name = options[i].name;
		longopts[i].has_arg = required_argument;
		longopts[i].val = (int)i;
	}
	longopts[NR_OPTIONS] = help;
	longopts[NR_OPTIONS + 1] = end;
}

static void parse_options(int argc, char **argv)
{
	struct option longopts[NR_OPTIONS + 2];
	int c;

	make_longopts(longopts);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c < 0 || c >= (int)NR_OPTIONS) {
			usage(stderr);
			exit(2);
		}
		*options[c].value = parse_number(optarg, &options[c]);
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
	nr_workers = opt.threads ? (int)opt.threads :
				   6 * (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* Points 0..4 cover every critical section from before it to its commit;
 * HOLDING stretches the time lock-path operations hold a shard word. */
static void set_delays(void)
{
	for (unsigned int n = 0; n <= 4; n++)
		percpu_inject.delay[n] = (unsigned int)opt.delay;
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = (unsigned int)opt.delay;
	percpu_inject.lease_no_ban = (unsigned int)opt.lease_no_ban;
}

static intptr_t *alloc_word(void)
{
	intptr_t *p = percpu_alloc(sizeof(intptr_t));

	if (!p) {
		perror("stress: percpu_alloc");
		exit(1);
	}
	return p;
}

static void setup(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1,
				.sa_flags = SA_RESTART };
	size_t size = (size_t)nr_workers * sizeof(*workers);

	obj.add = alloc_word();
	obj.fetch_add = alloc_word();
	obj.cas = alloc_word();
	obj.in_handler = alloc_word();
	obj.lock = alloc_word();
	obj.locked = alloc_word();
	set_delays();
	sigaction(SIGUSR1, &sa, NULL);
	sched_getaffinity(0, sizeof(allowed), &allowed);
	workers = aligned_alloc(CACHE_LINE, size);
	if (!workers) {
		perror("stress: aligned_alloc");
		exit(1);
	}
	memset(workers, 0, size);
	alarm((unsigned int)opt.timeout);
}

static void start_workers(void)
{
	pthread_barrier_init(&started, NULL, (unsigned int)nr_workers + 1);
	pthread_barrier_init(&finished, NULL, (unsigned int)nr_workers + 1);
	for (int i = 0; i < nr_workers; i++) {
		workers[i].index = i;
		workers[i].rng = 0x2545f4914f6cdd1du * (uint64_t)(i + 1);
		errno = pthread_create(&workers[i].tid, NULL, worker_main,
				       &workers[i]);
		if (errno) {
			perror("stress: pthread_create");
			exit(1);
		}
	}
	pthread_barrier_wait(&started);
}

static void start_helper(pthread_t *t, unsigned long interval,
			 void *(*fn)(void *))
{
	if (interval != OFF && pthread_create(t, NULL, fn, NULL)) {
		perror("stress: pthread_create");
		exit(1);
	}
}

static void join_helper(pthread_t t, unsigned long interval)
{
	if (interval != OFF)
		pthread_join(t, NULL);
}

static void run(void)
{
	pthread_t sender, mover;

	start_workers();
	start_helper(&sender, opt.signal_us, signal_sender);
	start_helper(&mover, opt.migrate_us, migrator);
	if (!opt.iterations) {
		sleep_us(opt.seconds * 1000000);
		__atomic_store_n(&stop_workers, 1, __ATOMIC_RELAXED);
	}
	pthread_barrier_wait(&finished);
	__atomic_store_n(&stop_helpers, 1, __ATOMIC_RELAXED);
	join_helper(sender, opt.signal_us);
	join_helper(mover, opt.migrate_us);
	for (int i = 0; i < nr_workers; i++)
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
	intptr_t loops, handled;
	unsigned long changed, moved, errors, self_pins, bad_modes, idle;
};

static struct totals add_up(void)
{
	struct totals t = { 0, 0, 0, 0, 0, 0, 0, 0 };

	for (int i = 0; i < nr_workers; i++) {
		const struct worker *w = &workers[i];

		t.loops += (intptr_t)w->loops;
		t.handled += w->handled;
		t.changed += w->changed;
		t.moved += w->moved;
		t.errors += w->errors;
		t.self_pins += w->self_pins;
		t.bad_modes += w->mode != expected_mode(i);
		t.idle += w->loops == 0;
	}
	return t;
}

static void report(const struct totals *t)
{
	tap_diag("%d workers, %ld rounds, %ld handler runs of %lu signals sent",
		 nr_workers, (long)t->loops, (long)t->handled, sends);
	tap_diag("cas retries: %lu changed, %lu moved; re-pins: %lu by a "
		 "thread, %lu by workers themselves", t->changed, t->moved,
		 repins, t->self_pins);
	tap_diag("slow path: %lu lock-path operations, %lu rseq aborts, %lu "
		 "in a shard their own thread held, %lu shard leases revoked",
		 percpu_inject.lock_path_ops, percpu_inject.rseq_aborts,
		 percpu_inject.shard_nested, percpu_inject.lease_revocations);
}

static void check_sum(intptr_t *p, intptr_t want, const char *what)
{
	intptr_t sum = test_sum(p);

	ok(sum == want, "%s: sum %ld, %ld expected", what, (long)sum,
	   (long)want);
}

static void check(void)
{
	struct totals t = add_up();

	report(&t);
	ok(t.bad_modes == 0, "every worker ran in the mode asked for");
	ok(t.idle == 0, "every worker ran rounds");
	ok(t.errors == 0, "no result outside the API's promises (%lu)",
	   t.errors);
	check_sum(obj.add, t.loops, "percpu_add");
	check_sum(obj.fetch_add, t.loops, "percpu_fetch_add");
	check_sum(obj.locked, t.loops, "plain increments under percpu_lock");
	check_sum(obj.cas, t.loops, "percpu_load + percpu_cas increments");
	check_sum(obj.in_handler, t.handled, "percpu_add in signal handlers");
	test_all_unlocked(obj.lock);
	test_shards_free();
	if (opt.signal_us != OFF)
		ok(t.handled > 0, "signal handlers ran");
	if (opt.migrate_us != OFF || opt.self_pin_every)
		ok(repins + t.self_pins > 0, "workers were re-pinned");
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
