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

#ifdef PERCPU_INJECT
PERCPU_EXTERN_C_BEGIN
/*
 * delay[n]: spin this many loops at point n of every critical section
 * (point 0 is just before the section). force_abort: every section jumps to
 * its abort handler, as if the kernel had restarted it. lock_path_ops and
 * rseq_aborts count what the slow path saw, so tests can prove a path ran.
 */
struct percpu_inject {
	volatile unsigned int delay[PERCPU_INJECT_POINTS];
	volatile unsigned int force_abort;
	unsigned long lock_path_ops;
	unsigned long rseq_aborts;
};
PERCPU_API extern struct percpu_inject percpu_inject;
/* Non-zero: this thread never uses rseq (mixed-mode tests). */
PERCPU_API extern __thread int percpu_inject_thread_lock_path;

static inline int percpu_inject_before_section(void)
{
	for (unsigned int i = percpu_inject.delay[0]; i; i--)
		__asm__ __volatile__("" ::: "memory");
	return percpu_inject_thread_lock_path;
}
PERCPU_EXTERN_C_END
#else
static inline int percpu_inject_before_section(void)
{
	return 0;
}
#endif

#endif
