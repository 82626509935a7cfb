/* SPDX-License-Identifier: MIT */
/*
 * model/lease_lock.pml: the sharded lock (percpu_lock, percpu_unlock in
 * include/percpu/lock.h; OP_LOCK in src/plain.h and src/lockpath.c) on a
 * leased shard, on x86-TSO (tso.pml), with the lease protocol of
 * lease.pml.
 *
 * The lock's holder unlocks with a plain store of 0 from any CPU, holding
 * no shard word: the one write to a leased shard's data that the lease
 * does not exclude. Threads: the leaseholder, which tries to take the lock
 * (up to H_LOCKS times, then unlocks it if it got it); the thread holding
 * the lock at the start, which unlocks it, then locks it again by the lock
 * path from another CPU (revoking the lease), and unlocks again.
 *
 * Proves: the lock is never held by two threads; at the end it is free
 * (no unlock is lost); every run ends with both threads done.
 *
 * Mutation: -DMUT_UNLOCKED_CMPXCHG (the lock under a lease is an unlocked
 * cmpxchg without the load before it: the bug of item 1) must give a
 * counterexample.
 */
#define NTHREADS 2
#define HOLDER 0
#define UNLOCKER 1

#define WORD 0
#define STATE 1
#define LK 2			/* the shard's lock word */
#define REVOKERS 3		/* revokers at work */
#define NADDR 4

#include "tso.pml"
#include "lease.pml"

#ifndef H_LOCKS
#define H_LOCKS 2
#endif

/* Ghost: threads holding the lock. The unlocker holds it at the start. */
byte holders = 1;

inline lock_taken()
{
	d_step {
		printf("T%d has the lock\n", HOLDER);
		assert(holders == 0);
		holders = 1
	}
}

/*
 * cmpxchg without the lock prefix: a load, then a store of the new value
 * if it compared equal, else of the value loaded: atomic only against this
 * thread (a signal handler), not against other CPUs.
 */
inline up_cmpxchg(t, a, expect, v, x, ok)
{
	tso_load(t, a, x);
	if
	:: x == expect ->
		tso_store(t, a, v);
		ok = 1
	:: else ->
		tso_store(t, a, x);
		ok = 0
	fi
}

/* percpu_unlock: the lock must be held (else EINVAL), a release store. */
inline unlock(t, x)
{
	d_step {
		printf("T%d unlocks\n", t);
		holders = 0
	}
	tso_load(t, LK, x);
	assert(x == 1);
	tso_store(t, LK, 0)
}

/* OP_LOCK on the lock path, holding the word: lock cmpxchg. */
inline locked_lock(t, got)
{
	atomic {
		LOCKED(t);
		if
		:: mem[LK] == 0 ->
			printf("T%d has the lock (lock cmpxchg)\n", t);
			mem[LK] = 1;
			assert(holders == 0);
			holders = 1;
			got = 1
		:: else
		fi
	}
}

proctype holder()
{
	byte n, w, x, ok, got;

	do
	:: n < H_LOCKS && !got ->
		lease_enter(w, ok);
		if
		:: ok ->
			/* plain.h: compare with a load first; the cmpxchg
			 * runs only on a lock found free, which no thread
			 * can unlock meanwhile. */
#ifndef MUT_UNLOCKED_CMPXCHG
			tso_load(HOLDER, LK, x);
			if
			:: x == 0 -> up_cmpxchg(HOLDER, LK, 0, 1, x, got)
			:: else
			fi;
#else
			up_cmpxchg(HOLDER, LK, 0, 1, x, got);
#endif
			if
			:: got -> lock_taken()
			:: else
			fi;
			lease_leave()
		:: else ->
			holder_take(w);
			locked_lock(HOLDER, got);
			holder_release(x)
		fi;
		n++
	:: else -> break
	od;
	if
	:: got -> unlock(HOLDER, x)
	:: else
	fi;
	finished++
}

proctype unlocker()
{
	byte w, s, r, i, x, got;

	unlock(UNLOCKER, x);
	/* percpu_lock again, on the lock path: take the shard (revoking the
	 * lease), lock cmpxchg, release the shard; a lock found held sends
	 * the real code to another shard, and here ends the attempt. */
	take_shard(UNLOCKER, w, s, r, i);
	locked_lock(UNLOCKER, got);
	release_shard(UNLOCKER);
	if
	:: got -> unlock(UNLOCKER, x)
	:: else
	fi;
	finished++
}

init
{
	atomic {
		printf("T0 leaseholder, T1 lock holder; [0] word (0 free, 1 lease, 3 lease|REVOKE, 4+t held by Tt), [1] state (0 IDLE, 1 CHECKING, 2 OWNED), [2] lock\n");
		mem[WORD] = LEASE;
		mem[LK] = 1;
		run drainer(HOLDER);
		run drainer(UNLOCKER);
		run holder();
		run unlocker()
	}
	finished == 2;
	d_step {
		tso_drain_all(HOLDER);
		tso_drain_all(UNLOCKER);
		assert(holders == 0);
		assert(mem[LK] == 0)
	}
}
