// SPDX-License-Identifier: MIT
/*
 * src/memory/stack.c: creating a per-CPU pointer stack, and moving a batch larger
 * than PERCPU_STACK_SMALL: load the count, then compare it, copy the block
 * (rep movsb on x86-64) and commit the new count in one operation
 * (percpu_memcpy_store). Small batches have their own sections
 * (percpu/stack.h) and slow path (slow.c).
 */
#include <errno.h>
#include "internal.h"
#include "percpu/stack.h"

#define BLOCK_MAX (PERCPU_MEMCPY_MAX / sizeof(void *))

struct percpu_stack *percpu_stack_alloc(size_t capacity)
{
	size_t max = (PERCPU_ALLOC_MAX - sizeof(struct percpu_stack)) /
		     sizeof(void *);
	struct percpu_stack *s;

	if (capacity == 0 || capacity > max) {
		errno = EINVAL;
		return NULL;
	}
	s = percpu_alloc(sizeof(*s) + capacity * sizeof(void *));
	if (!s)
		return NULL;
	for (int k = 0; k < percpu_nr_shards(); k++)
		((struct percpu_stack *)percpu_ptr(s, k))->capacity =
			(intptr_t)capacity;
	return s;
}

size_t percpu_stack_push_block(struct percpu_stack *s, void *const *ptrs,
			       size_t n, int *shard)
{
	for (;;) {
		int sh;
		intptr_t count = percpu_load(&s->count, &sh);
		struct percpu_stack *mine = percpu_ptr(s, sh);
		size_t room = (size_t)(mine->capacity - count);
		size_t k = n < room ? n : room;

		if (k > BLOCK_MAX)
			k = BLOCK_MAX;
		if (percpu_memcpy_store_release(&s->count, sh, count,
						count + (intptr_t)k,
						&mine->slot[count], ptrs,
						k * sizeof(void *)) == PERCPU_OK) {
			if (shard)
				*shard = sh;
			return k;
		}
	}
}

size_t percpu_stack_pop_block(struct percpu_stack *s, void **out, size_t n,
			      int *shard)
{
	for (;;) {
		int sh;
		intptr_t count = percpu_load(&s->count, &sh);
		struct percpu_stack *mine = percpu_ptr(s, sh);
		size_t k = n < (size_t)count ? n : (size_t)count;

		if (k > BLOCK_MAX)
			k = BLOCK_MAX;
		if (percpu_memcpy_store(&s->count, sh, count,
					count - (intptr_t)k, out,
					&mine->slot[count - (intptr_t)k],
					k * sizeof(void *)) == PERCPU_OK) {
			if (shard)
				*shard = sh;
			return k;
		}
	}
}
