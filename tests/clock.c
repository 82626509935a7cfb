// SPDX-License-Identifier: MIT
/*
 * tests/clock.c: the runtime's coarse clock, which reads the vDSO itself
 * (src/runtime/clock.c), tells the time libc's clock_gettime() tells:
 * between two libc readings, never backwards, in nanoseconds (a sleep of
 * 50 ms shows as 50 ms). A wrong symbol, offset or unit fails it.
 */
#include <time.h>
#include "tap.h"

uint64_t percpu_coarse_ns(void);	/* internal: linked from the archive */

static uint64_t libc_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(void)
{
	uint64_t last = 0, before, ours, after, start;
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	int between = 1, forward = 1;

	for (int i = 0; i < 20000; i++) {
		before = libc_coarse_ns();
		ours = percpu_coarse_ns();
		after = libc_coarse_ns();
		between &= before <= ours && ours <= after;
		forward &= ours >= last;
		last = ours;
	}
	ok(between, "20000 readings, each between two of libc's");
	ok(forward, "and never backwards");
	start = percpu_coarse_ns();
	nanosleep(&pause, NULL);
	ours = percpu_coarse_ns() - start;
	ok(ours >= 40 * 1000 * 1000 && ours < 5000ull * 1000 * 1000,
	   "a 50 ms sleep reads as %llu ns", (unsigned long long)ours);
	return tap_done();
}
