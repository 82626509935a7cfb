// SPDX-License-Identifier: MIT
/*
 * src/runtime/fence.c: make sure no critical section that began before now can
 * still commit on a CPU (a fence), or that every thread's earlier stores
 * are visible (a barrier, for leases). membarrier does either; where the
 * kernel refuses it, the calling thread runs once on the CPU (or on every
 * CPU in turn): whatever ran there was switched out, which restarts its
 * section and drains its stores.
 *
 * Without either, nothing can be fenced: initialization then chooses lock
 * mode without leases, which needs no fence. If both are refused later (a
 * seccomp filter installed after start), an operation that needs a fence
 * waits until one is allowed: it never goes on unfenced. The fences here
 * are tried once; callers wait (percpu_backoff_sleep) holding nothing
 * that other threads could need meanwhile.
 *
 * Running on a CPU changes the calling thread's affinity for a moment; a
 * pthread_setaffinity_np() that another thread makes on it meanwhile is
 * undone by the restore. A SCHED_DEADLINE thread may not change its
 * affinity: it relies on membarrier.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"
#include "runtime/sys.h"

static struct {
	int rseq_fence;		/* membarrier's per-CPU RSEQ fence */
	int barrier;		/* membarrier's private expedited barrier */
	int affinity;		/* this thread could set its affinity at start */
} ok;

/* The library's own statistics (percpu_runtime_stats_get): fences made,
 * an atomic add beside each system call. */
static struct fence_counts counts;

static void count(uint64_t *n)
{
	__atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

void percpu_fence_counts(struct fence_counts *c)
{
	c->fences = __atomic_load_n(&counts.fences, __ATOMIC_RELAXED);
	c->barriers = __atomic_load_n(&counts.barriers, __ATOMIC_RELAXED);
	c->by_affinity = __atomic_load_n(&counts.by_affinity,
					 __ATOMIC_RELAXED);
}

static long membarrier(int cmd, unsigned int flags, int cpu)
{
	return syscall(SYS_membarrier, cmd, flags, cpu);
}

/* A CPU set for every possible CPU, on the stack: no malloc, and
 * async-signal-safe. */
#define CPU_WORDS(n) (((n) + 63) / 64)
#define SET_BYTES(n) (CPU_WORDS(n) * sizeof(unsigned long))

static int affinity_works(unsigned int n)
{
	unsigned long mask[CPU_WORDS(n)];

	return sys_getaffinity(SET_BYTES(n), mask) == 0 &&
	       sys_setaffinity(SET_BYTES(n), mask) == 0;
}

/* Returns whether the per-CPU membarrier fence is usable. */
int percpu_fence_init(unsigned int nr_cpus)
{
	long cmds = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);

	ok.rseq_fence = cmds > 0 &&
			(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) &&
			membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
				   0, 0) == 0;
	ok.barrier = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		     membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
				0) == 0;
	ok.affinity = affinity_works(nr_cpus);
	return ok.rseq_fence;
}

int percpu_fence_possible(void)
{
	return ok.rseq_fence || ok.affinity;
}

int percpu_barrier_possible(void)
{
	return ok.barrier || ok.affinity;
}

/*
 * Move to `cpu`: when sched_setaffinity() returns, this thread runs there.
 * Returns 0 if it did, 1 if the CPU is offline or outside the allowed set
 * (no thread of the process runs there), -1 if the call was refused.
 */
static int move_to(unsigned int cpu, unsigned int n, unsigned long *one)
{
	CPU_ZERO_S(SET_BYTES(n), (cpu_set_t *)one);
	CPU_SET_S(cpu, SET_BYTES(n), (cpu_set_t *)one);
	if (sys_setaffinity(SET_BYTES(n), one) == 0)
		return 0;
	return errno == EINVAL ? 1 : -1;
}

/* Run once on each CPU of [first, last]; 0, or -1 if refused. */
static int run_on_range(unsigned int first, unsigned int last)
{
	unsigned int n = percpu_rt.nr_shards;
	unsigned long saved[CPU_WORDS(n)], one[CPU_WORDS(n)];
	int r = 0;

	if (sys_getaffinity(SET_BYTES(n), saved))
		return -1;
	for (unsigned int cpu = first; cpu <= last && r >= 0; cpu++)
		r = move_to(cpu, n, one);
	if (sys_setaffinity(SET_BYTES(n), saved))
		r = -1;
	return r < 0 ? -1 : 0;
}

/* run_on_range, counted in *n if it worked. */
static int run_on_counted(uint64_t *n, unsigned int first, unsigned int last)
{
	if (run_on_range(first, last))
		return -1;
	count(&counts.by_affinity);
	count(n);
	return 0;
}

/* Returns 0, or -1 if both ways are refused now. */
int percpu_fence_cpu_try(unsigned int cpu)
{
	if (ok.rseq_fence &&
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		       MEMBARRIER_CMD_FLAG_CPU, (int)cpu) == 0) {
		count(&counts.fences);
		return 0;
	}
	return run_on_counted(&counts.fences, cpu, cpu);
}

int percpu_fence_all_try(void)
{
	if (ok.rseq_fence &&
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0) {
		count(&counts.fences);
		return 0;
	}
	return run_on_counted(&counts.fences, 0, percpu_rt.nr_shards - 1);
}

/* Sleep a little longer at each of *tries (from 1 us up to 1 ms). */
void percpu_backoff_sleep(unsigned int *tries)
{
	struct timespec ts = { 0, 1000L << (*tries < 10 ? *tries : 10) };

	if (*tries < 20)
		(*tries)++;
	nanosleep(&ts, NULL);
}

void percpu_fence_all(void)
{
	for (unsigned int tries = 0; percpu_fence_all_try(); )
		percpu_backoff_sleep(&tries);
}

/*
 * A full memory barrier in every thread of the process, for the asymmetric
 * protocol of lease.c. Returns 0, or -1 if both ways are refused now.
 */
int percpu_barrier_threads(void)
{
	if (ok.barrier &&
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
		count(&counts.barriers);
		return 0;
	}
	return run_on_counted(&counts.barriers, 0, percpu_rt.nr_shards - 1);
}
