/* SPDX-License-Identifier: MIT */
/*
 * percpu/stack.h: a per-CPU array stack of pointers with batch push and
 * pop, the shape of an allocator's per-CPU cache. Each shard has its own
 * count and `capacity` slots.
 *
 * Thread safety: safe from any thread, in every mode, mixed. Signal safety:
 * not async-signal-safe. Memory ordering: a batch's pointers are published
 * with its count (release), and a pop reads them after the count.
 */
#ifndef PERCPU_STACK_H
#define PERCPU_STACK_H

#include "memory.h"
#include "multi.h"

PERCPU_EXTERN_C_BEGIN

struct percpu_stack {
	intptr_t count;
	intptr_t capacity;
	void *slot[];
};

/*
 * percpu_stack_alloc: a stack of `capacity` pointers per shard, empty.
 * Returns NULL with errno EINVAL (capacity 0 or too large for
 * PERCPU_ALLOC_MAX) or ENOMEM. Free it with percpu_free().
 */
PERCPU_API struct percpu_stack *percpu_stack_alloc(size_t capacity);

/*
 * percpu_stack_push: push up to n pointers from `ptrs` onto this shard's
 * stack, as many as fit. Returns how many were pushed (ptrs[0] first, so
 * the last pushed is on top); stores the shard through `shard` if not NULL.
 * At most PERCPU_MEMCPY_MAX / sizeof(void *) pointers move in one call.
 */
static inline size_t percpu_stack_push(struct percpu_stack *s,
				       void *const *ptrs, size_t n, int *shard)
{
	for (;;) {
		int sh;
		intptr_t count = percpu_load(&s->count, &sh);
		struct percpu_stack *mine = (struct percpu_stack *)percpu_ptr(s, sh);
		size_t room = (size_t)(mine->capacity - count);
		size_t k = n < room ? n : room;

		if (k > PERCPU_MEMCPY_MAX / sizeof(void *))
			k = PERCPU_MEMCPY_MAX / sizeof(void *);
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

/*
 * percpu_stack_pop: pop up to n pointers from this shard's stack into
 * `out`, in the order they were pushed: the top is out[k - 1]. Returns how
 * many were popped, 0 if this shard's stack is empty; stores the shard
 * through `shard` if not NULL.
 */
static inline size_t percpu_stack_pop(struct percpu_stack *s, void **out,
				      size_t n, int *shard)
{
	for (;;) {
		int sh;
		intptr_t count = percpu_load(&s->count, &sh);
		struct percpu_stack *mine = (struct percpu_stack *)percpu_ptr(s, sh);
		size_t k = n < (size_t)count ? n : (size_t)count;

		if (k > PERCPU_MEMCPY_MAX / sizeof(void *))
			k = PERCPU_MEMCPY_MAX / sizeof(void *);
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

PERCPU_EXTERN_C_END

#endif
