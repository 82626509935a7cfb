/* SPDX-License-Identifier: MIT */
/*
 * percpu/list.h: a per-CPU singly linked list (LIFO), the shape of an
 * allocator's per-CPU free list. Allocate the heads with
 * percpu_alloc(sizeof(struct percpu_list)) (zero: every shard empty) and
 * embed a struct percpu_list_node in each element, aligned as C aligns it
 * (precondition: the fast path's pop tells a failed section by an odd
 * value, so a node at an odd address, in a packed struct, is not allowed).
 *
 * Pop is immune to ABA: it compares the head, loads the head's next and
 * stores it in one critical section (on the lock path, holding the shard),
 * so an element popped and pushed back meanwhile cannot corrupt the list.
 *
 * Thread safety: safe from any thread, in every mode, mixed. Signal safety:
 * percpu_list_push is async-signal-safe in every mode; percpu_list_pop is
 * not (on the lock path it holds the shard word, or works under a lease,
 * where only a push may interrupt it). Memory ordering: relaxed;
 * a node's contents written before its push are not published by the push
 * to a popper on another CPU in lock mode: publish them yourself if needed
 * (on x86-64 stores are ordered anyway).
 */
#ifndef PERCPU_LIST_H
#define PERCPU_LIST_H

#include "ops.h"

PERCPU_EXTERN_C_BEGIN

struct percpu_list_node {
	struct percpu_list_node *next;
};

struct percpu_list {
	struct percpu_list_node *head;
};

PERCPU_API int percpu_list_push_slow(struct percpu_list *list,
				     struct percpu_list_node *node);
PERCPU_API struct percpu_list_node *percpu_list_pop_slow(struct percpu_list *list,
							int *shard);

/* percpu_list_push: push `node` on this shard's list; returns the shard. */
static inline int percpu_list_push(struct percpu_list *list,
				   struct percpu_list_node *node)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;

	if (PERCPU_LIKELY(percpu_fast_here(&h, list)) &&
	    PERCPU_LIKELY(percpu_cs_list_push(
				  &h, percpu_fast_gate(&h),
				  percpu_fast_slot((intptr_t *)list, h.cpu),
				  (intptr_t)node) == PERCPU_CS_OK))
		return (int)h.cpu;
#endif
	return percpu_list_push_slow(list, node);
}

/*
 * percpu_list_pop: pop the first node of this shard's list; NULL if that
 * list is empty (other shards' lists are not looked at). If `shard` is not
 * NULL, the shard is stored there.
 */
static inline struct percpu_list_node *percpu_list_pop(struct percpu_list *list,
						       int *shard)
{
#if PERCPU_ARCH_RSEQ
	struct percpu_here h;
	uintptr_t o;
	intptr_t node;

	/* The node, NULL if the list was empty, or 1: the section failed. */
	if (PERCPU_LIKELY(percpu_fast_enter(&h, list))) {
		node = percpu_cs_list_pop_here(&h, (intptr_t *)list, &o);
		if (PERCPU_LIKELY(!(node & 1))) {
			if (shard)
				*shard = (int)((intptr_t)o >> PERCPU_STRIDE_SHIFT);
			return (struct percpu_list_node *)node;
		}
	}
#endif
	return percpu_list_pop_slow(list, shard);
}

PERCPU_EXTERN_C_END

#endif
