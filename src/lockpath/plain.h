/* SPDX-License-Identifier: MIT */
/*
 * src/lockpath/plain.h: an operation under this thread's lease (lease.c), where no
 * other thread takes the shard: unlocked instructions (uniproc.h). Inline,
 * so each entry point of slow.c gets its own few instructions.
 *
 * The rule every case below keeps: an unlocked read-modify-write touches
 * only a word that no other thread writes while the shard is leased. A
 * lock word breaks it: its holder unlocks with a plain store from any CPU,
 * holding no shard word. An unlocked cmpxchg that fails still stores (the
 * old value back), so a compare is made with a load first and the cmpxchg
 * runs only when the word holds what was expected: a lock found free, which
 * no thread can unlock meanwhile. A failed compare writes nothing, as in
 * an rseq section.
 */
#ifndef PERCPU_PLAIN_H
#define PERCPU_PLAIN_H

#include "lockpath/op.h"
#include "lockpath/uniproc.h"

static inline void plain_push(intptr_t *head, intptr_t node)
{
	intptr_t first;

	do {
		first = up_load(head);
		up_store((intptr_t *)node, first);
	} while (!up_cas(head, first, node));
}

/* Pop is not async-signal-safe: only pushes can interrupt it. */
static inline void plain_pop(struct op *op, intptr_t *head)
{
	intptr_t first;

	do
		first = up_load(head);
	while (first && !up_cas(head, first, up_load((intptr_t *)first)));
	op->result = first;
}

static inline int plain_multi(struct op *op, unsigned int shard)
{
	intptr_t *w = op_at(op->p, shard);
	const struct op_more *m = op->more;

	if (up_load(w) != op->a)
		return op_settle(op, 0);
	if (op->kind == OP_CMP2) {
		if (up_load(op_at(m->q, shard)) != m->c)
			return op_settle(op, 0);
	} else if (op->kind == OP_CAS_STORE2) {
		up_store(op_at(m->q, shard), m->c);
	} else {
		percpu_copy_bytes(m->dst, m->src, m->len);
	}
	return op_settle(op, up_cas(w, op->a, op->b));
}

/* Under this thread's lease: no other thread touches the shard. */
static inline __attribute__((always_inline)) int
apply_plain(struct op *op, unsigned int shard)
{
	intptr_t *w = op_at(op->p, shard);

	switch (op->kind) {
	case OP_ADD:
		up_add(w, op->a);
		return 1;
	case OP_FETCH_ADD:
		op->result = up_fetch_add(w, op->a);
		return 1;
	case OP_STORE:
		up_store(w, op->a);
		return 1;
	case OP_XCHG:
		op->result = up_xchg(w, op->a);
		return 1;
	case OP_LIST_PUSH:
		plain_push(w, op->a);
		return 1;
	case OP_LIST_POP:
		plain_pop(op, w);
		return 1;
	case OP_STACK_PUSH:
	case OP_STACK_POP:
		op_stack_move(op, w);
		return 1;
	case OP_CAS:
	case OP_LOCK:
		return op_settle(op, up_load(w) == op->a &&
					     up_cas(w, op->a, op->b));
	default:
		return plain_multi(op, shard);
	}
}

#endif
