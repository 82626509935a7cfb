/* SPDX-License-Identifier: MIT */
/* src/op.h: one operation, as the slow path and the lock path see it. */
#ifndef PERCPU_OP_H
#define PERCPU_OP_H

#include "internal.h"
#include "percpu/multi.h"

enum op_kind {
	/* single-word: one atomic instruction on the lock path */
	OP_ADD, OP_FETCH_ADD, OP_STORE, OP_XCHG, OP_CAS, OP_LOCK, OP_LIST_PUSH,
	/* multi-word: always hold the shard word on the lock path */
	OP_CMP2, OP_CAS_STORE2, OP_MEMCPY, OP_LIST_POP,
};

/* What only the multi-word operations need, kept aside: building an op
 * on every lock-mode call should stay cheap. */
struct op_more {
	intptr_t *q;		/* CMP2, CAS_STORE2: shard-0 address */
	intptr_t c;		/* CMP2: expect2; CAS_STORE2: v2 */
	void *dst;		/* MEMCPY */
	const void *src;
	size_t len;
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

/* lockpath.c: returns the shard the operation applied to. */
int percpu_lock_path(struct op *op);

#endif
