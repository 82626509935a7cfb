// SPDX-License-Identifier: MIT
/*
 * tests/nomem_words.c: lock mode without per-CPU memory for the shard
 * words. A constructor that runs before the library's (priority 101, in
 * the same executable) takes that memory away, by PERCPU_TEST_NOMEM:
 *   rlimit  RLIMIT_AS just above what the process maps now, as a
 *           container's limit would (the limit is lifted again in main, so
 *           the test's own objects can be allocated);
 *   words   the per-CPU memory for the words is refused (injected);
 *   none    any memory for them is refused (injected).
 * Every operation must then work in lock mode, exactly, with more threads
 * than CPUs: the lease path, list pop, remote operations and the lock all
 * use the words.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include "tap.h"

#define THREADS 6
#define OPS 20000

static struct rlimit saved_as;
static int limited;

/* The process's mapped size in bytes, from /proc/self/statm (no stdio:
 * this runs before the library's constructor). */
static long mapped_bytes(void)
{
	char buf[64] = { 0 };
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	long pages;

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		buf[0] = 0;
	close(fd);
	pages = strtol(buf, NULL, 10);
	return pages > 0 ? pages * sysconf(_SC_PAGESIZE) : -1;
}

static void limit_address_space(void)
{
	long now = mapped_bytes();
	struct rlimit lim;

	if (now < 0 || getrlimit(RLIMIT_AS, &saved_as))
		return;
	lim = saved_as;
	lim.rlim_cur = (rlim_t)now + 512 * 1024;
	limited = setrlimit(RLIMIT_AS, &lim) == 0;
}

__attribute__((constructor(101))) static void take_memory_away(void)
{
	const char *how = getenv("PERCPU_TEST_NOMEM");

	if (!how)
		return;
	if (!strcmp(how, "rlimit"))
		limit_address_space();
	else if (!strcmp(how, "words"))
		percpu_inject.words_fail = 1;
	else if (!strcmp(how, "none"))
		percpu_inject.words_fail = 2;
}

static struct {
	intptr_t *counter, *lock, *under_lock;
	struct percpu_list *list;
	struct percpu_list_node nodes[THREADS];
	struct percpu_list_node *held[THREADS];
	intptr_t reaped;
	int stop;
} st;

static void *worker(void *arg)
{
	int index = (int)(intptr_t)arg;
	struct percpu_list_node *mine = &st.nodes[index];

	for (int i = 0; i < OPS; i++) {
		int s;

		percpu_add(st.counter, 1);
		if (mine)
			percpu_list_push(st.list, mine);
		mine = percpu_list_pop(st.list, NULL);
		s = percpu_lock(st.lock);
		(*(intptr_t *)percpu_ptr(st.under_lock, s))++;
		percpu_unlock(st.lock, s);
		if (i % 64 == 0)
			sched_yield();
	}
	st.held[index] = mine;
	return NULL;
}

static void *reaper(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&st.stop, __ATOMIC_ACQUIRE))
		for (int s = 0; s < percpu_nr_shards(); s++)
			st.reaped += percpu_remote_xchg(st.counter, s, 0);
	return NULL;
}

static int nodes_once(void)
{
	unsigned char seen[THREADS] = { 0 };
	int once = 1;

	for (int s = 0; s < percpu_nr_shards(); s++)
		for (struct percpu_list_node *n =
			     ((struct percpu_list *)percpu_ptr(st.list, s))->head;
		     n; n = n->next)
			seen[n - st.nodes]++;
	for (int t = 0; t < THREADS; t++)
		if (st.held[t])
			seen[st.held[t] - st.nodes]++;
	for (int t = 0; t < THREADS; t++)
		once &= seen[t] == 1;
	return once;
}

static void test_stress(void)
{
	pthread_t threads[THREADS], reap;
	int unlocked = 1;

	st.counter = percpu_alloc(sizeof(intptr_t));
	st.lock = percpu_alloc(sizeof(intptr_t));
	st.under_lock = percpu_alloc(sizeof(intptr_t));
	st.list = percpu_alloc(sizeof(struct percpu_list));
	ok(st.counter && st.lock && st.under_lock && st.list,
	   "per-CPU objects allocated once the limit is lifted");
	if (!st.counter || !st.lock || !st.under_lock || !st.list)
		return;
	pthread_create(&reap, NULL, reaper, NULL);
	for (int t = 0; t < THREADS; t++)
		pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELEASE);
	pthread_join(reap, NULL);
	ok(st.reaped + test_sum(st.counter) == (intptr_t)THREADS * OPS,
	   "adds reaped or left: %ld of %ld",
	   (long)(st.reaped + test_sum(st.counter)), (long)THREADS * OPS);
	ok(test_sum(st.under_lock) == (intptr_t)THREADS * OPS,
	   "increments under the lock: %ld of %ld",
	   (long)test_sum(st.under_lock), (long)THREADS * OPS);
	for (int s = 0; s < percpu_nr_shards(); s++)
		unlocked &= *(intptr_t *)percpu_ptr(st.lock, s) == 0;
	ok(unlocked, "every lock word is 0 at the end");
	ok(nodes_once(), "every node on a list or held, once");
}

int main(void)
{
	const char *how = getenv("PERCPU_TEST_NOMEM");
	const char *reason;
	enum percpu_mode mode = percpu_mode_get(&reason);

	if (how && !strcmp(how, "rlimit") && !limited) {
		printf("1..0 # SKIP RLIMIT_AS could not be set\n");
		return 0;
	}
	if (limited)
		setrlimit(RLIMIT_AS, &saved_as);
	ok(mode == PERCPU_MODE_LOCK && reason &&
	   !strcmp(reason, "no memory for the shard words"),
	   "lock mode, for want of memory (%s)", reason ? reason : "none");
	test_stress();
	return tap_done();
}
