// SPDX-License-Identifier: MIT
/*
 * percpu-bench: ns per operation of percpu_add in rseq and in lock mode,
 * beside baselines measured in the same run, at 1 thread and at one thread
 * per online CPU. One harness; each implementation is an adapter (a row of
 * `impls`): a per-thread loop, a reset, and what it recorded, which must
 * equal the operations counted, so the benchmark doubles as a sanity check.
 *
 * Lock mode cannot be left once entered, so its repetitions run in forked
 * children that disable rseq first. Repetitions of all rows alternate, so
 * that noise on a shared machine hits every row alike; each figure is the
 * median of the repetitions.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <percpu.h>

#define CACHE_LINE 64
/* Operations between two looks at the stop flag: rare enough to cost
 * nothing beside the operation, frequent enough to stop within ~1 ms. */
#define BATCH 4096
#define MAX_THREAD_COUNTS 2
/* Below this share of wall time on a CPU, other load inflated a figure. */
#define BUSY_ON_CPU 0.9

/* Where a row runs, which also says what its mode column means. */
enum path {
	PATH_NONE,	/* a baseline: the library's mode is irrelevant */
	PATH_RSEQ,	/* this process, expected in rseq mode */
	PATH_LOCK,	/* a child after percpu_disable_rseq() */
};

struct impl {
	const char *name;
	enum path path;
	void (*reset)(void);
	uint64_t (*loop)(void);		/* per thread: ops done until stop */
	uint64_t (*recorded)(void);	/* what the implementation counted */
};

/* One repetition's figure, the library modes its threads were in, and
 * the share of the wall time they were on a CPU (below 1: machine busy). */
struct sample {
	double ns_per_op;
	unsigned int modes;	/* bit 1 << enum percpu_mode */
	double on_cpu;
};

struct worker {
	pthread_t tid;
	const struct impl *impl;
	uint64_t ops;
	uint64_t ns;
	uint64_t cpu_ns;
	enum percpu_mode mode;
} __attribute__((aligned(CACHE_LINE)));

struct slot {
	uint64_t n;
} __attribute__((aligned(CACHE_LINE)));

/* The memory each implementation works on; hot words on their own lines. */
static struct {
	intptr_t *counter;	/* from percpu_alloc */
	struct slot *slots;	/* per CPU, for sched_getcpu() + atomic */
	unsigned int nr_slots;
	uint64_t shared_word __attribute__((aligned(CACHE_LINE)));
	pthread_mutex_t mutex __attribute__((aligned(CACHE_LINE)));
	uint64_t mutex_word;
	uint64_t tls_total __attribute__((aligned(CACHE_LINE)));
} target;

static struct {
	int stop __attribute__((aligned(CACHE_LINE)));
	pthread_barrier_t start __attribute__((aligned(CACHE_LINE)));
} run;

static struct {
	int csv;
	unsigned int reps;
	unsigned int ms;
} opt = { 0, 7, 100 };

static __attribute__((noreturn, format(printf, 1, 2))) void die(
	const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "percpu-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int should_stop(void)
{
	return __atomic_load_n(&run.stop, __ATOMIC_RELAXED);
}

/* ---- adapters ---- */

static void reset_counter(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		*(intptr_t *)percpu_ptr(target.counter, s) = 0;
}

static uint64_t loop_percpu_add(void)
{
	intptr_t *p = target.counter;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			percpu_add(p, 1);
		ops += BATCH;
	}
	return ops;
}

static uint64_t sum_counter(void)
{
	intptr_t sum = 0;

	for (int s = 0; s < percpu_nr_shards(); s++)
		sum += *(intptr_t *)percpu_ptr(target.counter, s);
	return (uint64_t)sum;
}

static __thread uint64_t tls_count;

static void reset_tls(void)
{
	target.tls_total = 0;
}

/* The empty asm makes the compiler keep the counter in memory and do every
 * increment, as a real thread-local counter that others may read would. */
static uint64_t loop_tls_inc(void)
{
	uint64_t ops = 0;

	tls_count = 0;
	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			tls_count++;
			__asm__ __volatile__("" : "+m"(tls_count));
		}
		ops += BATCH;
	}
	__atomic_fetch_add(&target.tls_total, tls_count, __ATOMIC_RELAXED);
	return ops;
}

static uint64_t total_tls(void)
{
	return target.tls_total;
}

static void reset_shared_word(void)
{
	target.shared_word = 0;
}

static uint64_t loop_atomic_shared(void)
{
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			__atomic_fetch_add(&target.shared_word, 1,
					   __ATOMIC_RELAXED);
		ops += BATCH;
	}
	return ops;
}

static uint64_t total_shared_word(void)
{
	return target.shared_word;
}

static void reset_slots(void)
{
	memset(target.slots, 0, target.nr_slots * sizeof(*target.slots));
}

static uint64_t loop_getcpu_atomic(void)
{
	struct slot *slots = target.slots;
	unsigned int n = target.nr_slots;
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			unsigned int cpu = (unsigned int)sched_getcpu();

			__atomic_fetch_add(&slots[cpu < n ? cpu : 0].n, 1,
					   __ATOMIC_RELAXED);
		}
		ops += BATCH;
	}
	return ops;
}

static uint64_t total_slots(void)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < target.nr_slots; i++)
		sum += target.slots[i].n;
	return sum;
}

static void reset_mutex_word(void)
{
	target.mutex_word = 0;
}

static uint64_t loop_mutex(void)
{
	uint64_t ops = 0;

	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++) {
			pthread_mutex_lock(&target.mutex);
			target.mutex_word++;
			pthread_mutex_unlock(&target.mutex);
		}
		ops += BATCH;
	}
	return ops;
}

static uint64_t total_mutex_word(void)
{
	return target.mutex_word;
}

static const struct impl impls[] = {
	{ "add", PATH_RSEQ, reset_counter, loop_percpu_add, sum_counter },
	{ "add", PATH_LOCK, reset_counter, loop_percpu_add, sum_counter },
	{ "baseline_tls_inc", PATH_NONE, reset_tls, loop_tls_inc, total_tls },
	{ "baseline_atomic_shared", PATH_NONE, reset_shared_word,
	  loop_atomic_shared, total_shared_word },
	{ "baseline_getcpu_atomic", PATH_NONE, reset_slots, loop_getcpu_atomic,
	  total_slots },
	{ "baseline_mutex", PATH_NONE, reset_mutex_word, loop_mutex,
	  total_mutex_word },
};
#define NR_IMPLS (sizeof(impls) / sizeof(impls[0]))

/* ---- the harness ---- */

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
	struct sample s = { 0, 0, 0 };

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
	return s;
}

static struct sample measure(const struct impl *im, int nthreads)
{
	struct worker *w = aligned_alloc(CACHE_LINE, nthreads * sizeof(*w));
	struct sample s;

	if (!w)
		die("out of memory");
	memset(w, 0, nthreads * sizeof(*w));
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

/* ---- repetitions, medians, output ---- */

struct figure {
	double *samples;	/* opt.reps of them */
	unsigned int modes;
	double median;
	unsigned int busy;	/* repetitions mostly off a CPU */
};

static struct figure figures[NR_IMPLS][MAX_THREAD_COUNTS];
static int thread_counts[MAX_THREAD_COUNTS];
static int nr_thread_counts;

static void record(struct figure *f, unsigned int rep, struct sample s)
{
	f->samples[rep] = s.ns_per_op;
	f->modes |= s.modes;
	if (s.on_cpu < BUSY_ON_CPU)
		f->busy++;
}

/* Rotating the order each repetition keeps any cost of following a given
 * row (a fork, a cold cache) from always landing on the same row. */
static void run_all(void)
{
	for (unsigned int rep = 0; rep < opt.reps; rep++)
		for (int t = 0; t < nr_thread_counts; t++)
			for (unsigned int k = 0; k < NR_IMPLS; k++) {
				unsigned int i = (k + rep) % NR_IMPLS;
				const struct impl *im = &impls[i];
				int n = thread_counts[t];

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

/* What the threads really ran in, never what the row hoped for. */
static const char *mode_label(const struct impl *im, unsigned int modes)
{
	if (im->path == PATH_NONE)
		return "-";
	if (modes == 1u << PERCPU_MODE_RSEQ)
		return "rseq";
	if (modes == 1u << PERCPU_MODE_LOCK)
		return "lock";
	return "mixed";
}

static const char *row_mode(unsigned int i)
{
	unsigned int modes = 0;

	for (int t = 0; t < nr_thread_counts; t++)
		modes |= figures[i][t].modes;
	return mode_label(&impls[i], modes);
}

static void print_csv(void)
{
	printf("benchmark,mode,threads,ns_per_op\n");
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts; t++)
			printf("%s,%s,%d,%.2f\n", impls[i].name,
			       mode_label(&impls[i], figures[i][t].modes),
			       thread_counts[t], figures[i][t].median);
}

static void print_table(void)
{
	printf("ns per operation per thread, median of %u x %u ms\n\n",
	       opt.reps, opt.ms);
	printf("%-24s %-5s", "benchmark", "mode");
	for (int t = 0; t < nr_thread_counts; t++)
		printf(" %6d thread%s", thread_counts[t],
		       thread_counts[t] > 1 ? "s" : " ");
	printf("\n");
	for (unsigned int i = 0; i < NR_IMPLS; i++) {
		printf("%-24s %-5s", impls[i].name, row_mode(i));
		for (int t = 0; t < nr_thread_counts; t++)
			printf(" %13.2f", figures[i][t].median);
		printf("\n");
	}
}

/* ---- setup and options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: percpu-bench [--csv] [--reps N] [--ms N] [--help]\n"
		"  --csv     print benchmark,mode,threads,ns_per_op rows\n"
		"  --reps N  repetitions per figure, the median is shown "
		"(default 7)\n"
		"  --ms N    milliseconds per repetition (default 100)\n");
}

static unsigned int parse_count(const char *s, const char *what,
				unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > max) {
		fprintf(stderr,
			"percpu-bench: %s: expected 1 to %lu, got '%s'\n",
			what, max, s);
		exit(2);
	}
	return (unsigned int)v;
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "csv", no_argument, NULL, 'c' },
		{ "reps", required_argument, NULL, 'r' },
		{ "ms", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.csv = 1; break;
		case 'r': opt.reps = parse_count(optarg, "--reps", 1000); break;
		case 'm': opt.ms = parse_count(optarg, "--ms", 60000); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "percpu-bench: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		exit(2);
	}
}

static void setup_targets(void)
{
	target.counter = percpu_alloc(sizeof(intptr_t));
	target.nr_slots = (unsigned int)percpu_nr_shards();
	target.slots = aligned_alloc(CACHE_LINE,
				     target.nr_slots * sizeof(*target.slots));
	if (!target.counter || !target.slots)
		die("out of memory");
	pthread_mutex_init(&target.mutex, NULL);
}

static void setup_figures(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	thread_counts[nr_thread_counts++] = 1;
	if (cpus > 1)
		thread_counts[nr_thread_counts++] = (int)cpus;
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts; t++) {
			double *v = calloc(opt.reps, sizeof(*v));

			if (!v)
				die("out of memory");
			figures[i][t].samples = v;
		}
}

/* A process not in rseq mode measures its "rseq" row in lock mode: say so. */
static void check_mode(void)
{
	const char *why;

	if (percpu_mode(&why) != PERCPU_MODE_RSEQ)
		fprintf(stderr,
			"percpu-bench: not in rseq mode (%s): the add row that "
			"should be rseq is measured, and labelled, in lock "
			"mode\n", why);
}

static void compute_medians(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts; t++)
			figures[i][t].median =
				median(figures[i][t].samples, opt.reps);
}

/* A row meant for rseq that ran otherwise is said so, on stderr. */
static void warn_modes(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts; t++) {
			const char *m = mode_label(&impls[i],
						   figures[i][t].modes);

			if (impls[i].path == PATH_RSEQ && strcmp(m, "rseq"))
				fprintf(stderr, "percpu-bench: %s, %d "
					"thread(s): ran in %s mode, not rseq\n",
					impls[i].name, thread_counts[t], m);
		}
}

/* Wall time includes waiting for a CPU: say which figures other load may
 * have hit; a median is inflated only if more than half its repetitions
 * were. Contended mutex threads also sleep, so theirs may be legitimate. */
static void warn_busy(void)
{
	const char *sep = "percpu-bench: repetitions whose threads were off a "
			  "CPU over 10% of the time (machine busy, or blocked "
			  "in a mutex):";

	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts; t++) {
			const struct figure *f = &figures[i][t];

			if (!f->busy)
				continue;
			fprintf(stderr, "%s %s/%s/%d %u of %u", sep,
				impls[i].name, mode_label(&impls[i], f->modes),
				thread_counts[t], f->busy, opt.reps);
			sep = ",";
		}
	if (*sep == ',')
		fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	check_mode();
	setup_targets();
	setup_figures();
	run_all();
	compute_medians();
	warn_modes();
	warn_busy();
	if (opt.csv)
		print_csv();
	else
		print_table();
	return 0;
}
