// SPDX-License-Identifier: MIT
/*
 * tests/env_fork_held.c: fork while another thread holds a shard word. In a
 * mixed process (rseq mode, one thread on the lock path), a lock-path
 * operation holds its shard's word for a moment. A child forked in that
 * moment inherits the word held by a thread that does not exist in the
 * child; an operation of the child that needs that shard (a compare-and-
 * store on it) must still complete.
 * The injected delay keeps the word held long enough to fork inside the
 * window every time.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

/* Loops spun holding the word: about a second, far more than a fork takes. */
#define HOLD_LOOPS 1000000000u
#define CHILD_SECONDS 2

static intptr_t *counter;
static int holder_done;

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Bit 0 of a shard word: held by a lock-path operation (src/internal.h). */
static volatile intptr_t *shard_word(int shard)
{
	return (volatile intptr_t *)(percpu_rt.shard_words +
				     percpu_shard_offset((unsigned int)shard));
}

static void *holder(void *arg)
{
	(void)arg;
	percpu_inject_thread_lock_path = 1;
	pin_to(0);
	percpu_add(counter, 1);
	__atomic_store_n(&holder_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* In the child: a compare-and-store on shard 0; a hang ends by the alarm. */
static int child_main(void)
{
	alarm(CHILD_SECONDS);
	pin_to(0);
	return percpu_cas(counter, 0, 0, 5) == PERCPU_OK &&
	       test_sum(counter) == 5 ? 0 : 1;
}

int main(void)
{
	pthread_t tid;
	int status = -1, spanned;
	pid_t pid;

	tap_check_mode();
	counter = percpu_alloc(sizeof(*counter));
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = HOLD_LOOPS;
	pthread_create(&tid, NULL, holder, NULL);
	while (!(*shard_word(0) & 1) &&
	       !__atomic_load_n(&holder_done, __ATOMIC_ACQUIRE))
		sched_yield();
	pid = fork();
	if (pid == 0)
		_exit(child_main());
	/* The holder runs one operation: held before and after, held across. */
	spanned = *shard_word(0) & 1;
	waitpid(pid, &status, 0);
	pthread_join(tid, NULL);
	ok(spanned, "shard 0's word held across the fork");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a child forked while a thread held shard 0's word stores on shard 0 "
	   "(child %s %d)", WIFSIGNALED(status) ? "killed by signal" : "exit",
	   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	ok(test_sum(counter) == 1, "parent's sum exact: %ld",
	   (long)test_sum(counter));
	test_shards_free();
	return tap_done();
}
