// SPDX-License-Identifier: MIT
/*
 * tools/bench/harness.c: percpu-bench's one harness. It runs a row's loop
 * on each thread of a run for --ms milliseconds, times the threads from a
 * common start, checks that the row recorded every operation that ran, and
 * keeps each repetition's figure; each figure printed is the median of the
 * repetitions.
 *
 * Lock mode cannot be left once entered, so lock-mode repetitions run in
 * forked children that disable rseq first. Repetitions of all rows
 * alternate, so that noise on a shared machine hits every row alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

/* Below this share of wall time on a CPU, other load inflated a figure. */
#define BUSY_ON_CPU 0.9
/* Above this share of empty list pairs, they weigh in a figure. */
#define EMPTY_PAIRS 0.01

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

struct bench_run run;
struct figure figures[NR_IMPLS][MAX_THREAD_COUNTS];

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "percpu-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The calling thread's state; each thread of a run takes one. */
struct thread_state *take_thread_state(void)
{
	unsigned int i = __atomic_fetch_add(&run.next_thread, 1,
					    __ATOMIC_RELAXED);

	return &run.threads[i];
}

/* What the threads of the last run counted themselves. */
uint64_t total_counted(void)
{
	uint64_t sum = 0;

	for (unsigned int t = 0; t < run.nr_threads; t++)
		sum += run.threads[t].count;
	return sum;
}

/* The reset of a row that leaves nothing behind. */
void reset_nothing(void)
{
}

/* What each thread of the largest run leaves for the checks. */
void setup_threads(size_t most)
{
	run.threads = aligned_alloc(CACHE_LINE, most * sizeof(*run.threads));
	if (!run.threads)
		die("out of memory");
}

/* ---- one run: threads and timing ---- */

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
	memset(run.threads, 0, nthreads * sizeof(*run.threads));
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

/* ---- repetitions and medians ---- */

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
void run_all(void)
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

void setup_figures(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts; t++) {
			double *v = calloc(opt.reps, sizeof(*v));

			if (!v)
				die("out of memory");
			figures[i][t].samples = v;
		}
}

void compute_medians(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++)
			figures[i][t].median =
				median(figures[i][t].samples, opt.reps);
}
