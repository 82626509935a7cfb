/* SPDX-License-Identifier: MIT */
/* src/lockpath/op.h: one operation, as the slow path and the lock path see it. */
#ifndef PERCPU_OP_H
#define PERCPU_OP_H

#include <string.h>
#include "internal.h"
#include "percpu/multi.h"
#include "percpu/stack.h"

enum op_kind {
	/* single-word: one atomic instruction on the lock path */
	OP_ADD, OP_FETCH_ADD, OP_STORE, OP_XCHG, OP_CAS, OP_LOCK, OP_LIST_PUSH,
	/* multi-word: always hold the shard word on the lock path */
	OP_CMP2, OP_CAS_STORE2, OP_MEMCPY, OP_LIST_POP,
	/* pointer stack, at most PERCPU_STACK_SMALL pointers: result is
	 * how many moved, 0 if full or empty (not a PERCPU_ code) */
	OP_STACK_PUSH, OP_STACK_POP,
};

/* What only the multi-word operations need, kept aside: building an op
 * on every lock-mode call should stay cheap. */
struct op_more {
	intptr_t *q;		/* CMP2, CAS_STORE2: shard-0 address */
	intptr_t c;		/* CMP2: expect2; CAS_STORE2: v2 */
	void *dst;		/* MEMCPY; STACK_POP: out[] */
	const void *src;	/* MEMCPY; STACK_PUSH: ptrs[] */
	size_t len;		/* MEMCPY: bytes; STACK_*: pointers */
	int release;		/* CAS_STORE2, MEMCPY: commit with release */
};

struct op {
	enum op_kind kind;
	int shard;		/* required shard, or -1 for the current one */
	intptr_t *p;		/* shard-0 address of the committed word */
	intptr_t a, b;		/* operand; compares: expect, new value */
	const struct op_more *more;
	intptr_t result;	/* old value, node, or a PERCPU_ result code */
};

static inline int op_is_multi_word(const struct op *op)
{
	return op->kind >= OP_CMP2;
}

/* A compare's result: 1 if it stored. */
static inline int op_settle(struct op *op, int stored)
{
	op->result = stored ? PERCPU_OK : PERCPU_CHANGED;
	return stored;
}

static inline intptr_t *op_at(intptr_t *p, unsigned int shard)
{
	return percpu_fast_slot(p, shard);
}

/* The result is a count or a node, not a PERCPU_ code. */
static inline int op_result_is_value(const struct op *op)
{
	return op->kind == OP_LIST_POP || op->kind >= OP_STACK_PUSH;
}

/*
 * A stack operation on `st`, this shard's struct percpu_stack, held by
 * the caller (a lease, or the shard word): no section can commit there
 * and no other thread moves its count. The count is published after the
 * slots (release), and read before them (acquire).
 */
/* One pointer, the common case (an allocator's cache), without a call
 * to memcpy, whose start-up would cost more than the move. */
static inline void op_copy_ptrs(void **dst, void *const *src, size_t k)
{
	if (k == 1)
		dst[0] = src[0];
	else
		memcpy(dst, src, k * sizeof(void *));
}

static inline void op_stack_move(struct op *op, intptr_t *st)
{
	struct percpu_stack *mine = (struct percpu_stack *)st;
	const struct op_more *m = op->more;
	intptr_t count = __atomic_load_n(&mine->count, __ATOMIC_ACQUIRE);
	intptr_t room = op->kind == OP_STACK_PUSH ? mine->capacity - count :
						   count;
	size_t k = room <= 0 ? 0 : m->len < (size_t)room ? m->len :
							    (size_t)room;

	op->result = (intptr_t)k;
	if (!k)
		return;
	if (op->kind == OP_STACK_PUSH) {
		op_copy_ptrs(&mine->slot[count], m->src, k);
		count += (intptr_t)k;
	} else {
		count -= (intptr_t)k;
		op_copy_ptrs(m->dst, &mine->slot[count], k);
	}
	__atomic_store_n(&mine->count, count, __ATOMIC_RELEASE);
}

/* lockpath.c: returns the shard the operation applied to. */
int percpu_lock_path(struct op *op);

#endif
