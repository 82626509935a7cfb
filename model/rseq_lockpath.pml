/* SPDX-License-Identifier: MIT */
/*
 * model/rseq_lockpath.pml: rseq sections, the lock path in mixed mode and
 * the kill switch, on a per-CPU counter (src/shard.c, src/lockpath.c,
 * percpu_process_disable in src/runtime.c, percpu_cs_add in
 * include/percpu/arch/x86_64.h). Two CPUs, a shard word, a gate and a
 * counter on each. The section checks the gate (open: it holds its
 * shard's id), the slow path the word's disabled bit.
 *
 * Threads: an rseq thread that migrates between the CPUs and adds R_ADDS
 * times, by a section or, after an abort or a divert, by the lock path; a
 * thread on the lock path (its registration failed) that adds once to
 * either shard; the kill switch.
 *
 * Proves: the final sum is exact (no lost or doubled update); no section
 * commits on a shard while a lock-path holder owns it, and two holders
 * never own one shard at once; every run ends with all threads done.
 *
 * Mutations: -DMUT_NO_FENCE (the lock path does not fence the CPU after
 * taking the word), -DMUT_KILL_NO_FENCE (the kill switch sets the bits
 * but does not fence), -DMUT_NO_GATE_CLOSE (the lock path leaves the gate
 * open), -DMUT_GATE_OPEN_LATE (it opens the gate after releasing the
 * word) and -DMUT_GATE_OPEN_STORE (it opens the gate with a plain store,
 * not a compare-and-swap) must each give a counterexample.
 */
#define NTHREADS 3
#define T_RSEQ 0
#define T_LOCK 1
#define T_KILL 2

#define WORD(s) (s)		/* shard word of shard s */
#define CNT(s) (2 + (s))	/* the counter's word on shard s */
#define LOCKONLY 4		/* percpu_rt.rseq_shards == 0 */
#define GATE(s) (5 + (s))	/* shard s's gate */
#define NADDR 7

#include "tso.pml"

#define DIS 1			/* SHARD_DISABLED */
#define TAG(t) (2 * ((t) + 1))	/* owner tags: SHARD_DISABLED clear */
#define GATE_HELD 2		/* open, a gate holds its shard's id */
#define GATE_OFF 3

#ifndef R_ADDS
#define R_ADDS 2
#endif
#define L_ADDS 1

/* The rseq thread as the kernel sees it: its CPU, whether it is inside a
 * section, and whether the section is to be aborted at its next step. */
byte rcpu;
bool in_cs;
bool cs_abort;

/* Ghost: a lock-path holder has fenced shard s and works there. */
bool excl[2];
byte finished;

/*
 * membarrier(PRIVATE_EXPEDITED_RSEQ, FLAG_CPU, c) from thread self: a full
 * barrier in the caller; the IPI to CPU c aborts the section running
 * there at its next step and is a full barrier on that CPU. Only the rseq
 * thread's CPU is known to the model: the other threads' buffers are left
 * alone, which allows more runs, not fewer.
 */
inline fence_cpu(self, c)
{
	LOCKED(self);
	d_step {
		printf("T%d fences CPU %d\n", self, c);
		if
		:: rcpu == c ->
			tso_drain_all(T_RSEQ);
			if
			:: in_cs ->
				printf("T%d: its section is aborted\n", T_RSEQ);
				cs_abort = 1
			:: else
			fi
		:: else
		fi
	}
}

/* percpu_shard_release: a plain store once the disabled bit is set (no
 * one else writes a held word then), else an atomic and. */
inline release_word(t, s, w)
{
	tso_load(t, WORD(s), w);
	if
	:: (w & DIS) != 0 -> tso_store(t, WORD(s), DIS)
	:: else ->
		atomic {
			LOCKED(t);
			printf("T%d releases word %d (lock and)\n", t, s);
			mem[WORD(s)] = mem[WORD(s)] & DIS
		}
	fi
}

/* gate_close and gate_open (src/lockpath/shard.c): compare-and-swaps,
 * leaving a gate the kill switch closed for good as it is. */
inline gate_cas(gt, gs, gfrom, gto)
{
	atomic {
		LOCKED(gt);
		if
		:: mem[GATE(gs)] == gfrom ->
			printf("T%d gate %d: %d -> %d (lock cmpxchg)\n", gt,
			       gs, gfrom, gto);
			mem[GATE(gs)] = gto
		:: else
		fi
	}
}

inline gate_open(t, s, lo)
{
	tso_load(t, LOCKONLY, lo);
	if
	:: !lo ->
#ifdef MUT_GATE_OPEN_STORE
		tso_store(t, GATE(s), s)
#else
		gate_cas(t, s, GATE_HELD, s)
#endif
	:: else
	fi
}

/*
 * percpu_lock_path for an add on shard s. In lock mode (no leases here) a
 * single-word update is one atomic instruction and takes no word. Else
 * take the word (a locked compare-and-swap from any value without an
 * owner, keeping the disabled bit; a held word is waited for), fence the
 * CPU unless the process is in lock mode by now, add atomically, release.
 */
inline lockpath_add(t, s, w, lo)
{
	tso_load(t, LOCKONLY, lo);
	if
	:: lo ->
		atomic {
			LOCKED(t);
			printf("T%d lock mode: lock add, counter %d: %d -> %d\n",
			       t, s, mem[CNT(s)], mem[CNT(s)] + 1);
			mem[CNT(s)]++
		}
	:: else ->
		atomic {
			LOCKED(t) && (mem[WORD(s)] & ~DIS) == 0;
			printf("T%d takes word %d (lock cmpxchg)\n", t, s);
			mem[WORD(s)] = (mem[WORD(s)] & DIS) | TAG(t)
		}
#ifndef MUT_NO_GATE_CLOSE
		tso_load(t, LOCKONLY, lo);
		if
		:: !lo -> gate_cas(t, s, s, GATE_HELD)
		:: else
		fi;
#endif
#ifndef MUT_NO_FENCE
		tso_load(t, LOCKONLY, lo);
		if
		:: !lo -> fence_cpu(t, s)
		:: else
		fi;
#endif
		d_step {
			assert(!excl[s]);
			excl[s] = 1
		}
		atomic {
			LOCKED(t);
			printf("T%d holding: lock add, counter %d: %d -> %d\n",
			       t, s, mem[CNT(s)], mem[CNT(s)] + 1);
			mem[CNT(s)]++
		}
		excl[s] = 0;
#ifdef MUT_GATE_OPEN_LATE
		release_word(t, s, w);
		gate_open(t, s, lo)
#else
		gate_open(t, s, lo);
		release_word(t, s, w)
#endif
	fi
}

proctype rseq_thread()
{
	byte n, s, w, c, lo;

	do
	:: n < R_ADDS ->
		/* Between attempts: preempted and perhaps migrated. A
		 * context switch is a full barrier. */
		if
		:: skip
		:: d_step {
			tso_drain_all(T_RSEQ);
			rcpu = 1 - rcpu;
			printf("T%d migrates to CPU %d\n", T_RSEQ, rcpu)
		}
		fi;
		/* The section: the CPU is checked by construction (a
		 * migration aborts it), then the gate, then the counter is
		 * loaded and the commit stores the sum. */
		d_step {
			in_cs = 1;
			cs_abort = 0;
			s = rcpu;
			printf("T%d enters a section on CPU %d\n", T_RSEQ, s)
		}
		tso_load(T_RSEQ, GATE(s), w);
		if
		:: w == s ->
			tso_load(T_RSEQ, CNT(s), c);
			if
			:: atomic {
				!cs_abort && SB_ROOM(T_RSEQ);
				assert(!excl[s]);
				printf("T%d commits: store [%d]=%d (buffered)\n",
				       T_RSEQ, CNT(s), c + 1);
				sb_push(T_RSEQ, CNT(s), c + 1);
				in_cs = 0;
				n++
			}
			/* Preempted, signalled, or fenced: the commit never
			 * happens. Then try again or take the lock path. */
			:: d_step {
				in_cs = 0;
				cs_abort = 0;
				printf("T%d: section aborted\n", T_RSEQ)
			}
				if
				:: skip
				:: lockpath_add(T_RSEQ, rcpu, w, lo);
					n++
				fi
			fi
		:: else ->
			/* Diverted: the word is held or rseq is disabled.
			 * Disabled means the lock path; held, a retry too. */
			d_step {
				in_cs = 0;
				cs_abort = 0;
				printf("T%d: section diverted\n", T_RSEQ)
			}
			tso_load(T_RSEQ, WORD(s), w);
			if
			:: (w & DIS) == 0 -> skip
			:: lockpath_add(T_RSEQ, rcpu, w, lo);
				n++
			fi
		fi
	:: else -> break
	od;
	finished++
}

proctype lockpath_thread()
{
	byte s, w, lo;

	if
	:: s = 0
	:: s = 1
	fi;
	lockpath_add(T_LOCK, s, w, lo);
	finished++
}

/* percpu_process_disable: the bits with locked or, a fence on every CPU
 * (one IPI each), then lock mode is published with a plain store. */
proctype kill_switch()
{
	atomic {
		LOCKED(T_KILL);
		printf("T%d sets the disabled bit of word 0 (lock or)\n", T_KILL);
		mem[WORD(0)] = mem[WORD(0)] | DIS
	}
	atomic {
		LOCKED(T_KILL);
		printf("T%d sets the disabled bit of word 1 (lock or)\n", T_KILL);
		mem[WORD(1)] = mem[WORD(1)] | DIS
	}
	atomic {
		LOCKED(T_KILL);
		printf("T%d closes gate 0 for good\n", T_KILL);
		mem[GATE(0)] = GATE_OFF
	}
	atomic {
		LOCKED(T_KILL);
		printf("T%d closes gate 1 for good\n", T_KILL);
		mem[GATE(1)] = GATE_OFF
	}
#ifndef MUT_KILL_NO_FENCE
	fence_cpu(T_KILL, 0);
	fence_cpu(T_KILL, 1);
#endif
	tso_store(T_KILL, LOCKONLY, 1);
	finished++
}

init
{
	atomic {
		printf("T0 rseq, T1 lock path, T2 kill switch; [0] [1] shard words, [2] [3] counters, [4] lock mode, [5] [6] gates\n");
		mem[GATE(1)] = 1;
		run drainer(T_RSEQ);
		run drainer(T_LOCK);
		run drainer(T_KILL);
		run rseq_thread();
		run lockpath_thread();
		run kill_switch()
	}
	finished == 3;
	d_step {
		tso_drain_all(T_RSEQ);
		tso_drain_all(T_LOCK);
		tso_drain_all(T_KILL);
		assert(mem[CNT(0)] + mem[CNT(1)] == R_ADDS + L_ADDS)
	}
}
