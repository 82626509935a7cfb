// SPDX-License-Identifier: MIT
/*
 * src/fence.c: make sure no critical section that began before now can
 * still commit on a CPU. membarrier restarts the sections running there;
 * where the kernel refuses it, the calling thread runs once on that CPU,
 * which preempts (and so restarts) whatever section was running there.
 */
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "internal.h"

static int membarrier_ok, barrier_ok;

static long membarrier(int cmd, unsigned int flags, int cpu)
{
	return syscall(SYS_membarrier, cmd, flags, cpu);
}

/* Returns whether the per-CPU membarrier fence is usable. */
int percpu_fence_init(void)
{
	long cmds = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);

	membarrier_ok = cmds > 0 &&
			(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) &&
			membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
				   0, 0) == 0;
	return membarrier_ok;
}

/*
 * Run once on `cpu`. When sched_setaffinity() returns, this thread runs
 * there. If the CPU is outside the allowed set (cpuset), no thread of the
 * process can run there, so there is nothing to fence. Sets live on the
 * stack up to CPU_SETSIZE CPUs, keeping this async-signal-safe there.
 */
static void run_on_with(unsigned int cpu, size_t size, cpu_set_t *saved,
			cpu_set_t *one)
{
	if (sched_getaffinity(0, size, saved))
		return;
	CPU_ZERO_S(size, one);
	CPU_SET_S(cpu, size, one);
	if (sched_setaffinity(0, size, one) == 0)
		sched_setaffinity(0, size, saved);
}

static void run_on(unsigned int cpu)
{
	unsigned int n = percpu_rt.nr_shards;
	cpu_set_t saved, one, *big_saved, *big_one;

	if (n <= CPU_SETSIZE) {
		run_on_with(cpu, sizeof(cpu_set_t), &saved, &one);
		return;
	}
	big_saved = CPU_ALLOC(n);
	big_one = CPU_ALLOC(n);
	if (big_saved && big_one)
		run_on_with(cpu, CPU_ALLOC_SIZE(n), big_saved, big_one);
	CPU_FREE(big_saved);
	CPU_FREE(big_one);
}

void percpu_fence_cpu(unsigned int cpu)
{
	if (membarrier_ok &&
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		       MEMBARRIER_CMD_FLAG_CPU, (int)cpu) == 0)
		return;
	run_on(cpu);
}

/*
 * A full memory barrier in every running thread of the process (the plain
 * private expedited command), for the asymmetric protocol of lease.c.
 * Returns whether it is usable; without it there are no leases.
 */
int percpu_barrier_init(void)
{
	long cmds = membarrier(MEMBARRIER_CMD_QUERY, 0, 0);

	barrier_ok = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		     membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
				0) == 0;
	return barrier_ok;
}

/* Returns 0, or -1 if the kernel, having registered it, refuses it now
 * (a seccomp filter installed later). */
int percpu_barrier_threads(void)
{
	return barrier_ok &&
	       membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : -1;
}

void percpu_fence_all(void)
{
	if (membarrier_ok &&
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0)
		return;
	for (unsigned int cpu = 0; cpu < percpu_rt.nr_shards; cpu++)
		run_on(cpu);
}
