/* SPDX-License-Identifier: MIT */
/*
 * tools/bench-malloc/main.c: bench-malloc runs one workload with a number
 * of threads for a duration and prints one line of key=value figures:
 *   pairs            malloc+free pairs done by all threads
 *   wall_ns          the timed region (threads released to threads joined)
 *   ns_per_pair      wall_ns * min(threads, CPUs) / pairs: the machine's
 *                    time per pair (with more threads than CPUs, threads
 *                    take turns, so a thread's own figure would overstate)
 *   cpu_ns_per_pair  user+system CPU time of the process (getrusage) / pairs
 *   foreign_pct      CPU time spent by other processes during the timed
 *                    region (/proc/stat busy+steal minus ours), as a share
 *                    of wall_ns * online CPUs
 *   lost_pct         time our threads could have run but did not: 1 -
 *                    CPU time / (wall_ns * min(threads, CPUs)); with
 *                    foreign_pct, the driver's noise measure
 * usage: bench-malloc -w WORKLOAD [-t THREADS] [-m MS] | -l
 * -w rss: the resident-memory mode (rss.c) instead.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "bench-malloc.h"

struct sample {
	uint64_t wall_ns;
	uint64_t cpu_ns;	/* this process */
	uint64_t busy_ns;	/* every CPU, from /proc/stat */
};

struct worker {
	struct run *run;
	int id;
	struct slot *slot;
};

long vm_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

/* Busy time of all CPUs: user, nice, system, irq, softirq and steal
 * (time the hypervisor gave to someone else is lost to us too). */
static uint64_t busy_ns(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	long hz = sysconf(_SC_CLK_TCK);
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8 || hz <= 0)
		return 0;
	return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * (1000000000ull / (uint64_t)hz);
}

static void take_sample(struct sample *s)
{
	struct timespec ts;
	struct rusage ru;

	s->busy_ns = busy_ns();
	getrusage(RUSAGE_SELF, &ru);
	s->cpu_ns = tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->wall_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&w->run->start);
	w->run->w->work(w->run, w->id, &w->slot->pairs);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Starts the threads, lets them run ms milliseconds, joins them. */
static uint64_t timed_run(struct run *run, int ms, struct sample *a, struct sample *b)
{
	static pthread_t tid[MAX_THREADS];
	static struct worker workers[MAX_THREADS];
	static struct slot slots[MAX_THREADS];
	uint64_t pairs = 0;

	pthread_barrier_init(&run->start, NULL, (unsigned)run->threads + 1);
	for (int i = 0; i < run->threads; i++) {
		workers[i] = (struct worker){ run, i, &slots[i] };
		if (pthread_create(&tid[i], NULL, worker_main, &workers[i]) != 0) {
			fprintf(stderr, "bench-malloc: pthread_create failed\n");
			exit(1);
		}
	}
	/* The first sample before the threads are released: a loaded
	 * machine may run them long before this thread wakes from the
	 * barrier, and their pairs must all fall inside the samples. */
	take_sample(a);
	pthread_barrier_wait(&run->start);
	sleep_ms(ms);
	atomic_store(&run->stop, 1);
	for (int i = 0; i < run->threads; i++)
		pthread_join(tid[i], NULL);
	take_sample(b);
	for (int i = 0; i < run->threads; i++)
		pairs += slots[i].pairs;
	return pairs;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

/* The CPUs this process may run on (taskset narrows them). */
static int usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return online_cpus();
	return CPU_COUNT(&set);
}

static void report(struct run *run, uint64_t pairs, const struct sample *a,
		   const struct sample *b)
{
	uint64_t wall = b->wall_ns - a->wall_ns, cpu = b->cpu_ns - a->cpu_ns;
	uint64_t busy = b->busy_ns - a->busy_ns;
	int used = run->threads < usable_cpus() ? run->threads : usable_cpus();
	double foreign = busy > cpu ? (double)(busy - cpu) : 0.0;
	double lost = 1.0 - (double)cpu / ((double)wall * used);

	if (pairs == 0)
		pairs = 1;
	printf("workload=%s threads=%d pairs=%llu wall_ns=%llu ns_per_pair=%.3f"
	       " cpu_ns_per_pair=%.3f foreign_pct=%.1f lost_pct=%.1f\n", run->w->name,
	       run->threads, (unsigned long long)pairs, (unsigned long long)wall,
	       (double)wall * used / (double)pairs, (double)cpu / (double)pairs,
	       100.0 * foreign / ((double)wall * online_cpus()),
	       lost > 0 ? 100.0 * lost : 0.0);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-malloc -w WORKLOAD [-t THREADS] [-m MS] | -l\n"
		"  -w rss: VmRSS at start and with THREADS threads alive\n");
	exit(2);
}

static const struct workload *find_workload(const char *name)
{
	for (int i = 0; i < nr_workloads; i++)
		if (strcmp(workloads[i].name, name) == 0)
			return &workloads[i];
	return NULL;
}

static void list(void)
{
	for (int i = 0; i < nr_workloads; i++)
		printf("%-9s %s\n", workloads[i].name, workloads[i].what);
	printf("%-9s %s\n", "rss", "VmRSS at start and with -t threads alive");
}

int main(int argc, char **argv)
{
	static struct run run;
	const char *name = NULL;
	struct sample a, b;
	int threads = 1, ms = 400, opt;
	uint64_t pairs;

	while ((opt = getopt(argc, argv, "w:t:m:l")) != -1) {
		switch (opt) {
		case 'w': name = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 'm': ms = atoi(optarg); break;
		case 'l': list(); return 0;
		default: usage();
		}
	}
	if (name == NULL || threads < 1 || threads > MAX_THREADS || ms < 1)
		usage();
	if (strcmp(name, "rss") == 0)
		return rss_mode(threads);
	run.w = find_workload(name);
	if (run.w == NULL)
		usage();
	if (threads < run.w->min_threads) {
		fprintf(stderr, "bench-malloc: %s needs %d threads\n", name,
			run.w->min_threads);
		return 2;
	}
	run.threads = threads;
	if (run.w->setup != NULL && run.w->setup(&run) != 0) {
		fprintf(stderr, "bench-malloc: %s: set-up failed\n", name);
		return 1;
	}
	pairs = timed_run(&run, ms, &a, &b);
	if (run.w->teardown != NULL)
		run.w->teardown(&run);
	report(&run, pairs, &a, &b);
	return 0;
}
