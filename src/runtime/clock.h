/* SPDX-License-Identifier: MIT */
/* src/runtime/clock.h: the coarse clock without libc's wrapper (clock.c). */
#ifndef PERCPU_RUNTIME_CLOCK_H
#define PERCPU_RUNTIME_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC_COARSE, in nanoseconds. */
uint64_t percpu_coarse_ns(void);

#endif
