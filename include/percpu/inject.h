/* SPDX-License-Identifier: MIT */
/*
 * percpu/inject.h: fault-injection hooks for the test suite. They compile
 * to nothing unless PERCPU_INJECT is defined, which only the test builds do
 * (for the library and for the tests that inline its fast paths).
 */
#ifndef PERCPU_INJECT_H
#define PERCPU_INJECT_H

#include "common.h"

#define PERCPU_INJECT_POINTS 8
#define PERCPU_INJECT_HOLDING 7

#ifdef PERCPU_INJECT
#include <pthread.h>
#include <signal.h>
PERCPU_EXTERN_C_BEGIN
/*
 * delay[n]: spin this many loops at point n of every critical section
 * (point 0 is just before the section), and at PERCPU_INJECT_HOLDING while
 * a lock-path operation holds a shard word. force_abort: every section
 * jumps to its abort handler, as if the kernel had restarted it. The
 * counters say what the slow path saw, so tests can prove a path ran:
 * shard_nested counts operations that found their own thread holding the
 * shard word (a signal handler interrupting a lock-path operation), and
 * lease_revocations the shard leases taken away (lock mode, src/lockpath/lease.c).
 */
struct percpu_inject {
	volatile unsigned int delay[PERCPU_INJECT_POINTS];
	volatile unsigned int force_abort;
	unsigned long lock_path_ops;
	unsigned long rseq_aborts;
	unsigned long rseq_retries;	/* slow paths that tried rseq again */
	unsigned long shard_nested;
	unsigned long lease_revocations;
	/* fake_shard_on: every read of the shard id returns fake_shard, as
	 * if the kernel reported it (ids outside the range included). */
	volatile unsigned int fake_shard_on;
	volatile unsigned int fake_shard;
	/* inside: if set, one counter per shard of the lock-path operations
	 * working on it (under a lease or holding its word), so a test can
	 * check that a shard it holds has no one else inside. lease_no_ban:
	 * a revoked shard may be leased again at once (more revocations). */
	int *volatile inside;
	volatile unsigned int lease_no_ban;
	/* words_fail, set before the library initializes (a constructor of
	 * priority 101): 1, the per-CPU memory for the shard words is
	 * refused; 2, any memory for them is. */
	volatile unsigned int words_fail;
	/* cpus_fail, set the same way: 1, /sys does not tell the possible
	 * CPUs; 2, neither does sched_getaffinity. sys_possible: if set,
	 * what /sys says instead (a container's stale copy). */
	volatile unsigned int cpus_fail;
	const char *volatile sys_possible;
	/* exit_signal: raised by a thread right after it unregistered its
	 * own rseq area at exit, where a handler must find its shard id out
	 * of range. */
	volatile int exit_signal;
	/* arming: spin this many loops, once, while a thread arms its
	 * clean-up at exit (at its first lock-path operation), where a
	 * handler that leaves by siglongjmp must not leave it unarmed. */
	volatile unsigned int arming;
};
PERCPU_API extern struct percpu_inject percpu_inject;
/* Non-zero: this thread never uses rseq (mixed-mode tests). */
PERCPU_API extern __thread int percpu_inject_thread_lock_path;

static inline void percpu_inject_delay(unsigned int point)
{
	for (unsigned int i = percpu_inject.delay[point]; i; i--)
		__asm__ __volatile__("" ::: "memory");
}

static inline int percpu_inject_before_section(void)
{
	percpu_inject_delay(0);
	return percpu_inject_thread_lock_path;
}

static inline void percpu_inject_unregistered(void)
{
	if (percpu_inject.exit_signal)
		pthread_kill(pthread_self(), percpu_inject.exit_signal);
}

static inline void percpu_inject_arming(void)
{
	unsigned int n = __atomic_exchange_n(&percpu_inject.arming, 0,
					     __ATOMIC_RELAXED);

	while (n--)
		__asm__ __volatile__("" ::: "memory");
}

/* Around a lock-path update of `shard`: see `inside`. */
static inline void percpu_inject_inside(unsigned int shard, int delta)
{
	int *in = percpu_inject.inside;

	if (in)
		__atomic_fetch_add(&in[shard], delta, __ATOMIC_SEQ_CST);
}
PERCPU_EXTERN_C_END
#else
static inline void percpu_inject_delay(unsigned int point)
{
	(void)point;
}

static inline void percpu_inject_inside(unsigned int shard, int delta)
{
	(void)shard;
	(void)delta;
}

static inline int percpu_inject_before_section(void)
{
	return 0;
}

static inline void percpu_inject_unregistered(void)
{
}

static inline void percpu_inject_arming(void)
{
}
#endif

#endif
