/* SPDX-License-Identifier: MIT */
/*
 * model/lease_revoke.pml: a leaseholder adding to a counter against two
 * revokers: a remote read-and-reset (percpu_remote's exact reset: an xchg
 * to 0 holding the shard word, counting what it took) and another
 * thread's add on the leased CPU; on x86-TSO (tso.pml), with the lease
 * protocol of lease.pml.
 *
 * Checks: no lost or doubled add (what the reset took plus what is left
 * equals the adds); the leaseholder's owned window and the revokers'
 * holdings never overlap; at the end the word is free or leased with the
 * slot IDLE; every run ends with all threads done, with one revoker
 * (-DONE_REVOKER) and with two. Without the count of revokers at work
 * (-DMUT_NO_REVOKER_COUNT) two revokers break it: one's last
 * compare-and-swap can land on a later lease than the one whose state it
 * checked (model/README.md).
 *
 * Mutations (with -DONE_REVOKER): -DMUT_NO_BARRIER (the revoker runs no
 * membarrier) and -DMUT_NO_RECHECK (it does not load the state again after
 * the barrier) must each give a counterexample; -DMUT_STAYS_CHECKING (the
 * holder leaves its state CHECKING after a failed check) a deadlock.
 */
#ifdef ONE_REVOKER
#define NTHREADS 2
#define ADDS (H_ADDS)
#else
#define NTHREADS 3
#define ADDER 2
#define ADDS (H_ADDS + 1)
#endif
#define HOLDER 0
#define REVOKER 1

#define WORD 0
#define STATE 1
#define CNT 2
#define REVOKERS 3		/* revokers at work */
#define NADDR 4

#include "tso.pml"
#include "lease.pml"

#ifndef H_ADDS
#define H_ADDS 2
#endif

byte taken;

proctype holder()
{
	byte n, w, c, ok;

	do
	:: n < H_ADDS ->
		lease_enter(w, ok);
		if
		:: ok ->
			/* plain.h's add: addq without lock, a load and a
			 * store as far as other CPUs can tell. */
			tso_load(HOLDER, CNT, c);
			tso_store(HOLDER, CNT, c + 1);
			lease_leave()
		:: else ->
			holder_take(w);
			atomic {
				LOCKED(HOLDER);
				printf("T%d holding: lock add, counter %d -> %d\n",
				       HOLDER, mem[CNT], mem[CNT] + 1);
				mem[CNT]++
			}
			holder_release(c)
		fi;
		n++
	:: else -> break
	od;
	finished++
}

proctype revoker()
{
	byte w, s, r, i;

	take_shard(REVOKER, w, s, r, i);
	atomic {
		LOCKED(REVOKER);
		printf("T%d holding: xchg takes %d, leaves 0\n", REVOKER,
		       mem[CNT]);
		taken = taken + mem[CNT];
		mem[CNT] = 0
	}
	release_shard(REVOKER);
	finished++
}

#ifndef ONE_REVOKER
/* An add from another thread on the leased CPU: its lock path revokes. */
proctype adder()
{
	byte w, s, r, i;

	take_shard(ADDER, w, s, r, i);
	atomic {
		LOCKED(ADDER);
		printf("T%d holding: lock add, counter %d -> %d\n", ADDER,
		       mem[CNT], mem[CNT] + 1);
		mem[CNT]++
	}
	release_shard(ADDER);
	finished++
}
#endif

init
{
	atomic {
		printf("T0 leaseholder, T1 reset, T2 add; [0] word (0 free, 1 lease, 3 lease|REVOKE, 4+t held by Tt), [1] state (0 IDLE, 1 CHECKING, 2 OWNED), [2] counter\n");
		mem[WORD] = LEASE;
		run drainer(HOLDER);
		run drainer(REVOKER);
		run holder();
		run revoker();
#ifndef ONE_REVOKER
		run drainer(ADDER);
		run adder()
#endif
	}
	finished == NTHREADS;
	d_step {
		tso_drain_all(HOLDER);
		tso_drain_all(REVOKER);
#ifndef ONE_REVOKER
		tso_drain_all(ADDER);
#endif
		assert(taken + mem[CNT] == ADDS);
		assert(mem[WORD] == FREE || mem[WORD] == LEASE);
		assert(mem[STATE] == IDLE)
	}
}
