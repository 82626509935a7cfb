/* SPDX-License-Identifier: MIT */
/*
 * tools/bench-malloc/rss.c: resident memory at start and with many threads
 * alive. The main thread allocates and frees one object (so that the
 * allocator has initialised), reads VmRSS, starts the threads; each keeps
 * a few objects of assorted sizes; with all of them alive, VmRSS again.
 */
#include <stdio.h>
#include <stdlib.h>
#include "bench-malloc.h"

static const size_t keep_sizes[] = { 16, 32, 64, 128, 256, 512, 1024, 4096 };
#define KEEP (sizeof(keep_sizes) / sizeof(keep_sizes[0]))

struct rss_run {
	pthread_barrier_t alive;	/* every thread holds its objects */
	pthread_barrier_t done;		/* main has read VmRSS */
};

static void *keeper(void *arg)
{
	struct rss_run *r = arg;
	void *kept[KEEP];

	for (size_t i = 0; i < KEEP; i++) {
		kept[i] = malloc(keep_sizes[i]);
		touch(kept[i], keep_sizes[i]);
	}
	pthread_barrier_wait(&r->alive);
	pthread_barrier_wait(&r->done);
	for (size_t i = 0; i < KEEP; i++)
		free(kept[i]);
	return NULL;
}

int rss_mode(int threads)
{
	static pthread_t tid[MAX_THREADS];
	struct rss_run r;
	void *p = malloc(64);
	long start, alive;

	touch(p, 64);
	free(p);
	start = vm_rss_kb();
	pthread_barrier_init(&r.alive, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&r.done, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&tid[i], NULL, keeper, &r) != 0) {
			fprintf(stderr, "bench-malloc: pthread_create failed\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&r.alive);
	alive = vm_rss_kb();
	pthread_barrier_wait(&r.done);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	printf("workload=rss threads=%d rss_start_kb=%ld rss_threads_kb=%ld\n",
	       threads, start, alive);
	return 0;
}
