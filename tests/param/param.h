/* SPDX-License-Identifier: MIT */
/*
 * tests/param/param.h: what the files of tests/param share: the options,
 * the worker threads' records, and the tests of structures.c.
 */
#ifndef PERCPU_TESTS_PARAM_H
#define PERCPU_TESTS_PARAM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <percpu.h>

#define CACHE_LINE 64

struct worker_ctx;

struct test {
	const char *name;
	void (*setup)(void);
	void (*op)(struct worker_ctx *, unsigned long);
	void (*check)(void);
};

struct param_options {
	const struct test *test;
	int threads;			/* 0: 6 x online CPUs */
	unsigned long reps;
	unsigned int delay[PERCPU_INJECT_POINTS];
	unsigned int yield_pct, signal_pct, sleep_pct;
	const char *mode;		/* NULL: PERCPU_TEST_MODE decides */
	unsigned int timeout;
	int verbose;
};

struct worker_ctx {
	pthread_t tid;
	int index;
	enum percpu_mode mode;
	uint64_t rng;
	unsigned long errors;		/* a result the API does not allow */
	unsigned long changed, moved;	/* retries, by reason */
	unsigned long raised;
	long handled;
	intptr_t drained;		/* increment: taken by percpu_xchg */
	intptr_t *fetch_count;		/* increment, per shard: fetch_adds */
	intptr_t *fetch_sum;		/* and the sum of the values returned */
} __attribute__((aligned(CACHE_LINE)));

/* main.c */
extern struct param_options opt;
extern struct worker_ctx *workers;	/* opt.threads of them */
extern int nr_shards;
void bail(const char *what);
void *must(void *p, const char *what);

/* structures.c */
extern const struct test tests[];
extern const size_t nr_tests;
void size_objects(void);
intptr_t *alloc_words(size_t n);

#endif
