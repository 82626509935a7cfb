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
	int refused;
	intptr_t reset;
} remote;

static void reset_on(void *arg, int shard)
{
	intptr_t *mine = percpu_ptr(j.counter, shard);

	(void)arg;
	remote.reset += *mine;
	*mine = 0;
}

/* A thread that took over a dead holder's TLS (glibc reuses stacks) would
 * find its words "nested" and be refused: the reset must succeed. */
static void *reset_all(void *arg)
{
	(void)arg;
	for (int s = 0; s < percpu_nr_shards(); s++)
		remote.refused += percpu_remote(s, reset_on, NULL) != 0;
	return NULL;
}

/* Run fn on a thread, given 10 s; 0 if it is still running then. */
static int finishes(void *(*fn)(void *))
{
	struct timespec deadline;
	pthread_t t;

	pthread_create(&t, NULL, fn, NULL);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	return pthread_timedjoin_np(t, NULL, &deadline) == 0;
}

static void run_jumper(void)
{
	pthread_t t;

	j.running = 1;
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = 20000;
	percpu_inject.delay[2] = 20000;
	/* Its first lock-path operation arms its clean-up at exit slowly:
	 * a signal comes meanwhile. */
	percpu_inject.arming = 20000000;
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
	intptr_t total;
	int came_back;

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
	ok(finishes(reset_all) && !remote.refused,
	   "after the jumper's exit, a remote reset of every shard returns "
	   "and succeeds (%d refused)", remote.refused);
	came_back = finishes(newcomer);
	ok(came_back, "a newcomer's operations return, given 10 s");
	if (!came_back) {
		fflush(stdout);
		_exit(1);	/* the newcomer waits for ever */
	}
	total = remote.reset + test_sum(j.counter);
	ok(total >= (intptr_t)j.completed + 1000 &&
	   total <= (intptr_t)(j.completed + j.left) + 1000,
	   "a newcomer works there: %ld adds counted, %lu completed, %lu "
	   "left", (long)total, j.completed + 1000, j.left);
	ok(nodes_at_most_once(), "no list node twice");
	return tap_done();
}
