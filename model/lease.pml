/* SPDX-License-Identifier: MIT */
/*
 * model/lease.pml: shard leases (src/lease.h, src/lease.c and the take in
 * src/shard.c), in lock mode, for one shard. Included by lease_revoke.pml
 * and lease_lock.pml after tso.pml; they define HOLDER (the leaseholder's
 * thread), WORD and STATE (addresses of the shard word and of the
 * leaseholder's slot state) and REVOKERS (revokers at work).
 *
 * Word values: lock mode sets the disabled bit in every word for good, so
 * the model leaves it out: FREE is a word holding only that bit.
 */
#define FREE 0
#define LEASE 1			/* the holder's slot | LOCKED | LEASED */
#define LEASE_REV 3		/* ... | REVOKE: asked back */
#define TAG(t) (4 + (t))	/* an owner tag: held as a plain word */

#define IDLE 0			/* LEASE_IDLE, LEASE_CHECKING, LEASE_OWNED */
#define CHECKING 1
#define OWNED 2

#define R_TAKEN 1		/* percpu_lease_revoke: 1 */
#define R_BUSY 2		/* 0: the holder is inside an operation */
#define R_CHANGED 3		/* -1: the word changed */

/* The holder's lease_self.shard >= 0: it believes it has a lease. */
bool leased = 1;
/* Ghost: threads that now own the shard, by a lease check that passed
 * (until its state store of IDLE) or by holding the word. */
byte in_shard;
byte finished;

inline own_shard(t)
{
	d_step {
		printf("T%d owns the shard\n", t);
		assert(in_shard == 0);
		in_shard = 1
	}
}

inline disown_shard(t)
{
	d_step {
		printf("T%d is done with the shard\n", t);
		in_shard = 0
	}
}

/*
 * percpu_lease_enter: mark the slot CHECKING with a plain store (no fence:
 * it may sit in the store buffer), load the word; if it still is the
 * lease, OWNED, else back to IDLE and forget the lease. ok = 1: owned.
 */
inline lease_enter(w, ok)
{
	ok = 0;
	if
	:: leased ->
		tso_store(HOLDER, STATE, CHECKING);
		tso_load(HOLDER, WORD, w);
		if
		:: w == LEASE ->
			own_shard(HOLDER);
			tso_store(HOLDER, STATE, OWNED);
			ok = 1
		:: else ->
#ifndef MUT_STAYS_CHECKING
			tso_store(HOLDER, STATE, IDLE);
#endif
			leased = 0
		fi
	:: else
	fi
}

/* percpu_lease_leave: the update is issued; a plain store of IDLE. */
inline lease_leave()
{
	disown_shard(HOLDER);
	tso_store(HOLDER, STATE, IDLE)
}

/*
 * The holder's lock path (percpu_shard_take): its own lease, asked back or
 * not, or a free word, is claimed with a locked compare-and-swap; a word
 * another thread holds is waited for (the real code may go to another
 * shard instead; waiting lets the model see that the holder comes back).
 */
inline holder_take(w)
{
	do
	:: tso_load(HOLDER, WORD, w);
		if
		:: w == LEASE || w == LEASE_REV || w == FREE ->
			atomic {
				LOCKED(HOLDER);
				if
				:: mem[WORD] == w ->
					printf("T%d takes the word back (lock cmpxchg)\n",
					       HOLDER);
					mem[WORD] = TAG(HOLDER);
					w = TAG(HOLDER)
				:: else
				fi
			}
			if
			:: w == TAG(HOLDER) ->
				leased = 0;
				break
			:: else
			fi
		:: else ->
			/* Held by another thread: until that changes. */
			mem[WORD] != w
		fi
	od;
	own_shard(HOLDER)
}

/*
 * After a lock-path update: keep the word as the lease again
 * (percpu_lease_keep, a plain store), or release it (a plain store). The
 * real code keeps it less often: a revoked shard is not leased again for
 * its next 256 takes, then 512, ...; a bound on how soon, not on whether,
 * so the model lets it happen at once.
 */
inline holder_release(x)
{
	disown_shard(HOLDER);
	if
	:: tso_store(HOLDER, WORD, FREE)
#ifndef MUT_NO_REVOKER_COUNT
	:: tso_load(HOLDER, REVOKERS, x);
		if
		:: x == 0 ->
			tso_store(HOLDER, WORD, LEASE);
			leased = 1
		:: else -> tso_store(HOLDER, WORD, FREE)
		fi
#else
	:: tso_store(HOLDER, WORD, LEASE);
		leased = 1
#endif
	fi
}

/*
 * percpu_lease_revoke by thread t of the lease it loaded as w: ask with a
 * locked CAS (lease -> lease|REVOKE) unless asked already; busy if the
 * state is not IDLE; a barrier in every thread (membarrier); the state
 * again; then take the word with a locked CAS. The request stays when
 * busy: the holder's next check fails and it gives the shard back.
 *
 * A count of revokers at work (src/lease.c), which a holder must find 0
 * to lease the shard again, so the word the last CAS expects cannot belong
 * to a later lease than the one whose state was checked (model/README.md);
 * -DMUT_NO_REVOKER_COUNT leaves it out.
 */
inline revoke(t, w, s, r, i)
{
	r = R_TAKEN;
#ifndef MUT_NO_REVOKER_COUNT
	atomic {
		LOCKED(t);
		mem[REVOKERS]++
	}
	tso_load(t, WORD, s);
	if
	:: s != w -> r = R_CHANGED
	:: else
	fi;
#endif
	if
	:: r == R_TAKEN && w == LEASE ->
		atomic {
			LOCKED(t);
			if
			:: mem[WORD] == LEASE ->
				printf("T%d asks the lease back (lock cmpxchg)\n", t);
				mem[WORD] = LEASE_REV
			:: else -> r = R_CHANGED
			fi
		}
	:: else
	fi;
	if
	:: r == R_TAKEN ->
		tso_load(t, STATE, s);
		if
		:: s != IDLE -> r = R_BUSY
		:: else ->
#ifndef MUT_NO_BARRIER
			membarrier(t, i);
#endif
#ifndef MUT_NO_RECHECK
			tso_load(t, STATE, s);
			if
			:: s != IDLE -> r = R_BUSY
			:: else
			fi;
#endif
			if
			:: r == R_TAKEN ->
				atomic {
					LOCKED(t);
					if
					:: mem[WORD] == LEASE_REV ->
						printf("T%d takes the leased word (lock cmpxchg)\n", t);
						mem[WORD] = TAG(t)
					:: else -> r = R_CHANGED
					fi
				}
			:: else
			fi
		fi
	:: else
	fi;
#ifndef MUT_NO_REVOKER_COUNT
	atomic {
		LOCKED(t);
		mem[REVOKERS]--
	}
#endif
}

/*
 * percpu_shard_take by thread t (not the holder), waiting: a leased word
 * is revoked, a free one claimed. A held word is waited for until it
 * changes: the real code backs off and loads it again, and a load before
 * the change answers the same. After a busy answer, the retry's load of
 * the word is free to come early (its value may be stale by the time it
 * is used), but the retry goes on only once the word or the state differs
 * from what gave that answer: before, it would answer busy again.
 */
inline take_shard(t, w, s, r, i)
{
	r = 0;
	do
	:: tso_load(t, WORD, w);
		if
		:: r == R_BUSY ->
			w != LEASE_REV || mem[WORD] != LEASE_REV ||
			mem[STATE] != s
		:: else
		fi;
		if
		:: w == LEASE || w == LEASE_REV ->
			revoke(t, w, s, r, i);
			if
			:: r == R_TAKEN -> break
			:: else
			fi
		:: w == FREE ->
			atomic {
				LOCKED(t);
				if
				:: mem[WORD] == FREE ->
					printf("T%d takes the free word (lock cmpxchg)\n", t);
					mem[WORD] = TAG(t);
					r = R_TAKEN
				:: else -> r = R_CHANGED
				fi
			}
			if
			:: r == R_TAKEN -> break
			:: else
			fi
		:: else ->
			r = 0;
			mem[WORD] != w
		fi
	od;
	own_shard(t)
}

/* percpu_shard_release in lock mode: a plain store. */
inline release_shard(t)
{
	disown_shard(t);
	tso_store(t, WORD, FREE)
}
