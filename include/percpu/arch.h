/* SPDX-License-Identifier: MIT */
/*
 * percpu/arch.h: the one architecture switch. Each architecture file gives
 * the critical sections below; everything else is generic. An architecture
 * without a file here builds and runs every operation on the lock path.
 *
 * The critical sections, specified once. Each runs on the calling thread's
 * shard h->cpu, read before the section from the thread's rseq area: from
 * cpu_id (or mm_cid in concurrency-id indexing), which holds a valid id,
 * or -1 or -2 where the kernel does not serve the area (not registered,
 * registration failed). Shards -1 and -2 have shard words that are never
 * 0, so no bounds check is needed: such a section diverts. The section
 * compares h->cpu with area->id, the same field, which the kernel keeps
 * current: a thread that moved between the read and the section fails
 * the compare. `word` is that shard's shard word; `p` is that shard's copy
 * of the caller's word.
 * The sections that only run on the shard the thread read itself
 * (percpu_fast_here) check its gate instead: a 32-bit word that holds
 * the shard's id while the lock path leaves the shard to rseq, and a
 * value no id takes otherwise (src/internal.h). `*gate == area->id` then
 * checks both the CPU and the mode in one compare; gates -1 and -2 never
 * open. The sections on a shard the caller names (the compared ones,
 * through percpu_cas and percpu/multi.h) keep the two checks: the
 * compare with the id comes first, so a shard out of range is never
 * read.
 * Results:
 *   PERCPU_CS_OK        committed
 *   PERCPU_CS_ABORT     the kernel restarted the section (preemption,
 *                       migration, signal): nothing was stored
 *   PERCPU_CS_MOVED     the thread no longer runs on `cpu` (or is not
 *                       registered): nothing was stored
 *   PERCPU_CS_DIVERTED  the shard word is non-zero (held by a lock-path
 *                       operation, or rseq disabled), or, for a gated
 *                       section, the gate is not the live id (closed, or
 *                       the thread moved): nothing was stored
 *   PERCPU_CS_CHANGED   the compare failed: nothing was stored
 *
 * percpu_cs_add(off, cpu, gate, p0, v):
 *	p0 is shard 0's word; p = p0 + cpu * PERCPU_STRIDE, computed after
 *	the checks (a diverted section does not pay for it).
 *	if (*gate != area->id) return DIVERTED;
 *	*p += v;					commit
 *	return OK;
 * percpu_cs_fetch_add(off, cpu, gate, p, &v):
 *	as percpu_cs_add, and v = the value *p held before; one instruction
 *	commits both.
 * percpu_cs_store(off, cpu, gate, p, v):
 *	as percpu_cs_add, committing *p = v.
 * percpu_cs_xchg(off, cpu, gate, p, &v):
 *	as percpu_cs_add, committing *p = v, and v = the value *p held
 *	before.
 * percpu_cs_cmpeq_store(off, cpu, word, p, expect, v):
 *	if (area->id != cpu) return MOVED;
 *	if (*word != 0) return DIVERTED;
 *	if (*p != expect) return CHANGED;
 *	*p = v;						commit
 *	return OK;
 *
 * The list's sections (percpu/list.h): `head` is this shard's list head.
 * percpu_cs_list_push(off, cpu, gate, head, node):
 *	if (*gate != area->id) return DIVERTED;
 *	node->next = *head;
 *	*head = node;					commit
 *	return OK;
 * percpu_cs_list_pop(off, cpu, gate, head, &node):
 *	if (*gate != area->id) return DIVERTED;
 *	n = *head;
 *	if (n == NULL) return CHANGED;			empty
 *	*head = n->next;				commit
 *	node = n;					after the commit
 *	return OK;
 * percpu_cs_list_pop_here(off, id, gates, head0, &o):
 *	a _here section (below): o = cpu * PERCPU_STRIDE for the id read
 *	inside, head = head0 + o, then as percpu_cs_list_pop, returning
 *	n, or 0 if empty, or 1 for every other failure (abort, diverted):
 *	no node is at address 1.
 *
 * The pointer stack's sections (percpu/stack.h): `st` is this shard's
 * stack, st->count, st->capacity, st->slot[]. Each reads the count and
 * the capacity inside the section, so no load before it is needed; the
 * stores above the count are speculative, the count's store commits.
 * percpu_cs_stack_push1(off, cpu, gate, st, ptr):
 *	if (*gate != area->id) return DIVERTED;
 *	c = st->count;
 *	if (c >= st->capacity) return CHANGED;		full
 *	st->slot[c] = ptr;
 *	st->count = c + 1;				commit
 *	return OK;
 * percpu_cs_stack_pop1(off, cpu, gate, st, &ptr):
 *	if (*gate != area->id) return DIVERTED;
 *	c = st->count;
 *	if (c <= 0) return CHANGED;			empty
 *	v = st->slot[c - 1];
 *	st->count = c - 1;				commit
 *	ptr = v;					after the commit
 *	return OK;
 * The _here sections read the shard id themselves, inside the section,
 * where a preemption, a migration or a signal aborts them: the id read is
 * the one they commit on, so they need no compare and no id read before.
 * h->cpu is not used; st0 is shard 0's stack.
 * percpu_cs_stack_push1_here(off, id, gates, st0, ptr):
 *	cpu = area->id;					inside
 *	if (gates[cpu] != cpu) return 0;		diverted
 *	st = st0 + cpu * PERCPU_STRIDE;
 *	as percpu_cs_stack_push1, returning 1 if committed, else 0
 *	(abort, diverted, full).
 * percpu_cs_stack_pop1_here(off, id, gates, st0):
 *	as above, popping as percpu_cs_stack_pop1 and returning v; every
 *	failure (abort, diverted, empty) returns 0.
 * percpu_cs_stack_push_small(off, cpu, gate, st, ptrs, &n):
 *	n <= PERCPU_STACK_SMALL (8), so the copy is a few plain moves.
 *	if (*gate != area->id) return DIVERTED;
 *	c = st->count;
 *	k = min(n, st->capacity - c);
 *	if (k <= 0) return CHANGED;			full, or n == 0
 *	st->slot[c .. c + k) = ptrs[0 .. k);
 *	st->count = c + k;				commit
 *	n = k;						after the commit
 *	return OK;
 * percpu_cs_stack_pop_small(off, cpu, gate, st, out, &n):
 *	n <= PERCPU_STACK_SMALL. The copy into out[] is speculative too: it
 *	may land although the section aborts.
 *	if (*gate != area->id) return DIVERTED;
 *	c = st->count;
 *	k = min(n, c);
 *	if (k <= 0) return CHANGED;			empty, or n == 0
 *	out[0 .. k) = st->slot[c - k .. c);
 *	st->count = c - k;				commit
 *	n = k;						after the commit
 *	return OK;
 *
 * percpu_arch_shard_id(id) reads the shard-id field outside any section:
 * a valid id when registered, a negative value (unsigned: huge) when not.
 * percpu_arch_area_s32(off) reads the 32-bit field at `off` from the thread
 * pointer, sign-extended to a long. PERCPU_ARCH_READ_RT(member, dep) loads
 * percpu_rt.member with no memory dependency (see struct percpu_rt), after
 * `dep` is known.
 */
#ifndef PERCPU_ARCH_H
#define PERCPU_ARCH_H

/*
 * Where a thread is: its rseq area and the area's shard-id field (cpu_id,
 * or mm_cid), as offsets from the thread pointer; shard 0's shard word;
 * the shard id read before the section; and shard 0's gate.
 */
struct percpu_here {
	long area;
	long id;
	uintptr_t words;
	long cpu;	/* -1 and -2 stay negative: their offsets lie below 0 */
	uintptr_t gates;
};

enum percpu_cs_result {
	PERCPU_CS_OK = 0,
	PERCPU_CS_ABORT,
	PERCPU_CS_MOVED,
	PERCPU_CS_DIVERTED,
	PERCPU_CS_CHANGED,
};

/*
 * The end of a section function: its own commit, then the labels its asm
 * goto jumps to, each returning its result. _CHANGED for the sections
 * that compare a value (they have a fourth label).
 */
#define PERCPU_CS_RETURN						\
	return PERCPU_CS_OK;						\
abort:									\
	return PERCPU_CS_ABORT;						\
moved:									\
	return PERCPU_CS_MOVED;						\
diverted:								\
	return PERCPU_CS_DIVERTED
#define PERCPU_CS_RETURN_CHANGED					\
	PERCPU_CS_RETURN;						\
changed:								\
	return PERCPU_CS_CHANGED

/* PERCPU_ARCH_NONE picks the lock-path-only file anywhere: the header
 * check compiles every header so, as on an architecture without a file. */
#define PERCPU_ARCH_INCLUDE_OK
#if defined(PERCPU_ARCH_NONE)
#include "arch/none.h"
#elif defined(__x86_64__)
#include "arch/x86_64.h"
#elif defined(__aarch64__) && defined(__AARCH64EL__)
#include "arch/aarch64.h"
#else
#include "arch/none.h"
#endif
#undef PERCPU_ARCH_INCLUDE_OK

#endif
