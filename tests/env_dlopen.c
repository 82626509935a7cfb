// SPDX-License-Identifier: MIT
/*
 * tests/env_dlopen.c: the shared library loaded with dlopen() and closed
 * with dlclose() CYCLES times, while worker threads keep operating through
 * the functions found after the first dlopen(). This program does not link
 * the library: the inline fast paths need it linked, so everything goes
 * through its exported out-of-line functions, found with dlsym().
 *
 * libpercpu.so is linked with -z nodelete, so dlclose() never unmaps it:
 * its state (pool, shard words, objects, registrations), its code and the
 * rseq_cs descriptors a thread's area may still point to after a section
 * all survive, and a later dlopen() finds the same copy. Hence the same
 * symbol addresses in every cycle, objects allocated before a dlclose()
 * stay valid after it, and sums run on across cycles. (Linked without
 * -z nodelete, the library is unmapped by the first dlclose() and this
 * program crashes at once.) Its TLS is initial-exec but small, so dlopen()
 * fits it in glibc's surplus static TLS rather than failing with "cannot
 * allocate memory in static TLS block".
 *
 * usage: env_dlopen PATH-TO-LIBPERCPU.SO; the mode from PERCPU_TEST_MODE.
 */
#include <dlfcn.h>
#include <pthread.h>
#include "tap.h"

#define CYCLES 1000
#define NR_WORKERS 2
/* Every this many cycles, a thread created after the dlopen() operates. */
#define THREAD_EVERY 50
#define THREAD_ADDS 100

/* What a program that only dlopen()s the library can call. */
/* percpu_mode_get(); a typedef, as the 0.1.0 macro percpu_mode would take
 * "enum percpu_mode (" for a call. */
typedef enum percpu_mode mode_fn(const char **reason);

struct api {
	void *(*alloc)(size_t size);
	int (*free)(void *p);
	int (*add)(intptr_t *p, intptr_t v);
	intptr_t (*fetch_add)(intptr_t *p, intptr_t v, int *shard);
	int (*nr_shards)(void);
	mode_fn *mode;
	struct percpu_rt *rt;
};

struct worker {
	pthread_t tid;
	intptr_t added;
	int same_mode;
};

static const char *lib_path;
static struct api first;	/* from the first dlopen() */
static intptr_t *counter;
static int stop;
static pthread_barrier_t loaded;

/* 0 if every symbol was found. */
static int load(void *h, struct api *a)
{
	a->alloc = (void *(*)(size_t))dlsym(h, "percpu_alloc");
	a->free = (int (*)(void *))dlsym(h, "percpu_free");
	a->add = (int (*)(intptr_t *, intptr_t))dlsym(h, "percpu_add_slow");
	a->fetch_add = (intptr_t (*)(intptr_t *, intptr_t, int *))
		dlsym(h, "percpu_fetch_add_slow");
	a->nr_shards = (int (*)(void))dlsym(h, "percpu_nr_shards");
	a->mode = (mode_fn *)dlsym(h, "percpu_mode_get");
	a->rt = dlsym(h, "percpu_rt_v2");
	return a->alloc && a->free && a->add && a->fetch_add && a->nr_shards &&
	       a->mode && a->rt ? 0 : -1;
}

/* The exact sum, read through the runtime state and the stride. */
static intptr_t sum(const struct api *a, intptr_t *p)
{
	intptr_t total = 0;

	for (unsigned int k = 0; k < a->rt->nr_shards; k++)
		total += *(intptr_t *)((char *)p + (size_t)k * PERCPU_STRIDE);
	return total;
}

/* As tap_check_mode(), through the dlsym()ed percpu_mode_get. */
static void check_mode(const struct api *a)
{
	const char *reason;
	enum percpu_mode m = a->mode(&reason);
	enum percpu_mode want = test_mode() == TEST_LOCK ? PERCPU_MODE_LOCK :
							   PERCPU_MODE_RSEQ;

	ok(m == want, "mode is %s as asked (%s: %s)", test_mode_name(),
	   m == PERCPU_MODE_RSEQ ? "rseq" : "lock", reason);
}

static enum percpu_mode want_mode;
static const char *want_reason;

static int in_main_mode(const struct api *a)
{
	const char *reason;

	return a->mode(&reason) == want_mode && !strcmp(reason, want_reason);
}

/*
 * Workers start before the first dlopen(), which must then set up their
 * copy of the library's TLS too: they wait for it at the barrier.
 */
static void *worker_run(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&loaded);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		first.add(counter, 1);
		first.fetch_add(counter, 2, NULL);
		w->added += 3;
	}
	w->same_mode = in_main_mode(&first);
	return NULL;
}

/* What the cycles saw. */
struct cycles {
	int opened, same, objects, threads;
	intptr_t added;		/* by the main thread and the late threads */
	char error[256];
};

/* A thread born after a dlopen(): THREAD_ADDS adds, in the main's mode. */
static void *late_thread(void *arg)
{
	const struct api *a = arg;

	for (int i = 0; i < THREAD_ADDS; i++)
		a->add(counter, 1);
	return in_main_mode(a) ? arg : NULL;
}

static int run_late_thread(struct api *a)
{
	pthread_t tid;
	void *res = NULL;

	if (pthread_create(&tid, NULL, late_thread, a))
		return 0;
	pthread_join(tid, &res);
	return res != NULL;
}

/* Close, reopen, and operate through what the new handle gives. */
static int cycle(int i, struct cycles *c, void **h)
{
	struct api now;
	intptr_t *q;

	dlclose(*h);
	*h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	if (!*h || load(*h, &now)) {
		snprintf(c->error, sizeof(c->error), ": %s",
			 *h ? "missing symbols" : dlerror());
		return -1;
	}
	c->opened++;
	c->same += !memcmp(&now, &first, sizeof(now));
	now.add(counter, 5);
	c->added += 5;
	q = now.alloc(sizeof(*q));
	c->objects += q && now.add(q, 7) >= 0 && sum(&now, q) == 7 &&
		      now.free(q) == 0;
	if (i % THREAD_EVERY == 0) {
		c->threads += run_late_thread(&now);
		c->added += THREAD_ADDS;
	}
	return 0;
}

static intptr_t stop_workers(struct worker *w)
{
	intptr_t added = 0;
	int same = 0;

	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NR_WORKERS; i++) {
		pthread_join(w[i].tid, NULL);
		added += w[i].added;
		same += w[i].same_mode;
	}
	ok(same == NR_WORKERS, "%d of %d threads started before the dlopen() "
	   "ran in the main's mode", same, NR_WORKERS);
	return added;
}

/* After the last dlclose(), nodelete keeps the library loaded. */
static int still_loaded(void)
{
	void *h = dlopen(lib_path, RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

static void report(const struct cycles *c, intptr_t added)
{
	ok(c->opened == CYCLES, "%d of %d dlopen() after dlclose() succeeded%s",
	   c->opened, CYCLES, c->error);
	ok(c->same == CYCLES, "same symbol addresses in %d cycles", c->same);
	ok(c->objects == CYCLES, "a new object summed exactly in %d cycles",
	   c->objects);
	ok(c->threads == CYCLES / THREAD_EVERY,
	   "%d threads started after a dlopen() ran in the main's mode",
	   c->threads);
	ok(sum(&first, counter) == added &&
	   first.nr_shards() == (int)first.rt->nr_shards,
	   "counter sum %ld over %d shards, added %ld",
	   (long)sum(&first, counter), first.nr_shards(), (long)added);
}

/* The first dlopen(), and the counter every thread adds to. */
static void *open_first(void)
{
	void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);

	if (!h || load(h, &first)) {
		printf("Bail out! %s\n", h ? "missing symbols" : dlerror());
		return NULL;
	}
	counter = first.alloc(sizeof(*counter));
	if (!counter)
		printf("Bail out! percpu_alloc failed\n");
	return counter ? h : NULL;
}

int main(int argc, char **argv)
{
	struct worker w[NR_WORKERS] = { 0 };
	struct cycles c = { 0 };
	void *h;
	int kept;

	if (argc != 2) {
		fprintf(stderr, "usage: env_dlopen PATH-TO-LIBPERCPU.SO\n");
		return 2;
	}
	lib_path = argv[1];
	pthread_barrier_init(&loaded, NULL, NR_WORKERS + 1);
	for (int i = 0; i < NR_WORKERS; i++)
		pthread_create(&w[i].tid, NULL, worker_run, &w[i]);
	h = open_first();
	if (!h)
		return 1;
	check_mode(&first);
	want_mode = first.mode(&want_reason);
	pthread_barrier_wait(&loaded);
	for (int i = 0; i < CYCLES && cycle(i, &c, &h) == 0; i++)
		;
	if (h)
		dlclose(h);
	kept = still_loaded();
	first.add(counter, 1);
	report(&c, stop_workers(w) + c.added + 1);
	ok(kept, "still loaded after the last dlclose(), and still working");
	return tap_done();
}
