// SPDX-License-Identifier: MIT
/*
 * src/slow.c: what an operation does when its inline rseq attempt did not
 * commit. First a bounded number of rseq retries (the thread may just have
 * been preempted), then the lock path:
 *  - process in lock mode: no section can commit any more, so the update is
 *    one atomic instruction on the chosen shard, no lock;
 *  - otherwise (this thread cannot use rseq, or gave up): take the shard
 *    word, fence that CPU, update atomically, release.
 */
#include <errno.h>
#include <sched.h>
#include "internal.h"

enum op_kind { OP_ADD, OP_FETCH_ADD, OP_STORE, OP_CAS, OP_LOCK };

struct op {
	enum op_kind kind;
	intptr_t *p;
	intptr_t a, b;		/* operand; for CAS and LOCK: expect, new */
	int shard;		/* required shard, or -1 for the current one */
	intptr_t result;	/* fetch-add: old value; CAS, LOCK: a PERCPU_ code */
};

enum { RSEQ_DONE, RSEQ_GIVE_UP };

static intptr_t *slot(const struct op *op, unsigned int shard)
{
	return percpu_fast_slot(op->p, shard);
}

#if PERCPU_ARCH_RSEQ
static int attempt(struct op *op, long off, unsigned int cpu)
{
	intptr_t *w = percpu_fast_word(cpu);
	intptr_t v = op->a;
	int r;

	switch (op->kind) {
	case OP_ADD:
		return percpu_cs_add(off, cpu, w, slot(op, cpu), op->a);
	case OP_FETCH_ADD:
		r = percpu_cs_fetch_add(off, cpu, w, slot(op, cpu), &v);
		op->result = v;
		return r;
	case OP_STORE:
		return percpu_cs_store(off, cpu, w, slot(op, cpu), op->a);
	default:
		return percpu_cs_cmpeq_store(off, cpu, w, slot(op, cpu), op->a,
					     op->b);
	}
}

/* What the lock path cannot improve on: a compare that failed, a move. */
static int settle(struct op *op, int result, unsigned int cpu, int *shard)
{
	op->result = result;
	*shard = (int)cpu;
	return RSEQ_DONE;
}

/*
 * Retry with rseq. Aborts and moves count against MAX_RSEQ_ABORTS, so a
 * thread that a debugger single-steps (every step aborts) gets through.
 */
static int rseq_retry(struct op *op, const struct percpu_thread *t, int *shard)
{
	unsigned int aborts = 0;

	while (aborts < MAX_RSEQ_ABORTS && percpu_thread_uses_rseq(t)) {
		long off = percpu_rt.rseq_offset;
		unsigned int cpu = percpu_arch_cpu_id(off);
		int r;

		if (cpu >= percpu_rt.nr_shards)
			return RSEQ_GIVE_UP;
		if (op->shard >= 0 && cpu != (unsigned int)op->shard)
			return settle(op, PERCPU_MOVED, cpu, shard);
		percpu_inject_before_section();
		r = attempt(op, off, cpu);
		if (r == PERCPU_CS_OK)
			return settle(op, op->kind == OP_FETCH_ADD ?
					  op->result : PERCPU_OK, cpu, shard);
		if (r == PERCPU_CS_CHANGED && op->kind == OP_CAS)
			return settle(op, PERCPU_CHANGED, cpu, shard);
		if (r == PERCPU_CS_CHANGED) {
			sched_yield(); /* lock held: let its holder run */
			continue;
		}
		if (r == PERCPU_CS_DIVERTED &&
		    (__atomic_load_n(percpu_fast_word(cpu), __ATOMIC_RELAXED) &
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

/* The update itself, as atomics; returns whether it took (LOCK, CAS). */
static int apply(struct op *op, unsigned int shard)
{
	intptr_t *s = slot(op, shard);
	intptr_t expect = op->a;

	switch (op->kind) {
	case OP_ADD:
		__atomic_fetch_add(s, op->a, __ATOMIC_RELAXED);
		return 1;
	case OP_FETCH_ADD:
		op->result = __atomic_fetch_add(s, op->a, __ATOMIC_RELAXED);
		return 1;
	case OP_STORE:
		__atomic_store_n(s, op->a, __ATOMIC_RELAXED);
		return 1;
	default:
		if (__atomic_compare_exchange_n(s, &expect, op->b, 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			op->result = PERCPU_OK;
			return 1;
		}
		op->result = PERCPU_CHANGED;
		return 0;
	}
}

/*
 * Mixed: hold the shard word around the update. Returns as apply(), or -1
 * if the word was busy and could not be waited for.
 */
static int apply_holding(struct op *op, unsigned int shard, int wait)
{
	struct shard_hold h;
	int took = percpu_shard_take(&h, shard, wait);
	int done;

	if (took == SHARD_BUSY)
		return -1;
	percpu_inject_delay(PERCPU_INJECT_HOLDING);
	done = apply(op, shard);
	if (took == SHARD_TAKEN)
		percpu_shard_release(&h);
	return done;
}

/*
 * A lock must be found free; any other operation on the current shard
 * applies on the first shard it can hold. A held shard is skipped, not
 * waited on, and after a full round the thread yields to the holders.
 */
static int lock_path_any(struct op *op)
{
	unsigned int n = percpu_rt.nr_shards, first = percpu_cpu_hint();

	for (;;) {
		for (unsigned int i = 0, s = first; i < n; i++, s++) {
			int done;

			if (s == n)
				s = 0;
			done = percpu_lock_only() ? apply(op, s) :
						       apply_holding(op, s, 0);

			if (done > 0)
				return (int)s;
		}
		sched_yield();
	}
}

static int lock_path(struct op *op)
{
#ifdef PERCPU_INJECT
	__atomic_fetch_add(&percpu_inject.lock_path_ops, 1, __ATOMIC_RELAXED);
#endif
	if (op->shard < 0)
		return lock_path_any(op);
	if (percpu_lock_only())
		apply(op, (unsigned int)op->shard);
	else if (apply_holding(op, (unsigned int)op->shard, 1) < 0)
		op->result = PERCPU_MOVED; /* a handler inside a holder */
	return op->shard;
}

/*
 * Returns the shard the operation applied to. In lock mode nothing else
 * is worth a look: go straight to the lock path.
 */
static int run(struct op *op)
{
	struct percpu_thread *t;
	int shard = -1;

	if (percpu_lock_only())
		return lock_path(op);
	t = percpu_self();
#if PERCPU_ARCH_RSEQ
	if (rseq_retry(op, t, &shard) == RSEQ_DONE)
		return shard;
#else
	(void)t;
#endif
	return lock_path(op);
}

int percpu_add_slow(intptr_t *p, intptr_t v)
{
	struct op op = { OP_ADD, p, v, 0, -1, 0 };

	return run(&op);
}

intptr_t percpu_fetch_add_slow(intptr_t *p, intptr_t v, int *shard)
{
	struct op op = { OP_FETCH_ADD, p, v, 0, -1, 0 };
	int s = run(&op);

	if (shard)
		*shard = s;
	return op.result;
}

int percpu_store_slow(intptr_t *p, intptr_t v)
{
	struct op op = { OP_STORE, p, v, 0, -1, 0 };

	return run(&op);
}

int percpu_cas_slow(intptr_t *p, int shard, intptr_t expect, intptr_t v)
{
	struct op op = { OP_CAS, p, expect, v, shard, 0 };

	percpu_init();
	if ((unsigned int)shard >= percpu_rt.nr_shards) {
		errno = EINVAL;
		return -1;
	}
	run(&op);
	return (int)op.result;
}

int percpu_lock_slow(intptr_t *lock)
{
	struct op op = { OP_LOCK, lock, 0, 1, -1, 0 };

	return run(&op);
}

int percpu_shard_id_slow(void)
{
	percpu_self();
	return (int)percpu_cpu_hint();
}
