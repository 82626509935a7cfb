/* SPDX-License-Identifier: MIT */
/*
 * model/tso.pml: x86-TSO memory, included by every model.
 *
 * Each thread has a FIFO store buffer. A plain store (mov) goes to the tail
 * of its own buffer; a per-thread drainer process writes the head to memory
 * at any moment, so stores reach memory late but in order, and loads may
 * pass earlier stores to other addresses: the one reordering x86 allows.
 * A load returns the thread's newest buffered store to that address if
 * there is one (store forwarding), else memory.
 *
 * A locked instruction (lock cmpxchg, lock or, xchg) or mfence waits until
 * its thread's buffer is empty and then reads and writes memory in one
 * step: LOCKED(t) is that wait, the caller's atomic block the step.
 * membarrier() drains the caller's buffer, then each other thread's, one
 * thread at a time (each IPI arrives at its own moment).
 *
 * The including model defines NTHREADS and NADDR; SBD, the buffer depth,
 * may be given with -DSBD=n. A full buffer stalls the store, as on a CPU.
 *
 * The printf calls cost the search nothing (pan skips them): they make a
 * counterexample readable when replayed with spin -t (T<thread>, [addr]).
 */
#ifndef SBD
#define SBD 3
#endif

byte mem[NADDR];
byte sb_a[NTHREADS * SBD];	/* pending stores: address */
byte sb_v[NTHREADS * SBD];	/* and value, oldest first */
byte sb_n[NTHREADS];
/* Scratch for the loops below, used only inside one d_step and 0
 * between steps, so it adds no states. */
byte tso_i;

#define SB(t, i) ((t) * SBD + (i))
#define SB_ROOM(t) (sb_n[t] < SBD)
#define LOCKED(t) (sb_n[t] == 0)

/* Write thread t's oldest pending store to memory. Inside a d_step. */
inline tso_drain1(t)
{
	printf("T%d [%d]=%d reaches memory\n", t, sb_a[SB(t, 0)],
	       sb_v[SB(t, 0)]);
	mem[sb_a[SB(t, 0)]] = sb_v[SB(t, 0)];
	tso_i = 1;
	do
	:: tso_i < sb_n[t] ->
		sb_a[SB(t, tso_i - 1)] = sb_a[SB(t, tso_i)];
		sb_v[SB(t, tso_i - 1)] = sb_v[SB(t, tso_i)];
		tso_i++
	:: else -> break
	od;
	sb_n[t]--;
	/* Empty slots hold zeros, so equal buffers are equal states. */
	sb_a[SB(t, sb_n[t])] = 0;
	sb_v[SB(t, sb_n[t])] = 0;
	tso_i = 0
}

/* Every pending store of thread t, in order. Inside a d_step. */
inline tso_drain_all(t)
{
	do
	:: sb_n[t] > 0 -> tso_drain1(t)
	:: else -> break
	od
}

/* Append a store to thread t's buffer; the caller checked SB_ROOM. */
inline sb_push(t, a, v)
{
	sb_a[SB(t, sb_n[t])] = a;
	sb_v[SB(t, sb_n[t])] = v;
	sb_n[t]++
}

/* A plain store (mov): into the buffer, visible to others later. */
inline tso_store(t, a, v)
{
	d_step {
		SB_ROOM(t);
		printf("T%d store [%d]=%d (buffered)\n", t, a, v);
		sb_push(t, a, v)
	}
}

/* A plain load (mov): the newest own pending store, else memory. */
inline tso_load(t, a, r)
{
	d_step {
		r = mem[a];
		tso_i = 0;
		do
		:: tso_i < sb_n[t] ->
			if
			:: sb_a[SB(t, tso_i)] == a -> r = sb_v[SB(t, tso_i)]
			:: else
			fi;
			tso_i++
		:: else -> break
		od;
		printf("T%d load [%d] -> %d\n", t, a, r);
		tso_i = 0
	}
}

/*
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) from thread self: a system
 * call (a full barrier in the caller), then an IPI to each CPU running a
 * thread of the process, whose handler is a full barrier there. A thread
 * not running was switched out, which drained its buffer just the same.
 * `i` is a local of the caller: the IPIs are separate steps.
 */
inline membarrier(self, i)
{
	LOCKED(self);
	printf("T%d membarrier\n", self);
	i = 0;
	do
	:: i < NTHREADS ->
		d_step {
			tso_drain_all(i);
			i++
		}
	:: else -> break
	od;
	i = 0
}

/* Writes each thread's stores to memory at moments of its own. */
proctype drainer(byte t)
{
end:	do
	:: d_step {
		sb_n[t] > 0;
		tso_drain1(t)
	}
	od
}
