// SPDX-License-Identifier: MIT
/*
 * tools/bench/harness.c: percpu-bench's one harness. It runs one placed
 * copy of a row's loop on each thread of a run for --ms milliseconds,
 * times the threads from a common start, checks that the row recorded
 * every operation that ran, and keeps the sample; each figure printed is
 * the median of its samples, over the repetitions and the placements.
 *
 * Lock mode cannot be left once entered, so lock-mode samples run in
 * forked children that disable rseq first; the indexing is chosen once at
 * start, so add_cid's samples run in children executed again with
 * PERCPU_INDEX=cid. Rounds of all rows alternate (every row, every copy),
 * so that noise on a shared machine hits every row alike.
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
	int na;			/* not measured: the row cannot run here */
	uint64_t ops;
};

struct worker {
	pthread_t tid;
	const struct impl *impl;
	unsigned int placement;	/* which copy of the loop runs */
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

	w->mode = percpu_mode_get(NULL);	/* registers, off the clock */
	pthread_barrier_wait(&run.start);
	t0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	w->ops = w->impl->loop->copy[w->placement]();
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
			  const struct impl *im, unsigned int placement)
{
	for (int i = 0; i < nthreads; i++) {
		w[i].impl = im;
		w[i].placement = placement;
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
	struct sample s = { 0 };

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
	s.ops = ops;
	if (!ops)
		return s;
	s.ns_per_op = (double)ns / (double)ops;
	s.on_cpu = (double)cpu_ns / (double)ns;
	s.empty = run.empty;
	return s;
}

static struct sample measure_once(const struct impl *im, int nthreads,
				  unsigned int placement)
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
	start_workers(w, nthreads, im, placement);
	pthread_barrier_wait(&run.start);
	sleep_ms(opt.ms);
	__atomic_store_n(&run.stop, 1, __ATOMIC_RELAXED);
	s = collect(w, nthreads, im);
	pthread_barrier_destroy(&run.start);
	free(w);
	return s;
}

/*
 * A sample in which no operation ran is taken again: on a busy host every
 * worker may stay off its CPU for the whole window, and a row that never
 * runs at all still ends the program.
 */
#define EMPTY_TRIES 8

static struct sample measure(const struct impl *im, int nthreads,
			     unsigned int placement)
{
	struct sample s = measure_once(im, nthreads, placement);

	for (unsigned int tries = 1; !s.ops && tries < EMPTY_TRIES; tries++)
		s = measure_once(im, nthreads, placement);
	if (!s.ops)
		die("%s, %d threads: no operation ran in %u tries", im->name,
		    nthreads, EMPTY_TRIES);
	return s;
}

/* In the child: lock mode for good, checked, then the same measurement. */
static int lock_child(const struct impl *im, int nthreads,
		      unsigned int placement, int fd)
{
	struct sample s;

	percpu_disable_rseq();
	if (percpu_mode_get(NULL) != PERCPU_MODE_LOCK)
		die("still in rseq mode after percpu_disable_rseq()");
	s = measure(im, nthreads, placement);
	if (s.modes != 1u << PERCPU_MODE_LOCK)
		die("a thread ran in rseq mode after percpu_disable_rseq()");
	if (write(fd, &s, sizeof(s)) != (ssize_t)sizeof(s))
		die("write to parent: %s", strerror(errno));
	return 0;
}

static struct sample measure_in_lock_child(const struct impl *im, int nthreads,
					   unsigned int placement)
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
		exit(lock_child(im, nthreads, placement, fd[1]));
	}
	close(fd[1]);
	n = read(fd[0], &s, sizeof(s));
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || n != (ssize_t)sizeof(s))
		die("the lock-mode child failed");
	return s;
}

/*
 * In a child executed again with PERCPU_INDEX=cid (the indexing cannot
 * change in a running process): --sample-child ROW,THREADS,PLACEMENT,FD
 * measures one sample and writes it to FD. A sample marked n/a means the
 * child did not get concurrency ids.
 */
int sample_child(const char *spec)
{
	unsigned int row, placement;
	int nthreads, fd;
	struct sample s = { .na = 1 };

	if (sscanf(spec, "%u,%d,%u,%d", &row, &nthreads, &placement, &fd) != 4 ||
	    row >= NR_IMPLS || nthreads < 1 || nthreads > MAX_THREADS ||
	    placement >= MAX_PLACEMENTS)
		die("--sample-child %s: not ROW,THREADS,PLACEMENT,FD", spec);
	if (cid_indexed()) {
		setup_targets((size_t)nthreads);
		s = measure(&impls[row], nthreads, placement);
	}
	if (write(fd, &s, sizeof(s)) != (ssize_t)sizeof(s))
		die("write to parent: %s", strerror(errno));
	return 0;
}

static void exec_cid_child(unsigned int row, int nthreads,
			   unsigned int placement, int fd)
{
	char ms[16], spec[64];

	snprintf(ms, sizeof(ms), "%u", opt.ms);
	snprintf(spec, sizeof(spec), "%u,%d,%u,%d", row, nthreads, placement,
		 fd);
	if (setenv("PERCPU_INDEX", "cid", 1) == 0)
		execl("/proc/self/exe", "percpu-bench", "--ms", ms,
		      "--sample-child", spec, (char *)NULL);
	fprintf(stderr, "percpu-bench: executing /proc/self/exe: %s\n",
		strerror(errno));
	_exit(127);
}

/* A child that failed makes the figure n/a, said on stderr; it is not
 * measured again. */
static struct sample measure_in_cid_child(unsigned int row, int nthreads,
					  unsigned int placement)
{
	struct sample s = { .na = 1 };
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	if (pipe(fd) || (pid = fork()) < 0)
		die("pipe or fork: %s", strerror(errno));
	if (pid == 0) {
		close(fd[0]);
		exec_cid_child(row, nthreads, placement, fd[1]);
	}
	close(fd[1]);
	n = read(fd[0], &s, sizeof(s));
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || n != (ssize_t)sizeof(s)) {
		fprintf(stderr, "percpu-bench: %s: the PERCPU_INDEX=cid child "
			"failed: n/a\n", impls[row].name);
		s.na = 1;
	}
	return s;
}

/* ---- repetitions and medians ---- */

static void record(struct figure *f, unsigned int at, struct sample s)
{
	if (s.na) {
		f->na = 1;
		return;
	}
	f->samples[at] = s.ns_per_op;
	f->modes |= s.modes;
	if (s.on_cpu < BUSY_ON_CPU)
		f->busy++;
	if (s.empty > EMPTY_PAIRS)
		f->empty++;
}

static struct sample measure_row(unsigned int i, int nthreads,
				 unsigned int placement)
{
	const struct impl *im = &impls[i];

	switch (im->path) {
	case PATH_LOCK:
		return measure_in_lock_child(im, nthreads, placement);
	case PATH_RSEQ_CID:
		return measure_in_cid_child(i, nthreads, placement);
	default:
		return measure(im, nthreads, placement);
	}
}

/*
 * A round measures every row at every thread count with one copy of its
 * loop; each repetition is one round per copy. Rotating the order each
 * round keeps any cost of following a given row (a fork, a cold cache)
 * from always landing on the same row.
 */
static void run_round(unsigned int rep, unsigned int placement)
{
	unsigned int round = rep * opt.placements + placement;

	for (int t = 0; t < nr_thread_counts; t++)
		for (unsigned int k = 0; k < NR_IMPLS; k++) {
			unsigned int i = (k + round) % NR_IMPLS;
			struct figure *f = &figures[i][t];

			if (skipped[i] || f->na)
				continue;
			record(f, round,
			       measure_row(i, thread_counts[t], placement));
		}
}

void run_all(void)
{
	for (unsigned int rep = 0; rep < opt.reps; rep++)
		for (unsigned int p = 0; p < opt.placements; p++)
			run_round(rep, p);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n), which stays as it is. */
double median(const double *v, unsigned int n)
{
	double *w = malloc(n * sizeof(*w)), m;

	if (!w)
		die("out of memory");
	memcpy(w, v, n * sizeof(*w));
	qsort(w, n, sizeof(*w), cmp_double);
	m = n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
	free(w);
	return m;
}

/* Rows that cannot run here (impl.usable) are n/a at every count. */
void setup_figures(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++) {
		int na = !skipped[i] && impls[i].usable && !impls[i].usable();

		for (int t = 0; t < nr_thread_counts; t++) {
			double *v = calloc(nr_samples(), sizeof(*v));

			if (!v)
				die("out of memory");
			figures[i][t].samples = v;
			figures[i][t].na = na;
		}
	}
}

void compute_medians(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++)
			if (!figures[i][t].na)
				figures[i][t].median =
					median(figures[i][t].samples,
					       nr_samples());
}
