// SPDX-License-Identifier: MIT
/*
 * tests/longjmp.c: a thread whose signal handler leaves operations by
 * siglongjmp. percpu/mode.h allows that in rseq mode only; on the lock path
 * it leaves the shard held (or the lease slot busy) while the thread lives.
 * But no state may outlive the thread: once it has exited, a remote
 * operation on every shard must return, a new thread (which may take over
 * its lease slot) must work there without a wild write, and the counts must
 * add up: every completed add counted, an abandoned one at most once, no
 * list node twice.
 */
#include <setjmp.h>
#include <signal.h>
#include "tap.h"

#define OPS 4000
#define NODES 16

static sigjmp_buf env;
static volatile sig_atomic_t armed;

static struct {
	intptr_t *counter;
	struct percpu_list *list;
	struct percpu_list_node nodes[NODES];
	unsigned long completed, left;
	int running;
} j;

static void on_signal(int sig)
{
	(void)sig;
	if (armed) {
		armed = 0;
		siglongjmp(env, 1);
	}
}

/* One add and one pop-and-push; returns 0 if the handler left them. */
static int attempt(void)
{
	struct percpu_list_node *n;

	if (sigsetjmp(env, 1))
		return 0;
	armed = 1;
	percpu_add(j.counter, 1);
	armed = 0;
	j.completed++;
	armed = 1;
	n = percpu_list_pop(j.list, NULL);
	armed = 0;
	if (n)
		percpu_list_push(j.list, n);
	return 1;
}

static void *jumper(void *arg)
{
	(void)arg;
	test_thread_setup(1);
	test_pin_to(0);
	for (int i = 0; i < OPS; i++)
		if (!attempt())
			j.left++;
	__atomic_store_n(&j.running, 0, __ATOMIC_RELEASE);
	return NULL;
}

static void *newcomer(void *arg)
{
	(void)arg;
	test_thread_setup(1);
	test_pin_to(0);
	for (int i = 0; i < 1000; i++) {
		struct percpu_list_node *n;

		percpu_add(j.counter, 1);
		n = percpu_list_pop(j.list, NULL);
		if (n)
			percpu_list_push(j.list, n);
	}
	return NULL;
}

static struct {
	int done;
	intptr_t reset;
} remote;

static void *reset_all(void *arg)
{
	(void)arg;
	for (int s = 0; s < percpu_nr_shards(); s++)
		remote.reset += percpu_remote_xchg(j.counter, s, 0);
	__atomic_store_n(&remote.done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A remote reset of every shard, given 10 s. */
static int reset_returns(void)
{
	pthread_t t;

	pthread_create(&t, NULL, reset_all, NULL);
	for (int ms = 0; ms < 10000; ms += 10) {
		if (__atomic_load_n(&remote.done, __ATOMIC_ACQUIRE))
			break;
		usleep(10000);
	}
	if (!__atomic_load_n(&remote.done, __ATOMIC_ACQUIRE))
		return 0;
	pthread_join(t, NULL);
	return 1;
}

static void run_jumper(void)
{
	pthread_t t;

	j.running = 1;
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = 20000;
	percpu_inject.delay[2] = 20000;
	pthread_create(&t, NULL, jumper, NULL);
	while (__atomic_load_n(&j.running, __ATOMIC_ACQUIRE)) {
		pthread_kill(t, SIGUSR1);
		usleep(200);
	}
	pthread_join(t, NULL);
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = 0;
	percpu_inject.delay[2] = 0;
}

static int nodes_at_most_once(void)
{
	unsigned char seen[NODES] = { 0 };
	int once = 1;

	for (int s = 0; s < percpu_nr_shards(); s++)
		for (struct percpu_list_node *n =
			     ((struct percpu_list *)percpu_ptr(j.list, s))->head;
		     n && once; n = n->next)
			once = ++seen[n - j.nodes] == 1;
	return once;
}

int main(void)
{
	pthread_t t;
	intptr_t total;

	tap_check_mode();
	if (percpu_nr_shards() < 2 || test_pin_to(1)) {
		printf("1..0 # SKIP needs CPUs 0 and 1\n");
		return 0;
	}
	signal(SIGUSR1, on_signal);
	j.counter = percpu_alloc(sizeof(intptr_t));
	j.list = percpu_alloc(sizeof(struct percpu_list));
	for (int i = 0; i < NODES; i++)
		percpu_list_push(j.list, &j.nodes[i]);
	run_jumper();
	tap_diag("%lu operations left by siglongjmp, %lu completed", j.left,
		 j.completed);
	ok(reset_returns(), "after the jumper's exit, a remote reset of "
	   "every shard returns");
	pthread_create(&t, NULL, newcomer, NULL);
	pthread_join(t, NULL);
	total = remote.reset + test_sum(j.counter);
	ok(total >= (intptr_t)j.completed + 1000 &&
	   total <= (intptr_t)(j.completed + j.left) + 1000,
	   "a newcomer works there: %ld adds counted, %lu completed, %lu "
	   "left", (long)total, j.completed + 1000, j.left);
	ok(nodes_at_most_once(), "no list node twice");
	return tap_done();
}
