// SPDX-License-Identifier: MIT
/* src/lockpath/remote.c: work on another shard, holding it (see percpu/remote.h). */
#include <errno.h>
#include <signal.h>
#include "internal.h"
#include "percpu/remote.h"

/*
 * fn may update its shard with plain instructions, and this thread's
 * signal handlers may run operations that the library lets work beside
 * this thread's own holding (shard.c: SHARD_NESTED): they must wait until
 * fn is done, or fn's next store may undo theirs. Signals a fault raises
 * cannot wait (the kernel kills a thread that faults with them blocked):
 * remote.h says what their handlers may not do.
 */
static void block_signals(sigset_t *old)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL,
				      SIGTRAP, SIGSYS };
	sigset_t set;

	sigfillset(&set);
	for (unsigned int i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&set, faults[i]);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

int percpu_remote(int shard, void (*fn)(void *arg, int shard), void *arg)
{
	struct shard_hold h;
	sigset_t old;
	int took;

	percpu_init();
	if ((unsigned int)shard >= percpu_rt.nr_shards || !fn) {
		errno = EINVAL;
		return -1;
	}
	/* Whether it could take a second shard would depend on who holds
	 * it: refuse always, as remote.h says. */
	if (percpu_shard_holding()) {
		errno = EDEADLK;
		return -1;
	}
	took = percpu_shard_take(&h, (unsigned int)shard, TAKE_WAIT);
	if (took != SHARD_TAKEN) {
		if (took == SHARD_NESTED)
			percpu_shard_unnest(&h);
		errno = EDEADLK;
		return -1;
	}
	percpu_tally_remote();
	block_signals(&old);
	percpu_inject_delay(PERCPU_INJECT_HOLDING);
	fn(arg, shard);
	percpu_shard_release(&h);
	/* Handlers of signals that came meanwhile run now, holding nothing. */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

struct xchg_args {
	intptr_t *p;
	intptr_t v;
};

static void xchg_on(void *arg, int shard)
{
	struct xchg_args *a = arg;

	a->v = __atomic_exchange_n(percpu_fast_slot(a->p, (unsigned int)shard),
				   a->v, __ATOMIC_SEQ_CST);
}

int percpu_remote_xchg2(intptr_t *p, int shard, intptr_t v, intptr_t *old)
{
	struct xchg_args a = { p, v };

	if (!old) {
		errno = EINVAL;
		return -1;
	}
	if (percpu_remote(shard, xchg_on, &a))
		return -1;
	*old = a.v;
	return 0;
}

intptr_t percpu_remote_xchg(intptr_t *p, int shard, intptr_t v)
{
	intptr_t old;

	return percpu_remote_xchg2(p, shard, v, &old) ? 0 : old;
}

struct percpu_list_node *percpu_list_drain(struct percpu_list *list, int shard)
{
	return (struct percpu_list_node *)percpu_remote_xchg((intptr_t *)list,
							     shard, 0);
}

struct stack_args {
	struct percpu_stack *s;
	void **out;
	size_t n;
};

/* Stack operations are multi-word: none runs while the shard is held. */
static void stack_drain_on(void *arg, int shard)
{
	struct stack_args *a = arg;
	struct percpu_stack *mine =
		(struct percpu_stack *)((char *)a->s +
					percpu_shard_offset((unsigned int)shard));
	size_t count = (size_t)__atomic_load_n(&mine->count, __ATOMIC_ACQUIRE);
	size_t k = a->n < count ? a->n : count;

	percpu_copy_bytes(a->out, &mine->slot[count - k], k * sizeof(void *));
	__atomic_store_n(&mine->count, (intptr_t)(count - k), __ATOMIC_RELEASE);
	a->n = k;
}

size_t percpu_stack_drain(struct percpu_stack *s, int shard, void **out,
			  size_t n)
{
	struct stack_args a = { s, out, n };

	return percpu_remote(shard, stack_drain_on, &a) ? 0 : a.n;
}
