// SPDX-License-Identifier: MIT
/*
 * src/lockpath/lease.c: shard leases, what makes lock mode fast.
 *
 * Without rseq an operation needs its shard to itself, and taking a shard
 * word costs an atomic instruction: about 4.5 ns on this project's x86
 * machine, twice a whole rseq push and pop. So in lock mode a thread that
 * took its CPU's free word may keep it as a lease. Its next operations
 * there only mark their slot as checking, check that the word still names
 * the slot, and update with unlocked instructions (uniproc.h): no atomic
 * instruction at all.
 *
 * A thread that needs a leased shard revokes the lease: it sets a request
 * bit in the word, runs a barrier in every thread of the process
 * (membarrier; where refused, by running on every CPU in turn: fence.c),
 * then reads the slot's state. Either the
 * leaseholder's check came after the barrier and saw the word changed, or
 * its state is visible: then the shard counts as held until the
 * leaseholder's update is over, and the revoker tries again.
 *
 * A revocation costs a system call and interrupts, so a revoked shard is
 * not leased again for its next `ban` takes, and the ban doubles with each
 * revocation: with more threads than shards, leases become rare and lock
 * mode works as it does without them. Leases need one of the two barriers;
 * PERCPU_LEASE=0 turns them off.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "lockpath/lease.h"
#include "runtime/settings.h"
#include "runtime/sys.h"

/* Threads that can hold a lease at once; the others take words. */
#define LEASE_SLOTS 256
#define RECLAIM_EVERY 256u
/* Takes a shard is not leased for after its first and its last revocation. */
#define BAN_FIRST 256u
#define BAN_MAX (1u << 20)

__thread struct lease_self percpu_lease_self
	__attribute__((tls_model("initial-exec"))) = { .shard = -1 };
int percpu_leases_on;

static struct lease_slot slots[LEASE_SLOTS];
static int grants_off;

static struct shard_ban *ban_of(unsigned int shard)
{
	return percpu_shard_ban(shard);
}

/* Free the leased word, unless another thread took it meanwhile. */
static void give_back(struct lease_self *me)
{
	int leased = __atomic_load_n(&me->shard, __ATOMIC_RELAXED);
	uintptr_t *w;
	uintptr_t v;

	if (leased < 0)
		return;
	w = (uintptr_t *)percpu_shard_word((unsigned int)leased);
	v = __atomic_load_n(w, __ATOMIC_RELAXED);
	while ((v & ~SHARD_REVOKE) == me->value &&
	       !__atomic_compare_exchange_n(w, &v, v & SHARD_DISABLED, 0,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	__atomic_store_n(&me->shard, -1, __ATOMIC_RELAXED);
}

/*
 * No operation of an exiting thread is under way, even if one was left by
 * siglongjmp (percpu/mode.h forbids it on the lock path, but a slot left
 * busy must not outlive its thread): the slot is freed idle.
 */
void percpu_lease_thread_exit(void)
{
	struct lease_self *me = &percpu_lease_self;
	struct lease_slot *sl = me->slot;

	if (!sl)
		return;
	me->exiting = 1;
	give_back(me);
	/* Forget the slot before freeing it: a handler on this thread must
	 * not take the next owner's lease for its own. */
	__atomic_store_n(&me->slot, NULL, __ATOMIC_RELAXED);
	LEASE_COMPILER_BARRIER();
	lease_set(sl, LEASE_IDLE);
	__atomic_store_n(&sl->claimed, 0, __ATOMIC_RELEASE);
}

static int settings_allow(void)
{
	const char *v = percpu_setting_value(SETTING_LEASES);

	return !v || strcmp(v, "0") != 0;
}

int percpu_lease_init(void)
{
	percpu_leases_on = settings_allow() && percpu_barrier_possible();
	return percpu_leases_on;
}

static int tid(void)
{
	return (int)syscall(SYS_gettid);
}

/* Take slot i if it holds `owner` (0: free), for thread `me`. */
static int take_slot(unsigned int i, int owner, int me)
{
	return __atomic_load_n(&slots[i].claimed, __ATOMIC_RELAXED) == owner &&
	       __atomic_compare_exchange_n(&slots[i].claimed, &owner, me, 0,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/*
 * A slot whose thread is gone: claimed by a thread-exit destructor after
 * this library's own had run (its last pass), so never freed. Its lease,
 * if any, is revoked like any idle one.
 */
static int owner_gone(unsigned int i)
{
	int owner = __atomic_load_n(&slots[i].claimed, __ATOMIC_RELAXED);

	return owner > 0 && syscall(SYS_tgkill, sys_getpid(), owner, 0) != 0 &&
	       errno == ESRCH;
}

/*
 * Slots record their thread's id: when none is free, reclaim the dead's
 * (a system call per slot, so on one attempt in RECLAIM_EVERY).
 */
static int claim_slot(struct lease_self *me)
{
	int self = tid(), saved = errno;
	unsigned int i = 0;

	while (i < LEASE_SLOTS && !take_slot(i, 0, self))
		i++;
	if (i == LEASE_SLOTS && me->no_slot++ % RECLAIM_EVERY)
		return 0;
	for (unsigned int k = 0; i == LEASE_SLOTS && k < LEASE_SLOTS; k++) {
		int owner = __atomic_load_n(&slots[k].claimed, __ATOMIC_RELAXED);

		if (owner_gone(k) && take_slot(k, owner, self))
			i = k;
	}
	errno = saved;
	if (i == LEASE_SLOTS)
		return 0;
	me->slot = &slots[i];
	lease_set(me->slot, LEASE_IDLE);
	percpu_exit_arm();
	return 1;
}

static int no_ban(void)
{
#ifdef PERCPU_INJECT
	return percpu_inject.lease_no_ban;
#else
	return 0;
#endif
}

/*
 * Keep the word of `shard`, which this thread took, as its lease instead
 * of releasing it, if the thread runs there. Not from inside another
 * holding (prev_intent), nor from a signal handler that interrupted this
 * thread's lease operation. A thread has one lease at a time.
 */
int percpu_lease_keep(unsigned int shard, int prev_intent)
{
	struct lease_self *me = &percpu_lease_self;
	struct shard_ban *b = ban_of(shard);
	intptr_t *w = percpu_shard_word(shard);

	if (!percpu_leases_on || !percpu_lock_only() || prev_intent >= 0 ||
	    me->exiting || !percpu_lease_fits(shard) ||
	    __atomic_load_n(&grants_off, __ATOMIC_RELAXED))
		return 0;
	if (!me->slot && !claim_slot(me))
		return 0;
	if (__atomic_load_n(&me->slot->state, __ATOMIC_RELAXED) != LEASE_IDLE)
		return 0;
	if (b->asked) {
		b->asked = 0;
		return 0;
	}
	/* A revoker that checked an earlier lease must not find this one. */
	if (__atomic_load_n(&b->revokers, __ATOMIC_RELAXED))
		return 0;
	if (b->left && !no_ban()) {
		b->left--;
		return 0;
	}
	give_back(me); /* the lease of the CPU it ran on before */
	percpu_tally_held(&b->grants);
	/* Atomic although this thread holds the word: the kill switch and
	 * revokers of earlier leases write it atomically, and a plain load
	 * beside them is a data race (ThreadSanitizer reports it). Load and
	 * store need not be one atomic step: leases exist in lock mode only,
	 * which percpu_lock_only() saw published (acquire) after the disabled
	 * bit was set in every word, and the bit is never cleared. */
	me->value = (uintptr_t)me->slot | SHARD_LOCKED | SHARD_LEASED |
		    ((uintptr_t)__atomic_load_n(w, __ATOMIC_RELAXED) &
		     SHARD_DISABLED);
	__atomic_store_n(w, (intptr_t)me->value, __ATOMIC_RELEASE);
	__atomic_store_n(&me->shard, (int)shard, __ATOMIC_RELAXED);
	return 1;
}

/* Whether `word` is this thread's lease, asked back or not. */
int percpu_lease_is_mine(uintptr_t word)
{
	const struct lease_self *me = &percpu_lease_self;

	return me->slot && (word & ~SHARD_REVOKE) == me->value;
}

static void ban(struct shard_ban *b)
{
	b->next = b->next ? (b->next < BAN_MAX ? b->next * 2 : BAN_MAX) :
			    BAN_FIRST;
	b->left = b->next;
	percpu_tally_held(&b->revocations);
#ifdef PERCPU_INJECT
	__atomic_fetch_add(&percpu_inject.lease_revocations, 1,
			   __ATOMIC_RELAXED);
#endif
}

/*
 * This thread took its own leased word `lease` back as a plain holding.
 * If another thread asked for it, this counts as that revocation. The
 * word may be a lease left by the dead thread whose slot this one
 * reclaimed: then this thread's own lease, elsewhere, stays.
 */
void percpu_lease_taken_back(unsigned int shard, uintptr_t lease)
{
	struct shard_ban *b = ban_of(shard);
	int *leased = &percpu_lease_self.shard;

	if (__atomic_load_n(leased, __ATOMIC_RELAXED) == (int)shard)
		__atomic_store_n(leased, -1, __ATOMIC_RELAXED);
	if (lease & SHARD_REVOKE) {
		ban(b);
		b->asked = 1;
	}
}

static int idle(const struct lease_slot *sl)
{
	return __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) == LEASE_IDLE;
}

/*
 * Counted as at work (percpu_lease_revoke): take over `shard`'s word `w`,
 * which holds `lease`, another thread's
 * lease, for the holder tag `me`. Returns 1 if taken; 0 if the leaseholder
 * is inside an operation (like a held word: wait, or go elsewhere); -1 if
 * the word changed. The request bit stays: the leaseholder's next
 * operation fails its check and takes the word back as a plain holding,
 * so a busy leaseholder cannot starve the revoker. Nobody waits holding
 * the word: a signal handler inside the leaseholder may need it.
 */
static int revoke_counted(unsigned int shard, uintptr_t *w, uintptr_t lease,
			  uintptr_t me)
{
	const struct lease_slot *sl =
		(const struct lease_slot *)(lease & ~(uintptr_t)15);

	if (!(lease & SHARD_REVOKE)) {
		if (!__atomic_compare_exchange_n(w, &lease,
						 lease | SHARD_REVOKE, 0,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_RELAXED))
			return -1;
		lease |= SHARD_REVOKE;
	}
	if (!idle(sl))
		return 0;
	if (percpu_barrier_threads()) {
		/* Without the barrier no lease can be taken safely: grant
		 * no more; each holder gives its own back at its next
		 * operation, which sees the request. */
		__atomic_store_n(&grants_off, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (!idle(sl))
		return 0;
	if (!__atomic_compare_exchange_n(w, &lease,
					 (lease & SHARD_DISABLED) | me, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return -1;
	ban(ban_of(shard));
	return 1;
}

/*
 * A lease's word has no generation: given back and leased again, it reads
 * the same. So a revoker is counted while at work, and no lease is granted
 * meanwhile: the word its last compare-and-swap expects is then the lease
 * whose state it checked (model/lease_revoke.pml found the race without).
 */
int percpu_lease_revoke(unsigned int shard, uintptr_t *w, uintptr_t lease,
			uintptr_t me)
{
	uintptr_t *revokers = &ban_of(shard)->revokers;
	int r = -1;

	__atomic_fetch_add(revokers, 1, __ATOMIC_SEQ_CST);
	if ((uintptr_t)__atomic_load_n(w, __ATOMIC_RELAXED) == lease)
		r = revoke_counted(shard, w, lease, me);
	__atomic_fetch_sub(revokers, 1, __ATOMIC_RELEASE);
	return r;
}

/* Operations under a lease, summed over the slots (lockpath/tally.c). */
uint64_t percpu_lease_ops(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < LEASE_SLOTS; i++)
		n += __atomic_load_n(&slots[i].ops, __ATOMIC_RELAXED);
	return n;
}

/* The child of fork() has only this thread, under a new thread id: every
 * other slot is free. */
void percpu_lease_after_fork(void)
{
	struct lease_self *me = &percpu_lease_self;

	for (unsigned int i = 0; i < LEASE_SLOTS; i++)
		if (&slots[i] != me->slot)
			slots[i] = (struct lease_slot){ .ops = slots[i].ops };
	if (me->slot)
		__atomic_store_n(&me->slot->claimed, tid(), __ATOMIC_RELAXED);
	__atomic_store_n(&me->shard, -1, __ATOMIC_RELAXED);
}
