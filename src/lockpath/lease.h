/* SPDX-License-Identifier: MIT */
/*
 * src/lockpath/lease.h: shard leases (lease.c). Entering and leaving a lease are
 * inline: they are the whole cost of a lock-mode operation under a lease.
 */
#ifndef PERCPU_LEASE_H
#define PERCPU_LEASE_H

#include "internal.h"

/* Shard word bits: the word names a lease slot, not an owner tag; another
 * thread asks for the shard back (percpu_lease_revoke). */
#define SHARD_LEASED ((uintptr_t)4)
#define SHARD_REVOKE ((uintptr_t)8)

/*
 * One per leaseholding thread, on its own cache line: revokers read state,
 * which is LEASE_CHECKING while an operation checks that its thread still
 * holds the lease, then LEASE_OWNED until it ends: the shard is this
 * thread's until state is LEASE_IDLE again.
 */
enum { LEASE_IDLE, LEASE_CHECKING, LEASE_OWNED };

struct lease_slot {
	int state;
	int claimed;		/* the owner's thread id, 0 if free */
	uintptr_t ops;		/* operations under a lease, by its owners
				   (kept from one owner to the next) */
} __attribute__((aligned(64)));

struct lease_self {
	struct lease_slot *slot;	/* NULL until the first lease */
	uintptr_t value;		/* the shard word while leased */
	int shard;			/* the leased shard, -1 if none */
	int exiting;
	unsigned int no_slot;		/* attempts that found no free slot */
};

/*
 * Beside each shard word, on its line, written only by its holder (a
 * lease counts as holding; revokers is the one field others write, with
 * atomics). The last three are the library's own statistics (tally.c):
 * lock_ops counts operations holding the word, not those under a lease
 * (struct lease_slot's ops).
 */
struct shard_ban {
	uintptr_t word;
	uintptr_t left;		/* takes until the shard may be leased again */
	uintptr_t next;		/* the ban after the next revocation */
	uintptr_t asked;	/* revoked: not leased again by its take */
	uintptr_t revokers;	/* at work in percpu_lease_revoke */
	uintptr_t lock_ops;	/* operations applied holding the shard */
	uintptr_t grants;	/* leases granted */
	uintptr_t revocations;	/* leases revoked */
};
_Static_assert(sizeof(struct shard_ban) <= 64, "one line (shard.c)");

static inline struct shard_ban *percpu_shard_ban(unsigned int shard)
{
	return (struct shard_ban *)percpu_shard_word(shard);
}

/* Add one to a holder's count: a plain increment, atomic only in that a
 * reader may load it meanwhile. */
static inline void percpu_tally_held(uintptr_t *count)
{
	__atomic_store_n(count, __atomic_load_n(count, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

extern __thread struct lease_self percpu_lease_self
	__attribute__((tls_model("initial-exec"), visibility("hidden")));
extern int percpu_leases_on __attribute__((visibility("hidden")));

/* What leaving restores: a signal handler may have interrupted a lease
 * operation of its own thread. */
struct lease_entry {
	struct lease_slot *slot;
	unsigned int shard;
	int prev;
};

#define LEASE_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

static inline void lease_set(struct lease_slot *sl, int state)
{
	__atomic_store_n(&sl->state, state, __ATOMIC_RELAXED);
}

/*
 * A lease serves the operations of the shard it is on: the thread's CPU
 * (or concurrency id), where the rseq area tells it, else any.
 */
static inline int percpu_lease_fits(unsigned int shard)
{
	unsigned int id = percpu_arch_shard_id(percpu_rt.id_offset);

	return id == shard || id >= percpu_rt.nr_shards;
}

/*
 * Enter this thread's lease on `want` (-1: whichever shard it leases).
 * Returns 1 if the shard is this thread's until percpu_lease_leave. Else
 * 0, and the caller takes the lock path.
 *
 * The state store must be seen before the word is read. No fence does it:
 * a revoker changes the word first, then runs a membarrier, which puts a
 * full barrier into this thread wherever it is; after it, either this
 * thread reads the changed word or the revoker sees the state, and leaves
 * the shard alone.
 *
 * A signal handler that interrupts an operation of its own thread keeps
 * the state as it found it, so the interrupted check stays valid, and it
 * may then not wait for anything (percpu_lease_busy).
 */
static inline int percpu_lease_enter(struct lease_entry *e, int want)
{
	struct lease_self *me = &percpu_lease_self;
	struct lease_slot *sl = me->slot;
	/* Read once: a signal handler may change it at any moment. */
	int leased = __atomic_load_n(&me->shard, __ATOMIC_RELAXED);

	e->slot = sl;
	e->prev = sl ? __atomic_load_n(&sl->state, __ATOMIC_RELAXED) :
		       LEASE_IDLE;
	if (!sl)
		return 0;
	/* Inside an operation of its own thread that owns the shard, a
	 * signal handler works there: nobody else can until it is over. */
	if (e->prev == LEASE_OWNED && leased >= 0 &&
	    (want < 0 || want == leased)) {
		e->shard = (unsigned int)leased;
		return 1;
	}
	if (leased >= 0 &&
	    (want < 0 ? percpu_lease_fits((unsigned int)leased) :
			want == leased)) {
		e->shard = (unsigned int)leased;
		lease_set(sl, LEASE_CHECKING);
		LEASE_COMPILER_BARRIER();
		if ((uintptr_t)__atomic_load_n(percpu_shard_word(e->shard),
					       __ATOMIC_RELAXED) == me->value) {
			lease_set(sl, LEASE_OWNED);
			LEASE_COMPILER_BARRIER();
			return 1;
		}
		lease_set(sl, e->prev);
		__atomic_store_n(&me->shard, -1, __ATOMIC_RELAXED);
	}
	return 0;
}

static inline void percpu_lease_leave(const struct lease_entry *e)
{
	LEASE_COMPILER_BARRIER();
	lease_set(e->slot, e->prev);
}

/*
 * A signal handler interrupted a lease operation of this thread: a revoker
 * of its lease would find it inside until the handler returns, so the
 * handler must not wait for anybody.
 */
static inline int percpu_lease_busy(void)
{
	const struct lease_slot *sl = percpu_lease_self.slot;

	return sl && __atomic_load_n(&sl->state, __ATOMIC_RELAXED) !=
			     LEASE_IDLE;
}

/* lease.c */
int percpu_lease_init(void);
void percpu_lease_thread_exit(void);
int percpu_lease_keep(unsigned int shard, int prev_intent);
int percpu_lease_is_mine(uintptr_t word);
int percpu_lease_revoke(unsigned int shard, uintptr_t *w, uintptr_t lease,
			uintptr_t me);
void percpu_lease_taken_back(unsigned int shard, uintptr_t lease);
void percpu_lease_after_fork(void);
uint64_t percpu_lease_ops(void);

#endif
