// SPDX-License-Identifier: MIT
/*
 * tests/qemu/rss.c: what per-CPU counters cost in resident memory when 8
 * threads wander over many CPUs (run in the many-CPU guest, make
 * check-qemu). NR_OBJECTS counters; in each of ROUNDS rounds every thread
 * pins itself to another CPU (thread t to the (t + 8 * round)-th allowed
 * CPU), and all add 1 to every counter at the same time. With CPU
 * indexing the threads touch one shard per CPU they ran on; with
 * concurrency ids (PERCPU_INDEX=cid) at most one per thread of the process
 * (the 8 workers and main, whose id the kernel may keep while it waits). Prints the
 * shards where most pages of the counters are resident (mincore), the pool's
 * resident memory (/proc/self/smaps: its mappings have flags "nr" and
 * "nh") and VmRSS, and checks the sums. TAP.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <percpu.h>
#include "../proc_mem.h"

#define THREADS 8
#define ROUNDS 8
#define NR_OBJECTS 16384L

static intptr_t *objs[NR_OBJECTS];
static int tap_n, tap_bad;

/* One TAP line: `what` with one number. */
static void ok(int cond, const char *what, long a)
{
	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	printf(what, a);
	printf("\n");
	tap_bad += !cond;
}
static pthread_barrier_t step;
static int nr_allowed, cpu_of[CPU_SETSIZE];

static void pin(int k)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu_of[k % nr_allowed], &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int r = 0; r < ROUNDS; r++) {
		pin(t + THREADS * r);
		percpu_shard_id();
		pthread_barrier_wait(&step);
		for (long i = 0; i < NR_OBJECTS; i++)
			percpu_add(objs[i], 1);
		pthread_barrier_wait(&step);
	}
	return NULL;
}

/*
 * Shards holding the counters: more than half of the pages that the
 * counters span resident (the pool's first page of a shard may be resident
 * for other reasons, e.g. the shard word beside it).
 */
static int shards_resident(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)objs[0], hi = lo;
	static unsigned char vec[1 << 12];
	int n = 0;

	for (long i = 0; i < NR_OBJECTS; i++) {
		if ((uintptr_t)objs[i] < lo)
			lo = (uintptr_t)objs[i];
		if ((uintptr_t)objs[i] > hi)
			hi = (uintptr_t)objs[i];
	}
	lo &= ~(uintptr_t)(page - 1);
	for (int k = 0; k < percpu_nr_shards(); k++) {
		uintptr_t off = percpu_shard_offset((unsigned int)k);
		long pages = (long)((hi - lo) / (uintptr_t)page) + 1, in = 0;

		if (pages > (long)sizeof(vec))
			pages = sizeof(vec);
		if (mincore((void *)(lo + off), (size_t)(pages * page), vec))
			continue;
		for (long p = 0; p < pages; p++)
			in += vec[p] & 1;
		n += in * 2 > pages;
	}
	return n;
}

int main(void)
{
	pthread_t th[THREADS];
	cpu_set_t allowed;
	struct percpu_runtime_info info = { .size = sizeof(info) };
	long before, sum_bad = 0;
	int touched;
	const char *idx = getenv("PERCPU_INDEX");

	sched_getaffinity(0, sizeof(allowed), &allowed);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			cpu_of[nr_allowed++] = c;
	for (long i = 0; i < NR_OBJECTS; i++)
		objs[i] = percpu_alloc(sizeof(intptr_t));
	percpu_runtime_info_get(&info);
	before = proc_mem_read().pool_rss / 1024;
	pthread_barrier_init(&step, NULL, THREADS);
	for (int t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	/* Before the sums: reading an untouched shard maps the zero page,
	 * which mincore() counts as resident (RSS does not). */
	touched = shards_resident();
	for (long i = 0; i < NR_OBJECTS; i++) {
		intptr_t s = 0;

		for (int k = 0; k < percpu_nr_shards(); k++)
			s += *(intptr_t *)((char *)objs[i] +
					   percpu_shard_offset((unsigned)k));
		sum_bad += s != THREADS * ROUNDS;
	}
	printf("# measure index=%s shards=%d allowed_cpus=%d mode=%s "
	       "touched_shards=%d pool_rss_kib=%ld (before the adds %ld) "
	       "vm_rss_kib=%ld counters=%ld\n",
	       idx ? idx : "cpu", percpu_nr_shards(), nr_allowed,
	       info.mode == PERCPU_MODE_RSEQ ? "rseq" : "lock",
	       touched, proc_mem_read().pool_rss / 1024, before, proc_vm_rss() / 1024,
	       NR_OBJECTS);
	ok(sum_bad == 0, "every counter exact (%ld wrong)", sum_bad);
	ok(info.mode == PERCPU_MODE_RSEQ, "rseq mode (%ld)", info.mode);
	if (idx && !strcmp(idx, "cid"))
		ok(touched <= THREADS + 1,
		   "concurrency ids: at most 9 shards touched, the workers' "
		   "and main's (%ld)", touched);
	else
		ok(touched >= (nr_allowed < THREADS * ROUNDS ?
			       nr_allowed : THREADS * ROUNDS),
		   "CPU ids: a shard for each CPU the threads ran on (%ld)",
		   touched);
	printf("1..%d\n", tap_n);
	return tap_bad != 0;
}
