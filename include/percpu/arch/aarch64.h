/* SPDX-License-Identifier: MIT */
/*
 * percpu/arch/aarch64.h: the critical sections for aarch64 (little endian),
 * specified in percpu/arch.h. The rseq area is reached through tpidr_el0
 * (the thread pointer) plus the runtime's rseq_offset.
 *
 * Layout as on x86-64: each section registers a struct rseq_cs in __rseq_cs
 * (listed in __rseq_cs_ptr_array); labels 1 start, 2 post-commit,
 * 3 descriptor, 4 abort handler, kept out of line in __rseq_failure right
 * behind the signature, which the kernel reads as the 4 bytes before the
 * abort address. The signature 0xd428bc00 encodes `brk #0x45e0`: a stray
 * jump into it traps.
 *
 * Memory ordering on a weakly ordered machine, where x86 got it from TSO:
 *  - the shard word is loaded first, and every later load of the shard's
 *    data uses an address made dependent on the word's value (which is 0
 *    there): a lock-path operation's updates, published by its release of
 *    the word, are seen by the section that sees the word free;
 *  - cmpeq_store loads the compared word with ldar: percpu_lock() is built
 *    on it and must acquire what the previous holder released;
 *  - cmpeq_store_store and cmpeq_memcpy_store commit with stlr, so their
 *    _release forms hold (the plain forms pay the same: one stlr).
 * Registers x9-x15 are scratch in every section: x9 the thread pointer,
 * x13 the shard word's value, x14 the shard's copy of *p, x15 the
 * fault-injection hooks.
 */
#ifndef PERCPU_ARCH_INCLUDE_OK
#error "include <percpu.h>, not an architecture file"
#endif
#ifndef PERCPU_ARCH_AARCH64_H
#define PERCPU_ARCH_AARCH64_H

#ifdef PERCPU_INJECT
#include "../inject.h"	/* the test suite's hooks; not installed */
#endif

#define PERCPU_ARCH_RSEQ 1
#define PERCPU_ARCH_NAME "aarch64"
#define PERCPU_RSEQ_SIG 0xd428bc00

#ifdef PERCPU_INJECT
#define PERCPU_A64_INJECT_BASE						\
	"adrp x15, :got:percpu_inject\n\t"				\
	"ldr x15, [x15, #:got_lo12:percpu_inject]\n\t"
/* Point n: spin percpu_inject.delay[n] loops. */
#define PERCPU_A64_DELAY(n)						\
	PERCPU_A64_INJECT_BASE						\
	"ldr w15, [x15, #" #n "*4]\n\t"				\
	"5: cbz w15, 6f\n\t"						\
	"sub w15, w15, #1\n\t"						\
	"b 5b\n\t"							\
	"6:\n\t"
#define PERCPU_A64_FORCED_ABORT					\
	PERCPU_A64_INJECT_BASE						\
	"ldr w15, [x15, #32]\n\t"					\
	"cbnz w15, %l[abort]\n\t"
#else
#define PERCPU_A64_DELAY(n)
#define PERCPU_A64_FORCED_ABORT
#endif

#ifdef PERCPU_COMPARE_TWICE
/*
 * Debug builds check the CPU and the compared words once more just before
 * the commit; a mismatch there means a section ran on after it should have
 * been aborted, and traps (udf: SIGILL) rather than corrupt data.
 */
#define PERCPU_A64_TWICE_CPU						\
	"ldr w12, [x9, %[id]]\n\t"					\
	"cmp w12, %w[cpu]\n\t"						\
	"b.ne 7f\n\t"
/* The word at address register `addr` still equals register `expect`. */
#define PERCPU_A64_TWICE(expect, addr)					\
	"ldr x12, [" addr "]\n\t"					\
	"cmp x12, " expect "\n\t"					\
	"b.ne 7f\n\t"
#define PERCPU_A64_TWICE_TRAP "7: .inst 0x00000000\n\t"
#else
#define PERCPU_A64_TWICE_CPU
#define PERCPU_A64_TWICE(expect, addr)
#define PERCPU_A64_TWICE_TRAP
#endif

#define PERCPU_A64_CS_DESCRIPTOR					\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n\t"						\
	"3:\n\t"							\
	".long 0x0, 0x0\n\t"						\
	".quad 1f, (2f - 1f), 4f\n\t"					\
	".popsection\n\t"						\
	".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"			\
	".quad 3b\n\t"							\
	".popsection\n\t"

/* Publish the descriptor and enter; x9 holds the thread pointer. */
#define PERCPU_A64_CS_ENTER						\
	"mrs x9, tpidr_el0\n\t"					\
	"adrp x10, 3b\n\t"						\
	"add x10, x10, :lo12:3b\n\t"					\
	"add x11, x9, %[off]\n\t"					\
	"str x10, [x11, #8]\n\t"					\
	"1:\n\t"							\
	PERCPU_A64_FORCED_ABORT						\
	PERCPU_A64_DELAY(1)

/*
 * Enter, check the CPU and the shard word, and leave in x14 the address
 * of the shard's *p, dependent on the word.
 */
#define PERCPU_A64_CS_ENTER_AND_CHECK					\
	PERCPU_A64_CS_ENTER						\
	"ldr w12, [x9, %[id]]\n\t"					\
	"cmp w12, %w[cpu]\n\t"						\
	"b.ne %l[moved]\n\t"						\
	PERCPU_A64_DELAY(2)						\
	"ldr x13, [%[word]]\n\t"					\
	"cbnz x13, %l[diverted]\n\t"					\
	"add x14, %[p], x13\n\t"					\
	PERCPU_A64_DELAY(3)

/*
 * For a section on the shard the thread read itself (percpu_fast_here):
 * as above, with one compare of the live id against the shard's gate,
 * which reads as that id only while it is open and the thread runs on the
 * shard; every failure diverts. The gate's value xor the id, 0 there,
 * makes x14 dependent on the gate's load.
 */
#define PERCPU_A64_CS_ENTER_AND_GATE					\
	PERCPU_A64_CS_ENTER						\
	"ldr w12, [x9, %[id]]\n\t"					\
	"ldr w13, [%[gate]]\n\t"					\
	"cmp w12, w13\n\t"						\
	"b.ne %l[diverted]\n\t"					\
	"eor w13, w13, w12\n\t"					\
	"add x14, %[p], x13\n\t"					\
	PERCPU_A64_DELAY(2)						\
	PERCPU_A64_DELAY(3)

#define PERCPU_A64_CS_ABORT_HANDLER					\
	".pushsection __rseq_failure, \"ax\"\n\t"			\
	".balign 4\n\t"							\
	".inst 0xd428bc00\n\t"						\
	"4:\n\t"							\
	"b %l[abort]\n\t"						\
	PERCPU_A64_TWICE_TRAP						\
	".popsection\n\t"

#define PERCPU_A64_CLOBBERS "memory", "cc", "x9", "x10", "x11", "x12", \
	"x13", "x14", "x15"

/*
 * Not volatile and no memory operand: the compiler may reuse the value and
 * hoist it, but not above the computation of `dep`. The address is
 * field + (dep ^ dep): a real address dependency, so the CPU, too, reads
 * the field only once dep is known (ARM may otherwise satisfy the load
 * early, from before initialization published it).
 */
static inline uintptr_t percpu_arch_read_stable(const void *field,
						const void *dep)
{
	uintptr_t v, zero;

	__asm__("eor %1, %3, %3\n\t"
		"ldr %0, [%2, %1]"
		: "=r"(v), "=&r"(zero)
		: "r"(field), "r"(dep));
	return v;
}

#define PERCPU_ARCH_READ_RT(member, dep)				\
	percpu_arch_read_stable(&percpu_rt.member, dep)

/* Sign-extended (ldrsw): ids -1 and -2 stay negative in 64 bits. */
static inline long percpu_arch_area_s32(long off)
{
	long v;
	long tp;

	__asm__ __volatile__("mrs %1, tpidr_el0\n\t"
			     "ldrsw %0, [%1, %2]"
			     : "=r"(v), "=&r"(tp)
			     : "r"(off));
	return v;
}

/* The rseq area's cpu_id or mm_cid field, at `id` from the thread pointer. */
static inline unsigned int percpu_arch_shard_id(long id)
{
#ifdef PERCPU_INJECT
	if (percpu_inject.fake_shard_on)
		return percpu_inject.fake_shard;
#endif
	return (unsigned int)percpu_arch_area_s32(id);
}

/* p0 is shard 0's word, as on x86-64; here its shard's copy is computed
 * before the section. */
static inline int percpu_cs_add(const struct percpu_here *h,
				const uint32_t *gate, intptr_t *p0, intptr_t v)
{
	intptr_t *p = (intptr_t *)((uintptr_t)p0 +
				   ((uintptr_t)h->cpu << PERCPU_STRIDE_SHIFT));

	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x10, [x14]\n\t"
		"add x10, x10, %[v]\n\t"
		PERCPU_A64_TWICE_CPU
		"str x10, [x14]\n\t"
		"2:\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(p), [v] "r"(v)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

/* The old value goes through x10 to *v after the commit. */
static inline int percpu_cs_fetch_add(const struct percpu_here *h,
				      const uint32_t *gate, intptr_t *p,
				      intptr_t *v)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x11, [%[v]]\n\t"
		"ldr x10, [x14]\n\t"
		"add x11, x10, x11\n\t"
		PERCPU_A64_TWICE_CPU
		"str x11, [x14]\n\t"
		"2:\n\t"
		"str x10, [%[v]]\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(p), [v] "r"(v)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

static inline int percpu_cs_store(const struct percpu_here *h,
				  const uint32_t *gate, intptr_t *p, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		PERCPU_A64_TWICE_CPU
		"str %[v], [x14]\n\t"
		"2:\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(p), [v] "r"(v)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

/* ldar: percpu_lock() takes its lock here and must acquire (see above). */
static inline int percpu_cs_cmpeq_store(const struct percpu_here *h,
					const intptr_t *word, intptr_t *p,
					intptr_t expect, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_CHECK
		"ldar x10, [x14]\n\t"
		"cmp x10, %[expect]\n\t"
		"b.ne %l[changed]\n\t"
		PERCPU_A64_DELAY(4)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("%[expect]", "x14")
		"str %[v], [x14]\n\t"
		"2:\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [word] "r"(word), [p] "r"(p), [expect] "r"(expect), [v] "r"(v)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

static inline int percpu_cs_xchg(const struct percpu_here *h,
				 const uint32_t *gate, intptr_t *p,
				 intptr_t *v)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x10, [x14]\n\t"
		"ldr x11, [%[v]]\n\t"
		PERCPU_A64_DELAY(4)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("x10", "x14")
		"str x11, [x14]\n\t"
		"2:\n\t"
		"str x10, [%[v]]\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(p), [v] "r"(v)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

/* *q's address is made dependent on the shard word too (x12). */
static inline int percpu_cs_cmpeq_cmpeq_store(const struct percpu_here *h,
					      const intptr_t *word, intptr_t *p,
					      intptr_t expect,
					      const intptr_t *q,
					      intptr_t expect2, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_CHECK
		"add x11, %[q], x13\n\t"
		"ldr x10, [x14]\n\t"
		"cmp x10, %[expect]\n\t"
		"b.ne %l[changed]\n\t"
		PERCPU_A64_DELAY(4)
		"ldr x10, [x11]\n\t"
		"cmp x10, %[expect2]\n\t"
		"b.ne %l[changed]\n\t"
		PERCPU_A64_DELAY(5)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("%[expect]", "x14")
		PERCPU_A64_TWICE("%[expect2]", "x11")
		"str %[v], [x14]\n\t"
		"2:\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [word] "r"(word), [p] "r"(p), [expect] "r"(expect),
		  [q] "r"(q), [expect2] "r"(expect2), [v] "r"(v)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* stlr commits: the store to *q is visible before the commit (release). */
static inline int percpu_cs_cmpeq_store_store(const struct percpu_here *h,
					      const intptr_t *word, intptr_t *p,
					      intptr_t expect, intptr_t *q,
					      intptr_t v2, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_CHECK
		"ldr x10, [x14]\n\t"
		"cmp x10, %[expect]\n\t"
		"b.ne %l[changed]\n\t"
		PERCPU_A64_DELAY(4)
		"str %[v2], [%[q]]\n\t"
		PERCPU_A64_DELAY(5)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("%[expect]", "x14")
		"stlr %[v], [x14]\n\t"
		"2:\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [word] "r"(word), [p] "r"(p), [expect] "r"(expect),
		  [q] "r"(q), [v2] "r"(v2), [v] "r"(v)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* The copy's operands, in memory, as on x86-64. */
struct percpu_copy {
	void *dst;
	const void *src;
	size_t len;
};

/*
 * The copy runs 8 bytes at a time, then the tail byte by byte (x10 dst,
 * x11 src, x12 bytes left); any interrupt inside it aborts the section.
 * stlr commits: the copy is visible before the commit (release).
 */
static inline int percpu_cs_cmpeq_memcpy_store(const struct percpu_here *h,
					       const intptr_t *word,
					       intptr_t *p, intptr_t expect,
					       const struct percpu_copy *copy,
					       intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_CHECK
		"ldr x10, [x14]\n\t"
		"cmp x10, %[expect]\n\t"
		"b.ne %l[changed]\n\t"
		"ldp x10, x11, [%[copy]]\n\t"
		"ldr x12, [%[copy], #16]\n\t"
		"cmp x12, #8\n\t"
		"b.lo 9f\n\t"
		"8: ldr x13, [x11], #8\n\t"
		"str x13, [x10], #8\n\t"
		"sub x12, x12, #8\n\t"
		"cmp x12, #8\n\t"
		"b.hs 8b\n\t"
		"9: cbz x12, 11f\n\t"
		"10: ldrb w13, [x11], #1\n\t"
		"strb w13, [x10], #1\n\t"
		"subs x12, x12, #1\n\t"
		"b.ne 10b\n\t"
		"11:\n\t"
		PERCPU_A64_DELAY(4)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("%[expect]", "x14")
		"stlr %[v], [x14]\n\t"
		"2:\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [word] "r"(word), [p] "r"(p), [expect] "r"(expect),
		  [copy] "r"(copy), [v] "r"(v)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/*
 * The list's links are the first word of a node. A plain commit: a popper
 * on another CPU works on the lock path, after fencing this one.
 */
static inline int percpu_cs_list_push(const struct percpu_here *h,
				      const uint32_t *gate, intptr_t *head,
				      intptr_t node)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x10, [x14]\n\t"
		"str x10, [%[node]]\n\t"
		PERCPU_A64_DELAY(4)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("x10", "x14")
		"str %[node], [x14]\n\t"
		"2:\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(head), [node] "r"(node)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

/* The popped node goes through x10 to *node after the commit. */
static inline int percpu_cs_list_pop(const struct percpu_here *h,
				     const uint32_t *gate, intptr_t *head,
				     intptr_t *node)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x10, [x14]\n\t"
		"cbz x10, %l[changed]\n\t"
		PERCPU_A64_DELAY(4)
		"ldr x11, [x10]\n\t"
		PERCPU_A64_DELAY(5)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("x10", "x14")
		"str x11, [x14]\n\t"
		"2:\n\t"
		"str x10, [%[node]]\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(head), [node] "r"(node)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/*
 * The _here sections, composed here from the compared ones: the id is
 * read before the section and compared inside, as every other section
 * here does (x86-64 reads it inside and needs no compare). Results go
 * through memory.
 */
static inline void percpu_a64_here_cpu(struct percpu_here *at,
				       const struct percpu_here *h)
{
	at->area = h->area;
	at->id = h->id;
	at->words = h->words;
	at->gates = h->gates;
	at->cpu = percpu_arch_area_s32(h->id);
}

/* The popped node as the result, 0 if the list was empty, 1 for every
 * failure, and the shard's offset in *o. */
static inline intptr_t percpu_cs_list_pop_here(const struct percpu_here *h,
					       intptr_t *head0, uintptr_t *o)
{
	struct percpu_here at;
	intptr_t v = 0;

	percpu_a64_here_cpu(&at, h);
	*o = (uintptr_t)(intptr_t)(int)at.cpu << PERCPU_STRIDE_SHIFT;
	switch (percpu_cs_list_pop(&at, (const uint32_t *)at.gates + at.cpu,
				   (intptr_t *)((uintptr_t)head0 + *o), &v)) {
	case PERCPU_CS_OK:
		return v;
	case PERCPU_CS_CHANGED:
		return 0;
	default:
		return 1;
	}
}

/*
 * The pointer stack's sections. `st` is this shard's struct percpu_stack
 * (percpu/stack.h) seen as words: count at 0, capacity at 8, slot[] from
 * 16, reached through x14 (dependent on the shard word). The slot stores
 * are speculative; the pushes commit the count with stlr, so a reader that
 * sees the count with an acquire load sees the slots (the release that
 * percpu/stack.h promises, free on x86).
 */
static inline int percpu_cs_stack_push1(const struct percpu_here *h,
					const uint32_t *gate, intptr_t *st,
					intptr_t ptr)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x10, [x14]\n\t"
		"ldr x11, [x14, #8]\n\t"
		"cmp x10, x11\n\t"
		"b.ge %l[changed]\n\t"
		PERCPU_A64_DELAY(4)
		"add x12, x14, #16\n\t"
		"str %[ptr], [x12, x10, lsl #3]\n\t"
		PERCPU_A64_DELAY(5)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("x10", "x14")
		"add x10, x10, #1\n\t"
		"stlr x10, [x14]\n\t"
		"2:\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(st), [ptr] "r"(ptr)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* The popped pointer goes through x11 to *ptr after the commit. */
static inline int percpu_cs_stack_pop1(const struct percpu_here *h,
				       const uint32_t *gate, intptr_t *st,
				       intptr_t *ptr)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x10, [x14]\n\t"
		"cmp x10, #0\n\t"
		"b.le %l[changed]\n\t"
		PERCPU_A64_DELAY(4)
		"add x12, x14, #8\n\t"
		"ldr x11, [x12, x10, lsl #3]\n\t"
		PERCPU_A64_DELAY(5)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("x10", "x14")
		"sub x10, x10, #1\n\t"
		"str x10, [x14]\n\t"
		"2:\n\t"
		"str x11, [%[ptr]]\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(st), [ptr] "r"(ptr)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

static inline int percpu_cs_stack_push1_here(const struct percpu_here *h,
					     intptr_t *st0, intptr_t ptr)
{
	struct percpu_here at;
	uintptr_t o;

	percpu_a64_here_cpu(&at, h);
	o = (uintptr_t)(intptr_t)(int)at.cpu << PERCPU_STRIDE_SHIFT;
	return percpu_cs_stack_push1(&at, (const uint32_t *)at.gates + at.cpu,
				     (intptr_t *)((uintptr_t)st0 + o),
				     ptr) == PERCPU_CS_OK;
}

static inline intptr_t percpu_cs_stack_pop1_here(const struct percpu_here *h,
						 intptr_t *st0)
{
	struct percpu_here at;
	uintptr_t o;
	intptr_t v;

	percpu_a64_here_cpu(&at, h);
	o = (uintptr_t)(intptr_t)(int)at.cpu << PERCPU_STRIDE_SHIFT;
	if (percpu_cs_stack_pop1(&at, (const uint32_t *)at.gates + at.cpu,
				 (intptr_t *)((uintptr_t)st0 + o), &v) !=
	    PERCPU_CS_OK)
		return 0;
	return v;
}

/*
 * k = min(*n, room) pointers (x11), copied by a loop (x13 the index, x12
 * the first free slot); k goes to *n after the commit. *n is at most
 * PERCPU_STACK_SMALL.
 */
static inline int percpu_cs_stack_push_small(const struct percpu_here *h,
					     const uint32_t *gate,
					     intptr_t *st, void *const *ptrs,
					     size_t *n)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x10, [x14]\n\t"
		"ldr x11, [x14, #8]\n\t"
		"sub x11, x11, x10\n\t"
		"ldr x12, [%[n]]\n\t"
		"cmp x11, x12\n\t"
		"csel x11, x12, x11, gt\n\t"
		"cmp x11, #0\n\t"
		"b.le %l[changed]\n\t"
		PERCPU_A64_DELAY(4)
		"add x12, x14, #16\n\t"
		"add x12, x12, x10, lsl #3\n\t"
		"mov x13, #0\n\t"
		"8: ldr x15, [%[ptrs], x13, lsl #3]\n\t"
		"str x15, [x12, x13, lsl #3]\n\t"
		"add x13, x13, #1\n\t"
		"cmp x13, x11\n\t"
		"b.lo 8b\n\t"
		PERCPU_A64_DELAY(5)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("x10", "x14")
		"add x10, x10, x11\n\t"
		"stlr x10, [x14]\n\t"
		"2:\n\t"
		"str x11, [%[n]]\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(st), [ptrs] "r"(ptrs), [n] "r"(n)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* As push_small, k = min(*n, count) pointers into out[], which the
 * section writes before its commit (x12 the first slot taken). */
static inline int percpu_cs_stack_pop_small(const struct percpu_here *h,
					    const uint32_t *gate,
					    intptr_t *st, void **out,
					    size_t *n)
{
	__asm__ __volatile__ goto(
		PERCPU_A64_CS_DESCRIPTOR
		PERCPU_A64_CS_ENTER_AND_GATE
		"ldr x10, [x14]\n\t"
		"ldr x11, [%[n]]\n\t"
		"cmp x11, x10\n\t"
		"csel x11, x10, x11, gt\n\t"
		"cmp x11, #0\n\t"
		"b.le %l[changed]\n\t"
		PERCPU_A64_DELAY(4)
		"sub x12, x10, x11\n\t"
		"add x12, x14, x12, lsl #3\n\t"
		"add x12, x12, #16\n\t"
		"mov x13, #0\n\t"
		"8: ldr x15, [x12, x13, lsl #3]\n\t"
		"str x15, [%[out], x13, lsl #3]\n\t"
		"add x13, x13, #1\n\t"
		"cmp x13, x11\n\t"
		"b.lo 8b\n\t"
		PERCPU_A64_DELAY(5)
		PERCPU_A64_TWICE_CPU
		PERCPU_A64_TWICE("x10", "x14")
		"sub x10, x10, x11\n\t"
		"str x10, [x14]\n\t"
		"2:\n\t"
		"str x11, [%[n]]\n\t"
		PERCPU_A64_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "r"(gate), [p] "r"(st), [out] "r"(out), [n] "r"(n)
		: PERCPU_A64_CLOBBERS
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

#endif
