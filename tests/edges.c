// SPDX-License-Identifier: MIT
/*
 * tests/edges.c: decisions on corner cases argued in review.
 *  - percpu_remote from fn (holding a shard) fails with EDEADLK whatever
 *    the other shard's state: a free one included, as remote.h says.
 *  - A thread that unregisters its own rseq area at exit (glibc's
 *    registration off) has its shard-id field out of range whenever a
 *    signal handler can run: with concurrency ids, the kernel resets
 *    mm_cid to 0, a valid id, and a handler's operation there would run a
 *    section nobody restarts.
 *  - The fence that runs on a CPU (membarrier refused) gives the thread
 *    back the affinity it had.
 */
#include <errno.h>
#include <signal.h>
#include "tap.h"

static struct {
	int inner, inner_errno, same, same_errno;
} nested;

static void inner_fn(void *arg, int shard)
{
	(void)arg;
	(void)shard;
}

static void outer_fn(void *arg, int shard)
{
	int other = (shard + 1) % percpu_nr_shards();

	(void)arg;
	nested.inner = percpu_remote(other, inner_fn, NULL);
	nested.inner_errno = errno;
	nested.same = percpu_remote(shard, inner_fn, NULL);
	nested.same_errno = errno;
}

static void test_nested_remote(void)
{
	ok(percpu_remote(0, outer_fn, NULL) == 0, "percpu_remote runs fn");
	ok(nested.inner == -1 && nested.inner_errno == EDEADLK,
	   "from fn, percpu_remote on another, free shard: -1 EDEADLK (%d, %s)",
	   nested.inner, strerror(nested.inner_errno));
	ok(nested.same == -1 && nested.same_errno == EDEADLK,
	   "from fn, percpu_remote on its own shard: -1 EDEADLK");
	ok(percpu_remote(0, inner_fn, NULL) == 0,
	   "and afterwards percpu_remote works again");
}

static volatile unsigned int id_in_handler;

static void on_exit_signal(int sig)
{
	(void)sig;
	id_in_handler = percpu_arch_shard_id(percpu_rt.id_offset);
}

static void *op_and_exit(void *arg)
{
	(void)arg;
	percpu_add(arg, 1);
	return NULL;
}

static void test_exit_window(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	pthread_t t;

	signal(SIGUSR2, on_exit_signal);
	id_in_handler = 0;
	percpu_inject.exit_signal = SIGUSR2;
	pthread_create(&t, NULL, op_and_exit, c);
	pthread_join(t, NULL);
	percpu_inject.exit_signal = 0;
	ok(id_in_handler >= (unsigned int)percpu_nr_shards(),
	   "a handler just after the exit's unregistration finds the shard id "
	   "out of range (%d)", (int)id_in_handler);
	percpu_free(c);
}

static int affinity_of_self(cpu_set_t *set)
{
	CPU_ZERO(set);
	return sched_getaffinity(0, sizeof(*set), set);
}

static void test_fence_restores_affinity(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	cpu_set_t before, after;

	test_pin_to(percpu_nr_shards() - 1);
	affinity_of_self(&before);
	for (int s = 0; s < percpu_nr_shards(); s++)
		percpu_remote_xchg(c, s, 0);
	affinity_of_self(&after);
	ok(CPU_EQUAL(&before, &after),
	   "after remote operations (fenced by running on each CPU), the "
	   "thread's affinity is what it was");
	test_unpin();
	percpu_free(c);
}

int main(int argc, char **argv)
{
	tap_check_mode();
	if (argc > 1 && !strcmp(argv[1], "exit-window")) {
		test_exit_window();
		return tap_done();
	}
	if (argc > 1 && !strcmp(argv[1], "affinity")) {
		test_fence_restores_affinity();
		return tap_done();
	}
	test_nested_remote();
	return tap_done();
}
