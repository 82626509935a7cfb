// SPDX-License-Identifier: MIT
/*
 * src/malloc/classes.c: the size classes. 16-byte steps up to 128, then
 * four classes per power of two up to 32 KiB: 8 + 8 * 4 = 40 classes.
 * Every power of two from 16 to 32768 is a class, so an aligned request
 * finds a class whose objects fall on its alignment.
 *
 * Per class: the batch moved between a per-CPU cache and the central list
 * (32 objects, fewer for large ones: about 8 KiB a batch), and the cache's
 * capacity from a byte budget of 64 KiB per class per CPU (at least two
 * batches, at most 2048 objects): about 2.4 MiB per CPU when every cache
 * is full, far less in practice: large enough that a thread allocating
 * and freeing 1000 small objects stays off the central lists, whose
 * mutexes the CPUs would otherwise fight over.
 *
 * The transfer cache: 64 KiB of objects per class (at least eight
 * batches, at most XFER_MAX objects), so that batches move between CPUs
 * as arrays of pointers rather than through the spans' free lists, whose
 * walk touches every object.
 */
#include "malloc_internal.h"

#define CLASS_BUDGET 65536u
#define MAX_CAPACITY 2048u
#define BATCH_BYTES 8192u
#define XFER_BATCHES 8u
#define XFER_BYTES 65536u

struct class_info classes[NR_CLASSES + 1];
uint8_t class_small[1024 / 16 + 1];
uint8_t class_large[32768 / 128 + 1];

static uint32_t clamp32(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static uint32_t nth_size(unsigned int c)
{
	unsigned int group, step;

	if (c <= 8)
		return 16u * c;
	group = (c - 9) / 4;	/* 0: 128..256 */
	step = (c - 9) % 4 + 1;	/* 1..4 quarters */
	return (128u << group) + step * (32u << group);
}

static void class_fill(unsigned int c)
{
	struct class_info *ci = &classes[c];

	ci->size = nth_size(c);
	ci->batch = clamp32(BATCH_BYTES / ci->size, 1, MAX_BATCH);
	ci->capacity = clamp32(CLASS_BUDGET / ci->size, 2 * ci->batch,
			       MAX_CAPACITY);
	ci->per_span = (uint32_t)(SPAN_SIZE / ci->size);
	ci->xfer_cap = clamp32(XFER_BYTES / ci->size, XFER_BATCHES * ci->batch,
			       XFER_MAX);
	ci->inverse = ((uint64_t)1 << 40) / ci->size + 1;
}

void classes_init(void)
{
	unsigned int c = 1;

	for (unsigned int i = 1; i <= NR_CLASSES; i++)
		class_fill(i);
	for (size_t i = 0; i < sizeof(class_small); i++) {
		while (classes[c].size < (i ? i * 16 : 1))
			c++;
		class_small[i] = (uint8_t)c;
	}
	c = 1;
	for (size_t i = 0; i < sizeof(class_large); i++) {
		while (classes[c].size < i * 128)
			c++;
		class_large[i] = (uint8_t)c;
	}
}

struct percpu_stack *cache_small[1024 / 16 + 1];
struct percpu_stack *cache_large[32768 / 128 + 1];

/* After the caches: released, as malloc reads a cache through them. Left
 * empty when hits are counted: malloc then takes its slow path, which
 * counts them. */
void caches_by_size_init(void)
{
	if (stats_hits)
		return;
	for (size_t i = 0; i < sizeof(class_small); i++)
		__atomic_store_n(&cache_small[i], caches[class_small[i]],
				 __ATOMIC_RELEASE);
	for (size_t i = 0; i < sizeof(class_large); i++)
		__atomic_store_n(&cache_large[i], caches[class_large[i]],
				 __ATOMIC_RELEASE);
}

/*
 * The smallest class holding size bytes whose objects are all aligned to
 * align (16 < align <= 32 KiB, a power of two): its size a multiple of
 * align, since spans are aligned to their size. 0 if none.
 */
unsigned int class_aligned(size_t size, size_t align)
{
	for (unsigned int c = 1; c <= NR_CLASSES; c++)
		if (classes[c].size >= size && classes[c].size % align == 0)
			return c;
	return 0;
}
