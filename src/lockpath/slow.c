// SPDX-License-Identifier: MIT
/*
 * src/lockpath/slow.c: what an operation does when its inline rseq attempt did not
 * commit: a bounded number of rseq retries (the thread may just have been
 * preempted or migrated), then the lock path (lockpath.c).
 */
#include <errno.h>
#include <sched.h>
#include "lockpath/lease.h"
#include "lockpath/plain.h"

enum { RSEQ_DONE, RSEQ_GIVE_UP };

#if PERCPU_ARCH_RSEQ
static int attempt_single(struct op *op, const struct percpu_here *h)
{
	const uint32_t *g = percpu_fast_gate(h);
	intptr_t *p = op_at(op->p, h->cpu);
	intptr_t v = op->a;
	int r;

	switch (op->kind) {
	case OP_ADD:
		return percpu_cs_add(h, g, op->p, op->a);
	case OP_FETCH_ADD:
		r = percpu_cs_fetch_add(h, g, p, &v);
		break;
	case OP_XCHG:
		r = percpu_cs_xchg(h, g, p, &v);
		break;
	case OP_STORE:
		return percpu_cs_store(h, g, p, op->a);
	case OP_LIST_PUSH:
		return percpu_cs_list_push(h, g, p, op->a);
	default: /* OP_CAS, OP_LOCK */
		return percpu_cs_cmpeq_store(h, percpu_fast_word(h), p, op->a,
					     op->b);
	}
	op->result = v;
	return r;
}

/* One pointer has its own section; up to PERCPU_STACK_SMALL, a loop. */
static int attempt_stack_push(struct op *op, const struct percpu_here *h,
			      const uint32_t *g, intptr_t *st)
{
	const struct op_more *m = op->more;
	void *const *ptrs = (void *const *)m->src;
	size_t k = m->len;
	int r;

	if (k == 1)
		r = percpu_cs_stack_push1(h, g, st, (intptr_t)ptrs[0]);
	else
		r = percpu_cs_stack_push_small(h, g, st, ptrs, &k);
	if (r == PERCPU_CS_OK)
		op->result = (intptr_t)k;
	return r;
}

static int attempt_stack_pop(struct op *op, const struct percpu_here *h,
			     const uint32_t *g, intptr_t *st)
{
	const struct op_more *m = op->more;
	void **out = (void **)m->dst;
	size_t k = m->len;
	intptr_t one = 0;
	int r;

	if (k != 1) {
		r = percpu_cs_stack_pop_small(h, g, st, out, &k);
	} else {
		r = percpu_cs_stack_pop1(h, g, st, &one);
		if (r == PERCPU_CS_OK)
			out[0] = (void *)one;
	}
	if (r == PERCPU_CS_OK)
		op->result = (intptr_t)k;
	return r;
}

static int attempt_multi(struct op *op, const struct percpu_here *h)
{
	intptr_t *w = percpu_fast_word(h), *p = op_at(op->p, h->cpu);
	const struct op_more *m = op->more;
	struct percpu_copy copy;

	switch (op->kind) {
	case OP_CMP2:
		return percpu_cs_cmpeq_cmpeq_store(h, w, p, op->a,
						   op_at(m->q, h->cpu), m->c,
						   op->b);
	case OP_CAS_STORE2:
		return percpu_cs_cmpeq_store_store(h, w, p, op->a,
						   op_at(m->q, h->cpu), m->c,
						   op->b);
	case OP_MEMCPY:
		copy = (struct percpu_copy){ m->dst, m->src, m->len };
		return percpu_cs_cmpeq_memcpy_store(h, w, p, op->a, &copy,
						    op->b);
	case OP_STACK_PUSH:
		return attempt_stack_push(op, h, percpu_fast_gate(h), p);
	case OP_STACK_POP:
		return attempt_stack_pop(op, h, percpu_fast_gate(h), p);
	default: /* OP_LIST_POP: no more operands */
		return percpu_cs_list_pop(h, percpu_fast_gate(h), p,
					  &op->result);
	}
}

/* A section's outcome the lock path cannot improve on; 0 if none. */
static int final_outcome(struct op *op, int r)
{
	if (r == PERCPU_CS_OK && op_result_is_value(op))
		return 1;
	if (r == PERCPU_CS_OK) {
		if (op->kind >= OP_CAS && op->kind != OP_LIST_PUSH)
			op->result = PERCPU_OK;
		return 1;
	}
	if (r != PERCPU_CS_CHANGED || op->kind == OP_LOCK)
		return 0;
	op->result = op_result_is_value(op) ? 0 : PERCPU_CHANGED;
	return 1;
}

/*
 * Retry with rseq. Aborts and moves count against MAX_RSEQ_ABORTS, so a
 * thread that a debugger single-steps (every step aborts) gets through. A
 * lock found held is waited for with yields: its holder needs the CPU.
 */
static int rseq_retry(struct op *op, const struct percpu_thread *t, int *shard)
{
	unsigned int aborts = 0;

#ifdef PERCPU_INJECT
	if (percpu_thread_uses_rseq(t))
		__atomic_fetch_add(&percpu_inject.rseq_retries, 1,
				   __ATOMIC_RELAXED);
#endif
	while (aborts < MAX_RSEQ_ABORTS && percpu_thread_uses_rseq(t)) {
		struct percpu_here h = { percpu_rt.rseq_offset,
					 percpu_rt.id_offset,
					 percpu_rt.shard_words, 0,
					 percpu_rt.shard_gates };
		int r;

		h.cpu = percpu_arch_shard_id(h.id);
		if (h.cpu >= percpu_rt.nr_shards)
			return RSEQ_GIVE_UP;
		*shard = (int)h.cpu;
		if (op->shard >= 0 && h.cpu != (unsigned int)op->shard) {
			op->result = PERCPU_MOVED;
			return RSEQ_DONE;
		}
		percpu_inject_before_section();
		r = op_is_multi_word(op) ? attempt_multi(op, &h) :
					   attempt_single(op, &h);
		if (final_outcome(op, r))
			return RSEQ_DONE;
		if (r == PERCPU_CS_CHANGED) {
			sched_yield();
			continue;
		}
		if (r == PERCPU_CS_DIVERTED &&
		    (__atomic_load_n(percpu_shard_word((unsigned int)h.cpu),
				     __ATOMIC_RELAXED) &
		     (intptr_t)SHARD_DISABLED))
			return RSEQ_GIVE_UP;
#ifdef PERCPU_INJECT
		__atomic_fetch_add(&percpu_inject.rseq_aborts, 1,
				   __ATOMIC_RELAXED);
#endif
		aborts++;
		percpu_cpu_relax();
	}
	return RSEQ_GIVE_UP;
}
#endif

/*
 * Returns the shard the operation applied to. In lock mode nothing else
 * is worth a look: go straight to the lock path.
 */
static __attribute__((noinline)) int run_unleased(struct op *op)
{
	struct percpu_thread *t;
	int shard = -1;

	if (percpu_lock_only()) {
		shard = percpu_lock_path(op);
	} else {
		t = percpu_self();
#if PERCPU_ARCH_RSEQ
		if (rseq_retry(op, t, &shard) != RSEQ_DONE)
			shard = percpu_lock_path(op);
#else
		(void)t;
		shard = percpu_lock_path(op);
#endif
	}
	return shard;
}

/*
 * Count an operation under a lease, in its thread's slot, whose line the
 * lease has just written. A signal handler inside its thread's lease
 * operation (which may be counting) spills.
 */
static inline __attribute__((always_inline)) void
tally_leased(const struct lease_entry *e)
{
	if (PERCPU_LIKELY(e->prev != LEASE_OWNED))
		percpu_tally_held(&e->slot->ops);
	else
		percpu_tally_spill();
}

/*
 * A thread with a lease (lock mode, lease.c) applies there first. Inline,
 * so every entry point below has its own lease path. A lock found taken
 * under the lease is looked for on the other shards.
 */
static inline __attribute__((always_inline)) int run(struct op *op)
{
	struct lease_entry e;
	/* Only copies of *op escape, on the slow branch: the compiler keeps
	 * its fields in registers across the lease's compiler barriers and
	 * folds apply_plain's switch. */
	struct op plain = *op, slow;
	int shard;

	if (PERCPU_LIKELY(percpu_lease_enter(&e, op->shard))) {
		int done;

#ifdef PERCPU_INJECT
		__atomic_fetch_add(&percpu_inject.lock_path_ops, 1,
				   __ATOMIC_RELAXED);
#endif
		percpu_inject_inside(e.shard, 1);
		percpu_inject_delay(PERCPU_INJECT_HOLDING);
		done = apply_plain(&plain, e.shard);
		percpu_inject_inside(e.shard, -1);
		if (PERCPU_LIKELY(done || op->shard >= 0))
			tally_leased(&e);
		percpu_lease_leave(&e);
		op->result = plain.result;
		if (PERCPU_LIKELY(done || op->shard >= 0))
			return (int)e.shard;
	}
	slow = *op;
	shard = run_unleased(&slow);
	op->result = slow.result;
	return shard;
}

/* A named shard must exist; initializes first, so the count is known. */
static int shard_ok(int shard)
{
	percpu_init();
	if ((unsigned int)shard < percpu_rt.nr_shards)
		return 1;
	errno = EINVAL;
	return 0;
}

static void tell_shard(int *shard, int s)
{
	if (shard)
		*shard = s;
}

int percpu_add_slow(intptr_t *p, intptr_t v)
{
	struct op op = { .kind = OP_ADD, .p = p, .a = v, .shard = -1 };

	return run(&op);
}

intptr_t percpu_fetch_add_slow(intptr_t *p, intptr_t v, int *shard)
{
	struct op op = { .kind = OP_FETCH_ADD, .p = p, .a = v, .shard = -1 };

	tell_shard(shard, run(&op));
	return op.result;
}

intptr_t percpu_xchg_slow(intptr_t *p, intptr_t v, int *shard)
{
	struct op op = { .kind = OP_XCHG, .p = p, .a = v, .shard = -1 };

	tell_shard(shard, run(&op));
	return op.result;
}

int percpu_store_slow(intptr_t *p, intptr_t v)
{
	struct op op = { .kind = OP_STORE, .p = p, .a = v, .shard = -1 };

	return run(&op);
}

int percpu_cas_slow(intptr_t *p, int shard, intptr_t expect, intptr_t v)
{
	struct op op = { .kind = OP_CAS, .p = p, .a = expect, .b = v,
			 .shard = shard };

	if (!shard_ok(shard))
		return -1;
	run(&op);
	return (int)op.result;
}

int percpu_lock_slow(intptr_t *lock)
{
	struct op op = { .kind = OP_LOCK, .p = lock, .a = 0, .b = 1,
			 .shard = -1 };

	return run(&op);
}

int percpu_shard_id_slow(void)
{
	percpu_self();
	return (int)percpu_cpu_hint();
}

int percpu_cmp2_store_slow(intptr_t *p, int shard, intptr_t expect,
			   intptr_t *q, intptr_t expect2, intptr_t v)
{
	struct op_more more = { .q = q, .c = expect2 };
	struct op op = { .kind = OP_CMP2, .p = p, .a = expect, .b = v,
			 .shard = shard, .more = &more };

	if (!shard_ok(shard))
		return -1;
	run(&op);
	return (int)op.result;
}

int percpu_cas_store2_slow(intptr_t *p, int shard, intptr_t expect,
			   intptr_t v, intptr_t *q, intptr_t v2, int release)
{
	struct op_more more = { .q = q, .c = v2, .release = release };
	struct op op = { .kind = OP_CAS_STORE2, .p = p, .a = expect, .b = v,
			 .shard = shard, .more = &more };

	if (!shard_ok(shard))
		return -1;
	run(&op);
	return (int)op.result;
}

int percpu_memcpy_store_slow(intptr_t *p, int shard, intptr_t expect,
			     intptr_t v, void *dst, const void *src,
			     size_t len, int release)
{
	struct op_more more = { .dst = dst, .src = src, .len = len,
				.release = release };
	struct op op = { .kind = OP_MEMCPY, .p = p, .a = expect, .b = v,
			 .shard = shard, .more = &more };

	if (!shard_ok(shard))
		return -1;
	if (len > PERCPU_MEMCPY_MAX) {
		errno = EINVAL;
		return -1;
	}
	run(&op);
	return (int)op.result;
}

int percpu_list_push_slow(struct percpu_list *list,
			  struct percpu_list_node *node)
{
	struct op op = { .kind = OP_LIST_PUSH, .p = (intptr_t *)list,
			 .a = (intptr_t)node, .shard = -1 };

	return run(&op);
}

struct percpu_list_node *percpu_list_pop_slow(struct percpu_list *list,
					      int *shard)
{
	struct op op = { .kind = OP_LIST_POP, .p = (intptr_t *)list,
			 .shard = -1 };

	tell_shard(shard, run(&op));
	return (struct percpu_list_node *)op.result;
}

/* Small batches here; larger ones copy a block (stack.c). */
size_t percpu_stack_push_slow(struct percpu_stack *s, void *const *ptrs,
			      size_t n, int *shard)
{
	struct op_more more = { .src = ptrs, .len = n };
	struct op op = { .kind = OP_STACK_PUSH, .p = &s->count,
			 .shard = -1, .more = &more };

	if (n > PERCPU_STACK_SMALL)
		return percpu_stack_push_block(s, ptrs, n, shard);
	tell_shard(shard, run(&op));
	return (size_t)op.result;
}

size_t percpu_stack_pop_slow(struct percpu_stack *s, void **out, size_t n,
			     int *shard)
{
	struct op_more more = { .dst = out, .len = n };
	struct op op = { .kind = OP_STACK_POP, .p = &s->count, .shard = -1,
			 .more = &more };

	if (n > PERCPU_STACK_SMALL)
		return percpu_stack_pop_block(s, out, n, shard);
	tell_shard(shard, run(&op));
	return (size_t)op.result;
}
