// SPDX-License-Identifier: MIT
/*
 * tests/malloc_carve.c: objects never handed out before come from a span
 * that one shard carves alone (src/malloc/central.c).
 *
 * Two threads pinned to CPUs 0 and 1 take turns allocating objects of a
 * class nothing else here uses, a batch each turn: no span may hold
 * objects of both (when the CPUs took turns at one span, each span held
 * both's). Then, with no new span to be had (as when the range is used
 * up), a thread on CPU 1 must still get an object of a class whose one
 * span CPU 0 carves, from that span. Last, the consistency walk.
 *
 * With CPU ids only: with concurrency ids a thread's shard is the id it
 * holds while it runs, and two threads taking turns may hold the same.
 */
#include <stdint.h>
#include "tap.h"
#include "percpu_malloc.h"

#define SPAN_SHIFT 18		/* src/malloc/malloc_internal.h */
#define TURN_SIZE 1792		/* a class of its own, 4 objects a batch */
#define TURNS 12
#define TURN 4
#define SHORT_SIZE 2560		/* another class nothing else uses */

extern int percpu_malloc_no_new_spans;

static pthread_barrier_t turn;
static void *objs[2][TURNS * TURN];

static void *take_turns(void *arg)
{
	int me = (int)(intptr_t)arg;

	test_pin_to(me);
	test_thread_setup(me);
	for (int t = 0; t < TURNS; t++) {
		for (int i = 0; i < 2; i++) {
			pthread_barrier_wait(&turn);
			if (i != me)
				continue;
			for (int k = 0; k < TURN; k++)
				objs[me][t * TURN + k] = malloc(TURN_SIZE);
		}
	}
	return NULL;
}

static int in_list(void *const *v, int n, uintptr_t span)
{
	for (int i = 0; i < n; i++)
		if ((uintptr_t)v[i] >> SPAN_SHIFT == span)
			return 1;
	return 0;
}

static void spans_apart(void)
{
	pthread_t t[2];
	int shared = 0, missing = 0;

	pthread_barrier_init(&turn, NULL, 2);
	for (intptr_t i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, take_turns, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < TURNS * TURN; i++) {
		missing += !objs[0][i] || !objs[1][i];
		shared += objs[0][i] &&
			  in_list(objs[1], TURNS * TURN,
				  (uintptr_t)objs[0][i] >> SPAN_SHIFT);
	}
	ok(!missing && !shared,
	   "CPUs 0 and 1 taking turns, %d objects of %d B each: %d of CPU "
	   "0's in a span that holds CPU 1's (%d NULL)", TURNS * TURN,
	   TURN_SIZE, shared, missing);
	for (int i = 0; i < TURNS * TURN; i++) {
		free(objs[0][i]);
		free(objs[1][i]);
	}
}

#define FIRST_MAX 64
static void *firsts[FIRST_MAX];
static int nfirsts;
static void *second;

/* The objects of SHORT_SIZE's class held by caches (a drain would hand
 * them to another CPU). */
static uint64_t short_cached(void)
{
	struct percpu_malloc_stats st;
	int c = 0;

	percpu_malloc_stats(&st);
	while (st.cls[c].size < SHORT_SIZE)
		c++;
	return st.cls[c].cached + st.cls[c].transfer;
}

/* CPU 0: objects until its cache holds none; CPU 1: one object. */
static void *allocate_short(void *arg)
{
	int me = (int)(intptr_t)arg;

	test_pin_to(me);
	test_thread_setup(me);
	if (me == 1) {
		second = malloc(SHORT_SIZE);
		return NULL;
	}
	do
		firsts[nfirsts++] = malloc(SHORT_SIZE);
	while (nfirsts < FIRST_MAX && short_cached());
	return NULL;
}

static void on_cpu(int cpu)
{
	pthread_t t;

	pthread_create(&t, NULL, allocate_short, (void *)(intptr_t)cpu);
	pthread_join(t, NULL);
}

static void span_shared_when_none_left(void)
{
	uint64_t cached;

	on_cpu(0);
	cached = short_cached();
	percpu_malloc_no_new_spans = 1;
	on_cpu(1);
	percpu_malloc_no_new_spans = 0;
	ok(!cached && firsts[0] && second &&
	   (uintptr_t)firsts[0] >> SPAN_SHIFT ==
		   (uintptr_t)second >> SPAN_SHIFT,
	   "no new span to be had, nothing cached (%llu): CPU 1 takes an "
	   "object of %d B from the span CPU 0 carves (%p after %d of CPU "
	   "0's, the first %p)", (unsigned long long)cached, SHORT_SIZE,
	   second, nfirsts, firsts[0]);
	for (int i = 0; i < nfirsts; i++)
		free(firsts[i]);
	free(second);
}

static void walk(void)
{
	struct percpu_malloc_check c;
	int rc = percpu_malloc_check(&c);

	ok(rc == 0, "consistency walk: %llu spans, %llu in use (counted "
	   "%llu), %llu duplicates, %llu invalid, %llu bad spans",
	   (unsigned long long)c.spans, (unsigned long long)c.in_use,
	   (unsigned long long)c.in_use_counted,
	   (unsigned long long)c.duplicates, (unsigned long long)c.invalid,
	   (unsigned long long)c.bad_spans);
}

int main(void)
{
	tap_check_mode();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("ok %d # SKIP two CPUs needed\n", ++tap_count);
		return tap_done();
	}
	spans_apart();
	span_shared_when_none_left();
	walk();
	return tap_done();
}
