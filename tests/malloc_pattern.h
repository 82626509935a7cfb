/* SPDX-License-Identifier: MIT */
/*
 * tests/malloc_pattern.h: objects that say whether anyone else wrote
 * them: a header (size, tag, magic) and bytes derived from the tag,
 * written when allocated and checked when freed, so that an object handed
 * out twice, or overlapping another, shows as wrong bytes. The counts are
 * the test's: bad bytes and failed allocations, from any thread. And the
 * random numbers the tests pick sizes and actions with.
 */
#ifndef MALLOC_PATTERN_H
#define MALLOC_PATTERN_H

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

struct pattern_hdr {
	size_t size;
	uint32_t tag;
	uint32_t magic;
};

#define PATTERN_MAGIC 0x5eed5eedu
#define PATTERN_MIN sizeof(struct pattern_hdr)

static long pattern_bad, pattern_failed;

/* The tests' random numbers: a 64-bit LCG step, its high 31 bits. */
static unsigned long pattern_rand(unsigned long *seed)
{
	*seed = *seed * 6364136223846793005ul + 1442695040888963407ul;
	return *seed >> 33;
}

static unsigned char pattern_byte(uint32_t tag, size_t i)
{
	return (unsigned char)(tag * 31u + (uint32_t)(i >> 4));
}

/* Fill the p that an allocation of size >= PATTERN_MIN returned; p may
 * be NULL (counted as failed). Returns p. */
static void *pattern_fill(void *p, size_t size, uint32_t tag)
{
	unsigned char *b = p;

	if (!p) {
		__atomic_fetch_add(&pattern_failed, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	*(struct pattern_hdr *)p = (struct pattern_hdr){ size, tag,
							 PATTERN_MAGIC };
	for (size_t i = sizeof(struct pattern_hdr); i < size; i++)
		b[i] = pattern_byte(tag, i);
	return p;
}

/* Check p's bytes (NULL: nothing), spoil its magic, free it. */
static void pattern_free(void *p)
{
	unsigned char *b = p;
	struct pattern_hdr *h = p;
	long bad = 0;

	if (!p)
		return;
	if (h->magic != PATTERN_MAGIC || malloc_usable_size(p) < h->size)
		bad = 1;
	else
		for (size_t i = sizeof(*h); i < h->size; i++)
			bad += b[i] != pattern_byte(h->tag, i);
	if (bad)
		__atomic_fetch_add(&pattern_bad, bad, __ATOMIC_RELAXED);
	h->magic = 0;	/* a second free of it shows */
	free(p);
}

#endif
