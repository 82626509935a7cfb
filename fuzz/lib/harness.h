/* SPDX-License-Identifier: MIT */
/*
 * fuzz/lib/harness.h: what the libFuzzer harnesses share: CHECK, which
 * aborts on a broken invariant (libFuzzer then keeps the input), and a
 * growable string.
 */
#ifndef PERCPU_FUZZ_HARNESS_H
#define PERCPU_FUZZ_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s: ", __FILE__);                  \
			fprintf(stderr, __VA_ARGS__);                       \
			fprintf(stderr, " (%s, line %d)\n", #cond, __LINE__); \
			abort();                                            \
		}                                                           \
	} while (0)

/* A growable byte string, always NUL-terminated. */
struct buf {
	char *p;
	size_t len, cap;
};

/* Appends n bytes of s, or a C string. */
void put(struct buf *b, const void *s, size_t n);
void puts_(struct buf *b, const char *s);

#endif
