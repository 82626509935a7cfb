// SPDX-License-Identifier: MIT
/*
 * tests/malloc_stress.c: libpercpu-malloc under load. 6 x CPUs threads
 * (at least 12), in three waves (thread churn), allocate objects of mixed
 * sizes (small, large, aligned), write a pattern over every byte, and
 * free them either themselves or after passing them through a shared
 * exchange to another thread (allocated here, freed there). Every free
 * checks every byte first: an object handed out twice, or overwritten by
 * the allocator, shows. Meanwhile threads yield, migrate between CPUs,
 * take signals, call malloc_trim() (which drains every CPU's cache with
 * percpu_remote() while the others run), and the main thread forks
 * children that allocate and walk the heap. At the end every object is
 * freed and the consistency walk must account for every span and object.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "tap.h"
#include "percpu_malloc.h"
#include "malloc_pattern.h"

#define WAVES 3
#define ROUNDS 3000
#define LOCAL 64
#define EXCHANGE 1024
#define FORKS 5

static void *exchange[EXCHANGE];
static int nr_threads;
static long signals_taken;
static int stop_signals;

static size_t pick_size(unsigned long *seed, size_t *align)
{
	unsigned long r = pattern_rand(seed);

	*align = 0;
	if (r % 100 < 70)
		return PATTERN_MIN + r % 240;
	if (r % 100 < 90)
		return 257 + r % 3840;
	if (r % 100 < 97)
		return 4097 + r % 28672;
	if (r % 100 < 99)
		return 32769 + r % 300000;
	*align = (size_t)32 << (r % 12);	/* 32 .. 64 KiB */
	return PATTERN_MIN + r % 5000;
}

static void *obj_new(unsigned long *seed, uint32_t tag)
{
	size_t align, size = pick_size(seed, &align);
	void *p = NULL;

	if (align) {
		if (posix_memalign(&p, align, size))
			p = NULL;
		if (p && (uintptr_t)p % align)
			__atomic_fetch_add(&pattern_bad, 1, __ATOMIC_RELAXED);
	} else {
		p = malloc(size);
	}
	return pattern_fill(p, size, tag);
}

static void migrate(unsigned long r)
{
	int n = percpu_nr_shards();

	if (r % 3)
		test_pin_to((int)(r % (unsigned long)n));
	else
		test_unpin();
}

struct worker {
	pthread_t tid;
	int index;
	int wave;
	pid_t kernel_tid;	/* 0 when not running: the signaller's target */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	void *local[LOCAL] = { NULL };
	unsigned long seed = (unsigned long)(w->index * 7919 + w->wave * 104729 + 1);
	uint32_t tag = (uint32_t)(w->index << 20);

	test_thread_setup(w->index);
	__atomic_store_n(&w->kernel_tid, (pid_t)syscall(SYS_gettid),
			 __ATOMIC_RELEASE);
	for (int r = 0; r < ROUNDS; r++) {
		unsigned long x = (seed >> 35) ^ (unsigned long)r;
		void *p = obj_new(&seed, tag++);

		if (x % 2) {
			pattern_free(local[x % LOCAL]);
			local[x % LOCAL] = p;
		} else {
			p = __atomic_exchange_n(&exchange[x % EXCHANGE], p,
						__ATOMIC_ACQ_REL);
			pattern_free(p);
		}
		if (r % 64 == 0)
			sched_yield();
		if (r % 1500 == 0)
			migrate(x);
		if (w->index == 0 && r % 500 == 0)
			malloc_trim(0);
	}
	for (int i = 0; i < LOCAL; i++)
		pattern_free(local[i]);
	test_unpin();
	__atomic_store_n(&w->kernel_tid, 0, __ATOMIC_RELEASE);
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	__atomic_fetch_add(&signals_taken, 1, __ATOMIC_RELAXED);
}

static struct worker *workers;

static void *signaller(void *arg)
{
	unsigned long r = 1;

	(void)arg;
	while (!__atomic_load_n(&stop_signals, __ATOMIC_RELAXED)) {
		pid_t tid;

		r = r * 6364136223846793005ul + 1;
		tid = __atomic_load_n(
			&workers[(r >> 33) % (unsigned long)nr_threads].kernel_tid,
			__ATOMIC_ACQUIRE);
		if (tid)	/* gone meanwhile: ESRCH, at worst */
			syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
		usleep(200);
	}
	return NULL;
}

/* In a child: allocate and free, then walk the heap. 0 if all fine. */
static int child_main(void)
{
	unsigned long seed = (unsigned long)getpid();
	void *v[500];
	long before = __atomic_load_n(&pattern_bad, __ATOMIC_RELAXED);

	alarm(30);
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 500; i++)
			v[i] = obj_new(&seed, (uint32_t)i);
		for (int i = 0; i < 500; i++)
			pattern_free(v[i]);
	}
	return pattern_bad != before || percpu_malloc_check(NULL) ? 1 : 0;
}

static int fork_children(void)
{
	int passed = 0, status;

	for (int i = 0; i < FORKS; i++) {
		pid_t pid;

		usleep(20000);
		pid = fork();
		if (pid == 0)
			_exit(child_main());
		if (pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && !WEXITSTATUS(status))
			passed++;
	}
	return passed;
}

static void run_wave(int wave, int *forked)
{
	pthread_t sig;

	for (int i = 0; i < nr_threads; i++) {
		workers[i] = (struct worker){ .index = i, .wave = wave };
		pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]);
	}
	stop_signals = 0;
	pthread_create(&sig, NULL, signaller, NULL);
	if (wave == 1)
		*forked = fork_children();
	for (int i = 0; i < nr_threads; i++)
		pthread_join(workers[i].tid, NULL);
	__atomic_store_n(&stop_signals, 1, __ATOMIC_RELAXED);
	pthread_join(sig, NULL);
}

static void report_walk(const char *when, struct percpu_malloc_check *c)
{
	int rc = percpu_malloc_check(c);

	ok(rc == 0, "%s: %llu spans, %llu objects, %llu free, %llu in use "
	   "(counted %llu), %llu duplicates, %llu invalid, %llu bad spans",
	   when, (unsigned long long)c->spans, (unsigned long long)c->objects,
	   (unsigned long long)c->free, (unsigned long long)c->in_use,
	   (unsigned long long)c->in_use_counted,
	   (unsigned long long)c->duplicates, (unsigned long long)c->invalid,
	   (unsigned long long)c->bad_spans);
}

int main(void)
{
	struct percpu_malloc_check before, after;
	struct percpu_malloc_stats st;
	struct sigaction sa = { .sa_handler = on_signal,
				.sa_flags = SA_RESTART };
	int forked = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	tap_check_mode();
	nr_threads = (int)(6 * (cpus > 0 ? cpus : 1));
	if (nr_threads < 12)
		nr_threads = 12;
	workers = calloc((size_t)nr_threads, sizeof(*workers));
	sigaction(SIGUSR1, &sa, NULL);
	report_walk("walk before", &before);
	for (int wave = 0; wave < WAVES; wave++)
		run_wave(wave, &forked);
	ok(!pattern_bad && !pattern_failed, "%d waves of %d threads, %d objects "
	   "each, freed here and there: %ld bytes wrong, %ld failed "
	   "(%ld signals taken)", WAVES, nr_threads, ROUNDS, pattern_bad,
	   pattern_failed, signals_taken);
	ok(forked == FORKS, "%d of %d children forked amid the threads "
	   "allocated, freed and walked a consistent heap", forked, FORKS);
	for (int i = 0; i < EXCHANGE; i++)
		pattern_free(exchange[i]);
	ok(!pattern_bad, "objects left in the exchange intact");
	report_walk("walk after every object is freed", &after);
	ok(after.in_use <= before.in_use + 64,
	   "nothing lost: %llu objects in use before, %llu after (thread "
	   "bookkeeping of libc may stay)", (unsigned long long)before.in_use,
	   (unsigned long long)after.in_use);
	malloc_trim(0);
	report_walk("walk after malloc_trim", &after);
	percpu_malloc_stats(&st);
	tap_diag("spans carved %llu, released %llu, drains %llu, large "
		 "allocs %llu", (unsigned long long)st.spans_carved,
		 (unsigned long long)st.spans_released,
		 (unsigned long long)st.drains,
		 (unsigned long long)st.large_allocs);
	free(workers);
	return tap_done();
}
