/* SPDX-License-Identifier: MIT */
/*
 * model/litmus.pml: tso.pml against two classic x86 litmus tests, so that
 * the memory the models run on is known to allow what x86 allows and no
 * more (Intel SDM vol. 3, 8.2.3; Sewell et al., x86-TSO, CACM 2010).
 *
 * Default, store buffering: each thread stores 1 to its own word, then
 * loads the other's. x86 lets both loads return 0 (a load passes an
 * earlier store to another address): the assertion that they do not must
 * fail. With -DFENCED (mfence between store and load) it must hold.
 *
 * -DMP, message passing: a store of data then of a flag against a load of
 * the flag then of the data. x86 keeps stores in order and loads in
 * order: seeing the flag means seeing the data, and the assertion holds.
 */
#define NTHREADS 2
#define NADDR 2
#include "tso.pml"

byte r0, r1;
byte finished;

#ifndef MP
proctype sb(byte me)
{
	byte r;

	tso_store(me, me, 1);
#ifdef FENCED
	LOCKED(me);
#endif
	tso_load(me, 1 - me, r);
	if
	:: me == 0 -> r0 = r
	:: else -> r1 = r
	fi;
	finished++
}

init
{
	atomic {
		run drainer(0);
		run drainer(1);
		run sb(0);
		run sb(1)
	}
	finished == 2;
	assert(r0 == 1 || r1 == 1)
}
#else
proctype writer()
{
	tso_store(0, 0, 1);	/* data */
	tso_store(0, 1, 1);	/* flag */
	finished++
}

proctype reader()
{
	tso_load(1, 1, r1);
	tso_load(1, 0, r0);
	finished++
}

init
{
	atomic {
		run drainer(0);
		run drainer(1);
		run writer();
		run reader()
	}
	finished == 2;
	assert(r1 == 0 || r0 == 1)
}
#endif
