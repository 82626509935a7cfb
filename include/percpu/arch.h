/* SPDX-License-Identifier: MIT */
/*
 * percpu/arch.h: the one architecture switch. Each architecture file gives
 * the critical sections below; everything else is generic. An architecture
 * without a file here builds and runs every operation on the lock path.
 *
 * The critical sections, specified once. Each runs on the calling thread's
 * shard, `cpu` being the id the caller read from its rseq area (h->cpu: the
 * CPU id, or the concurrency id in that indexing; area->id below is that
 * field); `word` is that shard's shard word; `p` is that shard's copy of the
 * caller's word. Results:
 *   PERCPU_CS_OK        committed
 *   PERCPU_CS_ABORT     the kernel restarted the section (preemption,
 *                       migration, signal): nothing was stored
 *   PERCPU_CS_MOVED     the thread no longer runs on `cpu` (or is not
 *                       registered): nothing was stored
 *   PERCPU_CS_DIVERTED  the shard word is non-zero (held by a lock-path
 *                       operation, or rseq disabled): nothing was stored
 *   PERCPU_CS_CHANGED   the compare failed: nothing was stored
 *
 * percpu_cs_add(off, cpu, word, p, v):
 *	if (area->id != cpu) return MOVED;
 *	if (*word != 0) return DIVERTED;
 *	*p += v;					commit
 *	return OK;
 * percpu_cs_fetch_add(off, cpu, word, p, &v):
 *	as percpu_cs_add, and v = the value *p held before; one instruction
 *	commits both.
 * percpu_cs_store(off, cpu, word, p, v):
 *	as percpu_cs_add, committing *p = v.
 * percpu_cs_cmpeq_store(off, cpu, word, p, expect, v):
 *	if (area->id != cpu) return MOVED;
 *	if (*word != 0) return DIVERTED;
 *	if (*p != expect) return CHANGED;
 *	*p = v;						commit
 *	return OK;
 *
 * percpu_arch_shard_id(id) reads the shard-id field outside any section:
 * a valid id when registered, a negative value (unsigned: huge) when not.
 */
#ifndef PERCPU_ARCH_H
#define PERCPU_ARCH_H

/*
 * Where a thread is: its rseq area and the area's shard-id field (cpu_id,
 * or mm_cid), as offsets from the thread pointer, and the id read there.
 */
struct percpu_here {
	long area;
	long id;
	unsigned int cpu;
};

enum percpu_cs_result {
	PERCPU_CS_OK = 0,
	PERCPU_CS_ABORT,
	PERCPU_CS_MOVED,
	PERCPU_CS_DIVERTED,
	PERCPU_CS_CHANGED,
};

#define PERCPU_ARCH_INCLUDE_OK
#if defined(__x86_64__)
#include "arch/x86_64.h"
#else
#include "arch/none.h"
#endif
#undef PERCPU_ARCH_INCLUDE_OK

#endif
