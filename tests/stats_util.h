/* SPDX-License-Identifier: MIT */
/*
 * tests/stats_util.h: what the statistics tests share: reproducible random
 * values, a logarithm without libm (tests link only the library and
 * pthread), and worker threads that start together, each told its index
 * so that in mixed mode the odd ones take the lock path.
 */
#ifndef PERCPU_TESTS_STATS_UTIL_H
#define PERCPU_TESTS_STATS_UTIL_H

#include <pthread.h>
#include "tap.h"

#define THREADS 4

static pthread_barrier_t go;

/* xorshift64*: reproducible, and no shared state between threads. */
static __attribute__((unused)) uint64_t next_rand(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ull;
}

/* Uniform in (0, 1]. */
static __attribute__((unused)) double next_unit(uint64_t *state)
{
	return (double)((next_rand(state) >> 11) + 1) / 9007199254740992.0;
}

/* ln x for x > 0: x = m * 2^e with m in [1, 2), then the atanh series
 * of (m - 1) / (m + 1), at most 1/3, to double precision. */
static __attribute__((unused)) double ln(double x)
{
	double t, t2, term, sum = 0;
	int e = 0;

	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	t = (x - 1) / (x + 1);
	t2 = t * t;
	term = t;
	for (int k = 1; k < 60; k += 2, term *= t2)
		sum += term / k;
	return 2 * sum + e * 0.69314718055994530942;
}

/* A registry's exposition (percpu_registry_write), malloc'd, or NULL. */
static __attribute__((unused)) char *registry_text(struct percpu_registry *r)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	if (percpu_registry_write(r, f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	return text;
}

struct worker {
	pthread_t tid;
	int index;
	void *arg;
	void *(*fn)(void *arg, int index);
};

static __attribute__((unused)) void *worker_start(void *p)
{
	struct worker *w = p;

	test_thread_setup(w->index);
	pthread_barrier_wait(&go);
	return w->fn(w->arg, w->index);
}

/* n threads run fn(arg, index) from the same moment; join with join_all. */
static __attribute__((unused)) void spawn_all(struct worker *w, int n,
					      void *(*fn)(void *, int),
					      void *arg)
{
	pthread_barrier_init(&go, NULL, (unsigned int)n);
	for (int i = 0; i < n; i++) {
		w[i].index = i;
		w[i].arg = arg;
		w[i].fn = fn;
		if (pthread_create(&w[i].tid, NULL, worker_start, &w[i]))
			abort();
	}
}

static __attribute__((unused)) void join_all(struct worker *w, int n)
{
	for (int i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
	pthread_barrier_destroy(&go);
}

#endif
