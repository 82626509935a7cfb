// SPDX-License-Identifier: MIT
/* src/stack.c: creating a per-CPU pointer stack. */
#include <errno.h>
#include "internal.h"
#include "percpu/stack.h"

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
