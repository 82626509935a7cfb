// SPDX-License-Identifier: MIT
/*
 * src/lockpath/lockpath.c: operations without rseq.
 *  - Process in lock mode: no section can commit any more, so a single-word
 *    operation is one atomic instruction on the chosen shard, no lock.
 *  - Otherwise (this thread cannot use rseq, or gave up): take the shard
 *    word, fence that CPU, update atomically, release.
 * Multi-word operations hold the shard word in both cases (without a fence
 * in lock mode) and commit with a compare-and-swap, so single-word
 * operations that do not take the word cannot slip between their steps.
 * With leases (lock mode, lease.c) every operation holds the word; one
 * under its thread's lease never comes here (slow.c, plain.h).
 */
#include <sched.h>
#include "lockpath/lease.h"
#include "lockpath/op.h"

static int cas(intptr_t *w, intptr_t expect, intptr_t v, int order)
{
	return __atomic_compare_exchange_n(w, &expect, v, 0, order,
					   __ATOMIC_RELAXED);
}

static intptr_t load(const intptr_t *w, int order)
{
	return __atomic_load_n(w, order);
}

static void list_push(intptr_t *head, intptr_t node)
{
	intptr_t first = load(head, __ATOMIC_RELAXED);

	do
		__atomic_store_n((intptr_t *)node, first, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(head, &first, node, 1,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Holding the shard: no other pop runs, so the head cannot come back. */
static void list_pop(struct op *op, intptr_t *head)
{
	intptr_t first;

	do
		first = load(head, __ATOMIC_ACQUIRE);
	while (first && !cas(head, first,
			     load((intptr_t *)first, __ATOMIC_RELAXED),
			     __ATOMIC_RELAXED));
	op->result = first;
}

static int apply_single(struct op *op, unsigned int shard)
{
	intptr_t *w = op_at(op->p, shard);

	switch (op->kind) {
	case OP_ADD:
		__atomic_fetch_add(w, op->a, __ATOMIC_RELAXED);
		return 1;
	case OP_FETCH_ADD:
		op->result = __atomic_fetch_add(w, op->a, __ATOMIC_RELAXED);
		return 1;
	case OP_STORE:
		__atomic_store_n(w, op->a, __ATOMIC_RELAXED);
		return 1;
	case OP_XCHG:
		op->result = __atomic_exchange_n(w, op->a, __ATOMIC_RELAXED);
		return 1;
	case OP_LIST_PUSH:
		list_push(w, op->a);
		return 1;
	default: /* OP_CAS, OP_LOCK */
		return op_settle(op, cas(w, op->a, op->b, __ATOMIC_ACQUIRE));
	}
}

/* With the shard word held. */
static int apply_multi(struct op *op, unsigned int shard)
{
	intptr_t *w = op_at(op->p, shard);
	const struct op_more *m = op->more;
	int commit = m && m->release ? __ATOMIC_RELEASE : __ATOMIC_RELAXED;

	if (op->kind == OP_LIST_POP) {
		list_pop(op, w);
		return 1;
	}
	if (op->kind >= OP_STACK_PUSH) {
		op_stack_move(op, w);
		return 1;
	}
	if (load(w, __ATOMIC_ACQUIRE) != op->a)
		return op_settle(op, 0);
	if (op->kind == OP_CMP2) {
		if (load(op_at(m->q, shard), __ATOMIC_RELAXED) != m->c)
			return op_settle(op, 0);
	} else if (op->kind == OP_CAS_STORE2) {
		__atomic_store_n(op_at(m->q, shard), m->c, __ATOMIC_RELAXED);
	} else {
		percpu_copy_bytes(m->dst, m->src, m->len);
	}
	return op_settle(op, cas(w, op->a, op->b, commit));
}

static int apply(struct op *op, unsigned int shard)
{
	return op_is_multi_word(op) ? apply_multi(op, shard) :
				      apply_single(op, shard);
}

/*
 * Count an operation that ended on `shard`, held as `took`: on the word's
 * line, unless a signal handler interrupted this thread's holding of it,
 * whose count may be half done (lockpath/tally.c).
 */
static void tally_holding(unsigned int shard, int took)
{
	if (took == SHARD_TAKEN)
		percpu_tally_held(&percpu_shard_ban(shard)->lock_ops);
	else
		percpu_tally_spill();
}

/* One atomic instruction, holding nothing: counted per thread. */
static int apply_unheld(struct op *op, unsigned int shard)
{
	int done = apply(op, shard);

	if (done > 0 || op->shard >= 0)
		percpu_tally_unlocked_op();
	return done;
}

/*
 * Hold the shard word around the update. Returns as apply(), or -1 if the
 * word was busy and could not be waited for. A single-word operation may
 * run beside an interrupted holder on its own thread (every lock-path
 * update is atomic); a multi-word one may not.
 */
static int apply_holding(struct op *op, unsigned int shard, int wait)
{
	struct shard_hold h;
	int took = percpu_shard_take(&h, shard, wait);
	int done;

	if (took == SHARD_BUSY)
		return -1;
	if (took == SHARD_NESTED && op_is_multi_word(op)) {
		percpu_shard_unnest(&h);
		return -1;
	}
	percpu_inject_inside(shard, 1);
	percpu_inject_delay(PERCPU_INJECT_HOLDING);
	done = apply(op, shard);
	percpu_inject_inside(shard, -1);
	if (done > 0 || op->shard >= 0)
		tally_holding(shard, took);
	if (took == SHARD_NESTED)
		percpu_shard_unnest(&h);
	else if (!percpu_shard_lease(&h))
		percpu_shard_release(&h);
	return done;
}

static int apply_somehow(struct op *op, unsigned int shard, int wait)
{
	if (percpu_lock_only() && !percpu_leases_on && !op_is_multi_word(op))
		return apply_unheld(op, shard);
	return apply_holding(op, shard, wait);
}

/* Rounds of lock_path_any that yield before it sleeps between rounds. */
#define YIELD_ROUNDS 8

/*
 * An operation on the current shard applies to the first shard it can
 * hold (a lock must also be found free), starting with its CPU's, where a
 * lease is revoked: the operation belongs there. A held shard is skipped,
 * not waited on. After a round that found none, the thread yields to the
 * holders, and the next rounds revoke leases on every shard: where no
 * barrier is possible (a seccomp filter installed after start) only a
 * leaseholder's next operation gives its lease back, so each leaseholder
 * must be asked, not just the one that may sleep for ever. If that goes
 * on (fences refused, leaseholders asleep), the thread sleeps between
 * rounds, longer and longer.
 */
static int lock_path_any(struct op *op)
{
	unsigned int n = percpu_rt.nr_shards, first = percpu_cpu_hint();
	unsigned int tries = 0;

	for (unsigned int round = 0;; round++) {
		for (unsigned int i = 0, s = first; i < n; i++, s++) {
			int wait = i && !round ? TAKE_NOWAIT : TAKE_REVOKE;

			if (s == n)
				s = 0;
			if (apply_somehow(op, s, wait) > 0)
				return (int)s;
		}
		if (round < YIELD_ROUNDS)
			sched_yield();
		else
			percpu_backoff_sleep(&tries);
	}
}

int percpu_lock_path(struct op *op)
{
#ifdef PERCPU_INJECT
	__atomic_fetch_add(&percpu_inject.lock_path_ops, 1, __ATOMIC_RELAXED);
#endif
	if (op->shard < 0)
		return lock_path_any(op);
	if (apply_somehow(op, (unsigned int)op->shard, TAKE_WAIT) < 0)
		op->result = PERCPU_MOVED; /* a handler inside a holder */
	return op->shard;
}
