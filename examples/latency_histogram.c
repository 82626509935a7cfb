// SPDX-License-Identifier: MIT
/*
 * latency_histogram: threads time an operation (here sched_yield(), with
 * more threads than CPUs) and record each latency in a per-CPU histogram
 * (percpu/stats.h): a record is a few per-CPU operations, no atomic
 * instruction and no shared cache line. The report takes a snapshot, prints
 * the counts by power of two with the median, 99th percentile and maximum,
 * and checks that no sample was lost.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <percpu.h>

#define THREADS 4
#define SAMPLES 20000		/* per thread */
#define OCTAVES 40		/* rows of the report: [2^k, 2^(k+1)) ns */

static struct percpu_histogram latency;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < SAMPLES; i++) {
		uint64_t t0 = now_ns();

		sched_yield();
		percpu_histogram_record(&latency, now_ns() - t0);
	}
	return NULL;
}

/* The snapshot's buckets summed by power of two of their lower bound. */
static void by_octave(const struct percpu_histogram_snapshot *s,
		      uint64_t *octave)
{
	for (size_t i = 0; i < s->nr_buckets; i++) {
		uint64_t low, high;
		int k;

		if (!s->buckets[i])
			continue;
		percpu_histogram_bucket_range(i, &low, &high);
		k = low ? 63 - __builtin_clzll(low) : 0;
		octave[k < OCTAVES ? k : OCTAVES - 1] += s->buckets[i];
	}
}

static void print_octaves(const uint64_t *octave)
{
	uint64_t most = 1;

	for (int k = 0; k < OCTAVES; k++)
		most = octave[k] > most ? octave[k] : most;
	for (int k = 0; k < OCTAVES; k++) {
		int len = (int)(50 * octave[k] / most);

		if (octave[k])
			printf("%12llu ns %9llu %.*s\n", 1ULL << k,
			       (unsigned long long)octave[k], len,
			       "##################################################");
	}
}

int main(void)
{
	struct percpu_histogram_snapshot snap;
	uint64_t octave[OCTAVES] = { 0 };
	pthread_t tid[THREADS];
	int lost;

	if (percpu_histogram_init(&latency, 10000000000u))	/* 10 s */
		return perror("percpu_histogram_init"), 1;
	for (int t = 0; t < THREADS; t++)
		if (pthread_create(&tid[t], NULL, worker, NULL))
			return fprintf(stderr, "pthread_create failed\n"), 1;
	for (int t = 0; t < THREADS; t++)
		pthread_join(tid[t], NULL);
	if (percpu_histogram_snapshot_take(&latency, &snap))
		return perror("percpu_histogram_snapshot_take"), 1;
	percpu_histogram_destroy(&latency);

	printf("sched_yield() latency, %d threads, %llu samples "
	       "(from, count)\n", THREADS, (unsigned long long)snap.count);
	by_octave(&snap, octave);
	print_octaves(octave);
	printf("median %llu ns, 99th percentile %llu ns, max %llu ns\n",
	       (unsigned long long)percpu_histogram_quantile(&snap, 0.5),
	       (unsigned long long)percpu_histogram_quantile(&snap, 0.99),
	       (unsigned long long)snap.max);
	lost = snap.count != (uint64_t)THREADS * SAMPLES;
	percpu_histogram_snapshot_destroy(&snap);
	if (lost)
		return fprintf(stderr, "latency_histogram: lost samples\n"), 1;
	return 0;
}
