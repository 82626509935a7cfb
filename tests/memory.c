// SPDX-License-Identifier: MIT
/*
 * tests/memory.c: what per-CPU objects cost in resident memory. Two threads
 * each add once to every one of 100,000 eight-byte objects. With shards
 * indexed by concurrency id (PERCPU_INDEX=cid) at most two shards can be
 * touched, so the pool may grow by two shards' worth of pages whatever the
 * number of shards; with CPU ids, by one shard's worth per shard. Then
 * allocate / write / free cycles must reuse the same pages, and a pool that
 * needs a second chunk grows by exactly one.
 *
 * Figures come from /proc/self/smaps: the pool's mappings (MAP_NORESERVE
 * and MADV_NOHUGEPAGE, flags "nr" and "nh") and the Rss of all mappings
 * for the process (exact, unlike VmRSS: tests/proc_mem.h).
 */
#include <pthread.h>
#include <sched.h>
#include "tap.h"
#include "env_sanitizer.h"
#include "proc_mem.h"

#define NR_OBJECTS 100000L
#define OBJECT_SIZE 8L
#define WORKERS 2
#define PAGE 4096L
#define CYCLES 3
/* src/memory/pool.c keeps a struct page_meta (72 bytes) per 4 KiB stride page. */
#define META_PER_PAGE 72L
/* What a worker's stack may reach below its loop (barrier waits, lock path). */
#define STACK_TOUCHED (16 * 1024)

static intptr_t **objs;
static long nr_objs;
static pthread_barrier_t step;
static int nr, arrived;

/* The pages `bytes` of contiguous objects can span, at any alignment. */
static long span_pages(long bytes)
{
	return (bytes + PAGE - 1) / PAGE + 1;
}

/* Worker i on the i-th CPU it may use (of two or more, a different one). */
static void pin_worker(int i)
{
	cpu_set_t allowed, one;
	int k;

	sched_getaffinity(0, sizeof(allowed), &allowed);
	k = i % CPU_COUNT(&allowed);
	CPU_ZERO(&one);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed) && k-- == 0)
			CPU_SET(cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

/*
 * The stack a worker's measured steps may use, made resident before the
 * baseline: a stack page first touched by pthread_barrier_wait or the lock
 * path is the thread's, not the objects' (measured on the 2-CPU host: one
 * page of a worker's 8 MiB stack mapping, the page VmRSS was over).
 */
static __attribute__((noinline)) void touch_stack(void)
{
	volatile char below[STACK_TOUCHED];

	for (size_t i = 0; i < sizeof(below); i += 256)
		below[i] = 0;
}

/*
 * The workers add at the same time, each on its own CPU, so that they hold
 * two concurrency ids and touch two shards: the most two threads can cost.
 * Each step is a barrier wait: ready, go, done, measured.
 */
static void *worker(void *arg)
{
	pin_worker((int)(intptr_t)arg);
	percpu_shard_id();	/* registered before */
	touch_stack();
	pthread_barrier_wait(&step);
	pthread_barrier_wait(&step);
	__atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < WORKERS)
		;
	for (long i = 0; i < nr_objs; i++)
		percpu_add(objs[i], 1);
	pthread_barrier_wait(&step);
	pthread_barrier_wait(&step);
	return NULL;
}

static int alloc_all(long n)
{
	for (nr_objs = 0; nr_objs < n; nr_objs++)
		if (!(objs[nr_objs] = percpu_alloc(OBJECT_SIZE)))
			return 0;
	return 1;
}

static int free_all(void)
{
	int failed = 0;

	for (long i = 0; i < nr_objs; i++)
		failed |= percpu_free(objs[i]);
	nr_objs = 0;
	return !failed;
}

/* Every object holds one add from each worker, over all its shards. */
static int sums_exact(void)
{
	for (long i = 0; i < nr_objs; i++)
		if (test_sum(objs[i]) != WORKERS)
			return 0;
	return 1;
}

static int shards_touched(void)
{
	int touched = 0;

	for (int s = 0; s < nr; s++)
		for (long i = 0; i < nr_objs; i++)
			if (*(intptr_t *)percpu_ptr(objs[i], s)) {
				touched++;
				break;
			}
	return touched;
}

/* Growth from just before allocating to just after the adds. */
static struct proc_mem grow_by_adds(void)
{
	pthread_t t[WORKERS];
	struct proc_mem before, after;
	int allocated;

	pthread_barrier_init(&step, NULL, WORKERS + 1);
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	pthread_barrier_wait(&step);
	before = proc_mem_read();
	allocated = alloc_all(NR_OBJECTS);
	pthread_barrier_wait(&step);
	pthread_barrier_wait(&step);
	after = proc_mem_read();
	pthread_barrier_wait(&step);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	ok(allocated, "%ld objects of %ld bytes allocated", NR_OBJECTS,
	   OBJECT_SIZE);
	return (struct proc_mem){ after.pool_rss - before.pool_rss,
			       after.pool_size - before.pool_size,
			       after.rss - before.rss,
			       after.vm_rss - before.vm_rss };
}

static int index_is_cid(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	percpu_runtime_info_get(&info);
	return info.index == PERCPU_INDEX_CID;
}

/*
 * Both figures and the bound, and what the pool's own metadata for those
 * pages comes to beside the rounding the bound allows: the metadata is one
 * copy for all shards, mapped with its chunk (the first chunk, which holds
 * these objects, is made at start, before the baseline) but resident only
 * as its pages come to use, so the process's growth includes it.
 */
static void report(const struct proc_mem *g, int shards, long bound)
{
	long pages = span_pages(NR_OBJECTS * OBJECT_SIZE);
	long meta = (pages - 1) * META_PER_PAGE;
	long rounding = bound - bound / pages * (pages - 1);

	tap_diag("index %s, %d shards, adds landed in %d", index_is_cid() ?
		 "cid" : "cpu", nr, shards);
	tap_diag("pool mappings: +%ld bytes resident (%ld pages), +%ld mapped",
		 g->pool_rss, g->pool_rss / PAGE, g->pool_size);
	tap_diag("process Rss: +%ld bytes (%ld pages); VmRSS, inexact: +%ld "
		 "(%ld pages)", g->rss, g->rss / PAGE, g->vm_rss,
		 g->vm_rss / PAGE);
	tap_diag("objects' data: %ld bytes per shard, spanning up to %ld pages;"
		 " bound %ld bytes", NR_OBJECTS * OBJECT_SIZE, pages, bound);
	tap_diag("pool metadata for %ld pages: %ld bytes (%ld per page); the "
		 "bound's rounding beyond %ld pages a shard: %ld bytes",
		 pages - 1, meta, META_PER_PAGE, pages - 1, rounding);
}

static void test_growth(void)
{
	long per_shard = span_pages(NR_OBJECTS * OBJECT_SIZE) * PAGE;
	int cid = index_is_cid();
	long bound = (cid ? WORKERS : nr) * per_shard;
	long meta_bound = span_pages((per_shard / PAGE - 1) * META_PER_PAGE) *
			  PAGE;
	struct proc_mem g = grow_by_adds();
	int shards = shards_touched();

	report(&g, shards, bound);
	ok(sums_exact(), "every object sums to %d", WORKERS);
	ok(g.pool_size == 0, "the objects fit in the chunk made at start");
	ok(g.pool_rss > 0 && g.pool_rss <= bound,
	   "pool resident growth %ld <= %ld (%s)", g.pool_rss, bound,
	   cid ? "2 threads x 800,000 bytes, page-rounded" :
		 "nr_shards x 800,000 bytes, page-rounded");
	ok(g.pool_rss <= shards * per_shard,
	   "at most the touched shards' pages are resident (%d shards)", shards);
	if (UNDER_SANITIZER) /* its own allocations show in Rss */
		ok(1, "process Rss # SKIP under a sanitizer");
	else
		ok(g.rss <= bound + meta_bound,
		   "process Rss growth %ld <= %ld + %ld of metadata", g.rss,
		   bound, meta_bound);
	ok(free_all(), "every object freed");
}

/* Allocate twice the objects (a second chunk), write two shards, free. */
static struct proc_mem cycle(int *ok_all)
{
	struct proc_mem u;

	*ok_all = alloc_all(2 * NR_OBJECTS);
	for (long i = 0; i < nr_objs; i++) {
		*(intptr_t *)percpu_ptr(objs[i], 0) = 1;
		*(intptr_t *)percpu_ptr(objs[i], nr - 1) = 1;
	}
	u = proc_mem_read();
	*ok_all &= free_all();
	return u;
}

static void test_reuse(void)
{
	struct proc_mem start = proc_mem_read(), first, again;
	int done;

	first = cycle(&done);
	ok(done, "cycle 1: %ld objects allocated and freed", 2 * NR_OBJECTS);
	tap_diag("cycle 1: pool +%ld resident, process +%ld: %ld outside the "
		 "pool (the new chunk's metadata)",
		 first.pool_rss - start.pool_rss, first.rss - start.rss,
		 (first.rss - start.rss) -
			 (first.pool_rss - start.pool_rss));
	ok(first.pool_size - start.pool_size == (long)nr * (long)PERCPU_STRIDE,
	   "the pool grew by one chunk (%ld bytes mapped)",
	   first.pool_size - start.pool_size);
	for (int k = 2; k <= CYCLES; k++) {
		again = cycle(&done);
		ok(done, "cycle %d: allocated and freed", k);
		ok(again.pool_size == first.pool_size &&
		   again.pool_rss == first.pool_rss,
		   "cycle %d: pool reused (%ld resident, %ld mapped; cycle 1: "
		   "%ld, %ld)", k, again.pool_rss, again.pool_size,
		   first.pool_rss, first.pool_size);
		tap_diag("cycle %d: VmRSS, inexact: %ld, cycle 1's %ld", k,
			 again.vm_rss, first.vm_rss);
		ok(UNDER_SANITIZER || again.rss <= first.rss,
		   "cycle %d: Rss %ld, not above cycle 1's %ld%s", k,
		   again.rss, first.rss,
		   UNDER_SANITIZER ? " # SKIP under a sanitizer" : "");
	}
}

int main(void)
{
	nr = percpu_nr_shards();
	tap_check_mode();
	objs = calloc(2 * NR_OBJECTS, sizeof(*objs));
	memset(objs, 0xff, 2 * NR_OBJECTS * sizeof(*objs));
	proc_mem_read();		/* stdio's buffers exist before the baseline */
	test_growth();
	test_reuse();
	return tap_done();
}
