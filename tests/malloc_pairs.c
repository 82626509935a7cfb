// SPDX-License-Identifier: MIT
/*
 * tests/malloc_pairs.c: a quick measurement, not a benchmark suite: 64
 * live objects of 64 bytes, one thread; each round frees the oldest and
 * allocates a new one. Prints the median ns per malloc+free pair over 7
 * runs. Uses whatever malloc the process has: run it plain for glibc and
 * with LD_PRELOAD=build/libpercpu-malloc.so for ours
 * (tests/malloc_pairs.t does both in one run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LIVE 64
#define ROUNDS 10000000L
#define RUNS 7

static void *volatile slot[LIVE];

static double run(size_t size)
{
	struct timespec a, b;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (long i = 0; i < ROUNDS; i++) {
		free(slot[i % LIVE]);
		slot[i % LIVE] = malloc(size);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 +
		(double)(b.tv_nsec - a.tv_nsec)) / ROUNDS;
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? (size_t)atol(argv[1]) : 64;
	double ns[RUNS];

	for (int i = 0; i < LIVE; i++)
		slot[i] = malloc(size);
	run(size);	/* warm up */
	for (int r = 0; r < RUNS; r++)
		ns[r] = run(size);
	qsort(ns, RUNS, sizeof(ns[0]), cmp);
	printf("%.2f ns CPU per pair (median of %d; min %.2f, max %.2f), %zu B, %d live\n",
	       ns[RUNS / 2], RUNS, ns[0], ns[RUNS - 1], size, LIVE);
	return 0;
}
