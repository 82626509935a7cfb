/* SPDX-License-Identifier: MIT */
/*
 * percpu/arch/x86_64.h: the critical sections for x86-64, specified in
 * percpu/arch.h. The rseq area is reached through %fs (the thread pointer)
 * plus the runtime's rseq_offset, so the fast path needs no TLS call.
 *
 * A word that a section reads and then writes is addressed through one
 * register, not as an "m" operand, with which the compiler may pick base
 * + index: on an Intel Xeon an add to one word in a loop measured 3 times
 * faster so (0.6 against 1.9 ns), a store's value reaching the next load
 * of the same word sooner. Words only read (the shard word, cmp2's
 * second word) or only written (store's, cas_store2's second) stay "m":
 * there the extra address computation only cost (store 0.58 against
 * 0.62 ns, cmp2_store 0.90 against 1.11).
 *
 * Each section registers a struct rseq_cs in __rseq_cs (listed in
 * __rseq_cs_ptr_array for debuggers and checkpointers). Labels: 1 start,
 * 2 post-commit, 3 descriptor, 4 abort handler, kept out of line in
 * __rseq_failure behind the signature (encoded as a ud1 instruction, so
 * disassemblers stay in step).
 */
#ifndef PERCPU_ARCH_INCLUDE_OK
#error "include <percpu.h>, not an architecture file"
#endif
#ifndef PERCPU_ARCH_X86_64_H
#define PERCPU_ARCH_X86_64_H

#ifdef PERCPU_INJECT
#include "../inject.h"	/* the test suite's hooks; not installed */
#endif

#define PERCPU_ARCH_RSEQ 1
#define PERCPU_ARCH_NAME "x86_64"
#define PERCPU_RSEQ_SIG 0x53053053

#ifdef PERCPU_INJECT
/* Point n: spin percpu_inject.delay[n] loops; %rax is free inside sections. */
#define PERCPU_X86_DELAY(n)						\
	"movq percpu_inject@GOTPCREL(%%rip), %%rax\n\t"			\
	"movl " #n "*4(%%rax), %%eax\n\t"				\
	"5: testl %%eax, %%eax\n\t"					\
	"jz 6f\n\t"							\
	"decl %%eax\n\t"						\
	"jmp 5b\n\t"							\
	"6:\n\t"
#define PERCPU_X86_FORCED_ABORT_TO(abort)				\
	"movq percpu_inject@GOTPCREL(%%rip), %%rax\n\t"			\
	"cmpl $0, 32(%%rax)\n\t"					\
	"jnz " abort "\n\t"
#else
#define PERCPU_X86_DELAY(n)
#define PERCPU_X86_FORCED_ABORT_TO(abort)
#endif

#ifdef PERCPU_COMPARE_TWICE
/*
 * Debug builds check the CPU and the compared words once more just before
 * the commit; a mismatch there means a section ran on after it should have
 * been aborted, and traps (SIGILL) rather than corrupt data.
 */
#define PERCPU_X86_TWICE_CPU						\
	"cmpl %k[cpu], %%fs:(%[id])\n\t"				\
	"jnz 7f\n\t"
/* expect against the word at register `word`, or in memory operand `mem` */
#define PERCPU_X86_TWICE(expect, word)					\
	"cmpq %[" expect "], (%[" word "])\n\t"			\
	"jnz 7f\n\t"
#define PERCPU_X86_TWICE_M(expect, mem)					\
	"cmpq %[" expect "], %[" mem "]\n\t"				\
	"jnz 7f\n\t"
/* The same against a register (the value the section loaded). */
#define PERCPU_X86_TWICE_AT(reg, base)					\
	"cmpq %%" reg ", (%[" base "])\n\t"				\
	"jnz 7f\n\t"
/* Any two asm operands, written out: "%%rcx", "(%%rdx)". */
#define PERCPU_X86_TWICE_CMP(a, b)					\
	"cmpq " a ", " b "\n\t"						\
	"jnz 7f\n\t"
/* A _here section's shard read again: operand `base` plus its offset
 * against register `reg` (base's copy in the shard it read first). */
#define PERCPU_X86_TWICE_HERE(base, reg)				\
	"movslq %%fs:(%[id]), %%rax\n\t"				\
	"shlq %[shift], %%rax\n\t"					\
	"addq %[" base "], %%rax\n\t"				\
	"cmpq %%rax, %%" reg "\n\t"					\
	"jnz 7f\n\t"
#define PERCPU_X86_TWICE_TRAP "7: ud2\n\t"
#else
#define PERCPU_X86_TWICE_HERE(base, reg)
#define PERCPU_X86_TWICE_CMP(a, b)
#define PERCPU_X86_TWICE_AT(reg, base)
#define PERCPU_X86_TWICE_CPU
#define PERCPU_X86_TWICE(expect, word)
#define PERCPU_X86_TWICE_M(expect, mem)
#define PERCPU_X86_TWICE_TRAP
#endif

#define PERCPU_X86_CS_DESCRIPTOR					\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n\t"						\
	"3:\n\t"							\
	".long 0x0, 0x0\n\t"						\
	".quad 1f, (2f - 1f), 4f\n\t"					\
	".popsection\n\t"						\
	".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"			\
	".quad 3b\n\t"							\
	".popsection\n\t"

/*
 * Publish the descriptor and enter; then, for ENTER_AND_CHECK, check the
 * CPU and the shard word. The _TO forms name where each failure jumps
 * (asm without goto labels).
 */
#define PERCPU_X86_CS_ENTER_TO(abort)					\
	"leaq 3b(%%rip), %%rax\n\t"					\
	"movq %%rax, %%fs:8(%[off])\n\t"				\
	"1:\n\t"							\
	PERCPU_X86_FORCED_ABORT_TO(abort)				\
	PERCPU_X86_DELAY(1)
#define PERCPU_X86_CS_ENTER_AND_CHECK_TO(abort, moved, diverted)	\
	PERCPU_X86_CS_ENTER_TO(abort)					\
	"cmpl %k[cpu], %%fs:(%[id])\n\t"				\
	"jnz " moved "\n\t"						\
	PERCPU_X86_DELAY(2)						\
	"cmpq $0, %[word]\n\t"						\
	"jnz " diverted "\n\t"						\
	PERCPU_X86_DELAY(3)
#define PERCPU_X86_CS_ENTER_AND_CHECK					\
	PERCPU_X86_CS_ENTER_AND_CHECK_TO("%l[abort]", "%l[moved]",	\
					 "%l[diverted]")

/*
 * For a section on the shard the thread read itself (percpu_fast_here):
 * publish the descriptor, enter, and check the shard's gate, which reads
 * as the live id only while it is open and the thread still runs on that
 * shard: one compare for both, and every failure diverts (the slow path
 * tells them apart). One compare instead of two took percpu_add from
 * 0.61-0.63 to 0.50 ns on an AMD EPYC, a bare section taking 0.47-0.49
 * (build/percpu-bench, the two builds alternated).
 */
#define PERCPU_X86_CS_ENTER_AND_GATE					\
	PERCPU_X86_CS_ENTER_TO("%l[abort]")				\
	"movl %[gate], %%eax\n\t"					\
	"cmpl %%eax, %%fs:(%[id])\n\t"				\
	"jnz %l[diverted]\n\t"					\
	PERCPU_X86_DELAY(2)						\
	PERCPU_X86_DELAY(3)

/*
 * Enter a section that reads the shard id itself (the _here sections):
 * once the section has begun, a preemption, a migration or a signal
 * aborts it, so the id it reads is the one it commits on and needs no
 * compare; ids -1 and -2 index shard words that always divert. The
 * shard's offset (id * stride) is left in %rdx; every failure goes to
 * `fail`.
 */
#define PERCPU_X86_CS_ENTER_HERE_TO(fail)				\
	PERCPU_X86_CS_ENTER_TO(fail)					\
	"movslq %%fs:(%[id]), %%rdx\n\t"				\
	PERCPU_X86_DELAY(2)						\
	"cmpl %%edx, (%[gates],%%rdx,4)\n\t"				\
	"jnz " fail "\n\t"						\
	"shlq %[shift], %%rdx\n\t"					\
	PERCPU_X86_DELAY(3)

#define PERCPU_X86_CS_ABORT_TO(abort)					\
	".pushsection __rseq_failure, \"ax\"\n\t"			\
	".byte 0x0f, 0xb9, 0x3d\n\t"					\
	".long 0x53053053\n\t"						\
	"4:\n\t"							\
	"jmp " abort "\n\t"						\
	PERCPU_X86_TWICE_TRAP						\
	".popsection\n\t"
#define PERCPU_X86_CS_ABORT_HANDLER PERCPU_X86_CS_ABORT_TO("%l[abort]")

/*
 * For a section without goto labels: the abort handler (4) and every
 * failure (8) run `set`, which puts the section's failure value in its
 * result register, then rejoin after the commit (2).
 */
#define PERCPU_X86_CS_FAILURE_SETS(set)					\
	".pushsection __rseq_failure, \"ax\"\n\t"			\
	".byte 0x0f, 0xb9, 0x3d\n\t"					\
	".long 0x53053053\n\t"						\
	"4:\n\t"							\
	"8: " set "\n\t"						\
	"jmp 2b\n\t"							\
	PERCPU_X86_TWICE_TRAP						\
	".popsection\n\t"

/*
 * Not volatile and no memory operand: the compiler may reuse the value and
 * hoist it, but not above the computation of `dep`. The field is reached
 * as a displacement from one register holding &percpu_rt, which the
 * compiler computes once for all three fields (a field's own address in
 * a register cost a lea per field).
 */
#define PERCPU_ARCH_READ_RT(member, dep)				\
	__extension__ ({						\
		uintptr_t v_;						\
		__asm__("movq %c1(%2), %0"				\
			: "=r"(v_)					\
			: "i"(offsetof(struct percpu_rt, member)),	\
			  "r"(&percpu_rt), "r"(dep));			\
		v_;							\
	})

/*
 * Sign-extended by the load itself (movslq), so ids -1 and -2 stay
 * negative in 64 bits: a 32-bit load and a separate movslq measured 0.54
 * against 0.51 ns per add on an AMD EPYC.
 */
static inline long percpu_arch_area_s32(long off)
{
	long v;

	__asm__ __volatile__("movslq %%fs:(%1), %0" : "=r"(v) : "r"(off));
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

/*
 * p0 is shard 0's word: the shard's copy is computed inside, after the
 * checks, into %rax, so that a diverted section (lock mode) does not pay
 * for it (lock-mode add measured 2.31 against 2.21 ns with the address
 * computed before the section).
 */
static inline int percpu_cs_add(const struct percpu_here *h,
				const uint32_t *gate, intptr_t *p0, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		PERCPU_X86_TWICE_CPU
		"leaq (%[p0],%[o]), %%rax\n\t"
		"addq %[v], (%%rax)\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [p0] "r"(p0),
		  [o] "r"((uintptr_t)h->cpu << PERCPU_STRIDE_SHIFT),
		  [v] "er"(v)
		: "memory", "cc", "rax"
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

static inline int percpu_cs_fetch_add(const struct percpu_here *h,
				      const uint32_t *gate, intptr_t *p,
				      intptr_t *v)
{
	/*
	 * xadd without lock: one instruction, so it commits atomically with
	 * respect to the section, and it is not a bus-locked operation. No
	 * asm goto outputs (GCC 12 can miscompile them): the old value goes
	 * through %rcx to *v after the commit.
	 */
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		"movq (%[v]), %%rcx\n\t"
		PERCPU_X86_TWICE_CPU
		"xaddq %%rcx, (%[p])\n\t"
		"2:\n\t"
		"movq %%rcx, (%[v])\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [p] "r"(p), [v] "r"(v)
		: "memory", "cc", "rax", "rcx"
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

static inline int percpu_cs_store(const struct percpu_here *h,
				const uint32_t *gate, intptr_t *p, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		PERCPU_X86_TWICE_CPU
		"movq %[v], %[p]\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu), [gate] "m"(*gate),
		  [p] "m"(*p), [v] "er"(v)
		: "memory", "cc", "rax"
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

static inline int percpu_cs_cmpeq_store(const struct percpu_here *h,
				const intptr_t *word, intptr_t *p,
					intptr_t expect, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_CHECK
		"cmpq %[expect], (%[p])\n\t"
		"jnz %l[changed]\n\t"
		PERCPU_X86_DELAY(4)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE("expect", "p")
		"movq %[v], (%[p])\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu), [word] "m"(*word),
		  [p] "r"(p), [expect] "r"(expect), [v] "r"(v)
		: "memory", "cc", "rax"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

static inline int percpu_cs_xchg(const struct percpu_here *h,
				 const uint32_t *gate, intptr_t *p,
				 intptr_t *v)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		"movq (%[p]), %%rcx\n\t"
		"movq (%[v]), %%rdx\n\t"
		PERCPU_X86_DELAY(4)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE_AT("rcx", "p")
		"movq %%rdx, (%[p])\n\t"
		"2:\n\t"
		"movq %%rcx, (%[v])\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [p] "r"(p), [v] "r"(v)
		: "memory", "cc", "rax", "rcx", "rdx"
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

static inline int percpu_cs_cmpeq_cmpeq_store(const struct percpu_here *h,
				const intptr_t *word, intptr_t *p,
					      intptr_t expect,
					      const intptr_t *q,
					      intptr_t expect2, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_CHECK
		"cmpq %[expect], (%[p])\n\t"
		"jnz %l[changed]\n\t"
		PERCPU_X86_DELAY(4)
		"cmpq %[expect2], %[q]\n\t"
		"jnz %l[changed]\n\t"
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE("expect", "p")
		PERCPU_X86_TWICE_M("expect2", "q")
		"movq %[v], (%[p])\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu), [word] "m"(*word),
		  [p] "r"(p), [expect] "r"(expect), [q] "m"(*q),
		  [expect2] "r"(expect2), [v] "r"(v)
		: "memory", "cc", "rax"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* x86 stores are ordered: the release form is the same sequence. */
static inline int percpu_cs_cmpeq_store_store(const struct percpu_here *h,
				const intptr_t *word, intptr_t *p,
					      intptr_t expect, intptr_t *q,
					      intptr_t v2, intptr_t v)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_CHECK
		"cmpq %[expect], (%[p])\n\t"
		"jnz %l[changed]\n\t"
		PERCPU_X86_DELAY(4)
		"movq %[v2], %[q]\n\t"
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE("expect", "p")
		"movq %[v], (%[p])\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu), [word] "m"(*word),
		  [p] "r"(p), [expect] "r"(expect), [q] "m"(*q),
		  [v2] "r"(v2), [v] "r"(v)
		: "memory", "cc", "rax"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* The copy's operands, in memory: registers are short in this section. */
struct percpu_copy {
	void *dst;
	const void *src;
	size_t len;
};

static inline int percpu_cs_cmpeq_memcpy_store(const struct percpu_here *h,
				const intptr_t *word,
					       intptr_t *p, intptr_t expect,
					       const struct percpu_copy *copy,
					       intptr_t v)
{
	/* rep movsb is interruptible: an interrupt inside it aborts the
	 * section like any other instruction. */
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_CHECK
		"cmpq %[expect], (%[p])\n\t"
		"jnz %l[changed]\n\t"
		"movq 0(%[copy]), %%rdi\n\t"
		"movq 8(%[copy]), %%rsi\n\t"
		"movq 16(%[copy]), %%rcx\n\t"
		"rep movsb\n\t"
		PERCPU_X86_DELAY(4)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE("expect", "p")
		"movq %[v], (%[p])\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu), [word] "m"(*word),
		  [p] "r"(p), [expect] "r"(expect), [copy] "r"(copy),
		  [v] "r"(v)
		: "memory", "cc", "rax", "rdi", "rsi", "rcx"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* The list's links are the first word of a node. */
static inline int percpu_cs_list_push(const struct percpu_here *h,
				      const uint32_t *gate, intptr_t *head,
				      intptr_t node)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		"movq (%[head]), %%rcx\n\t"
		"movq %%rcx, (%[node])\n\t"
		PERCPU_X86_DELAY(4)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE_AT("rcx", "head")
		"movq %[node], (%[head])\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [head] "r"(head), [node] "r"(node)
		: "memory", "cc", "rax", "rcx"
		: abort, moved, diverted);
	PERCPU_CS_RETURN;
}

/* The popped node goes through %rcx to *node after the commit. */
static inline int percpu_cs_list_pop(const struct percpu_here *h,
				     const uint32_t *gate, intptr_t *head,
				     intptr_t *node)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		"movq (%[head]), %%rcx\n\t"
		"testq %%rcx, %%rcx\n\t"
		"jz %l[changed]\n\t"
		PERCPU_X86_DELAY(4)
		"movq (%%rcx), %%rdx\n\t"
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE_AT("rcx", "head")
		"movq %%rdx, (%[head])\n\t"
		"2:\n\t"
		"movq %%rcx, (%[node])\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [head] "r"(head), [node] "r"(node)
		: "memory", "cc", "rax", "rcx", "rdx"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/*
 * The popped node is the result, in a register, as the stack's pop1_here:
 * an empty list leaves 0 (the head it read), every failure (abort,
 * diverted) leaves 1, which no node is (nodes are aligned). The shard id
 * is read inside (PERCPU_X86_CS_ENTER_HERE_TO); its offset comes out in
 * *o, for the shard the caller may ask for. head0 is shard 0's head.
 */
static inline intptr_t percpu_cs_list_pop_here(const struct percpu_here *h,
					       intptr_t *head0, uintptr_t *o)
{
	intptr_t v = h->area;

	__asm__ __volatile__(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_HERE_TO("8f")
		"movq %[head0], %%rcx\n\t"
		"addq %%rdx, %%rcx\n\t"
		"movq (%%rcx), %[off]\n\t"
		"testq %[off], %[off]\n\t"
		"jz 2f\n\t"
		PERCPU_X86_DELAY(4)
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_HERE("head0", "rcx")
		PERCPU_X86_TWICE_CMP("%[off]", "(%%rcx)")
		"movq (%[off]), %%rax\n\t"
		"movq %%rax, (%%rcx)\n\t"
		"2:\n\t"
		PERCPU_X86_CS_FAILURE_SETS("movl $1, %k[off]")
		: [off] "+r"(v), "=&d"(*o)
		: [id] "r"(h->id), [gates] "r"(h->gates),
		  [shift] "i"(PERCPU_STRIDE_SHIFT), [head0] "r"(head0)
		: "memory", "cc", "rax", "rcx");
	return v;
}

/*
 * The pointer stack's sections. `st` is this shard's struct percpu_stack
 * (percpu/stack.h) seen as words: count at 0, capacity at 8, slot[] from
 * 16. The slot stores are speculative and the count's store commits; x86
 * stores are ordered, so a reader that sees the count sees the slots (the
 * release that percpu/stack.h promises costs nothing here).
 */
static inline int percpu_cs_stack_push1(const struct percpu_here *h,
					const uint32_t *gate, intptr_t *st,
					intptr_t ptr)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		"movq (%[st]), %%rcx\n\t"
		"cmpq 8(%[st]), %%rcx\n\t"
		"jge %l[changed]\n\t"
		PERCPU_X86_DELAY(4)
		"movq %[ptr], 16(%[st],%%rcx,8)\n\t"
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE_AT("rcx", "st")
		"incq %%rcx\n\t"
		"movq %%rcx, (%[st])\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [st] "r"(st), [ptr] "er"(ptr)
		: "memory", "cc", "rax", "rcx"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* The popped pointer goes through %rdx to *ptr after the commit. */
static inline int percpu_cs_stack_pop1(const struct percpu_here *h,
				       const uint32_t *gate, intptr_t *st,
				       intptr_t *ptr)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		"movq (%[st]), %%rcx\n\t"
		"testq %%rcx, %%rcx\n\t"
		"jle %l[changed]\n\t"
		PERCPU_X86_DELAY(4)
		"movq 8(%[st],%%rcx,8), %%rdx\n\t"
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE_AT("rcx", "st")
		"decq %%rcx\n\t"
		"movq %%rcx, (%[st])\n\t"
		"2:\n\t"
		"movq %%rdx, (%[ptr])\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [st] "r"(st), [ptr] "r"(ptr)
		: "memory", "cc", "rax", "rcx", "rdx"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/*
 * The one-pointer sections that read the shard id themselves, for the
 * _fast calls. st0 is shard 0's stack: this shard's is st0 plus the
 * offset (%rdx), computed after the shard-word check, in one register.
 */
static inline int percpu_cs_stack_push1_here(const struct percpu_here *h,
					     intptr_t *st0, intptr_t ptr)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_HERE_TO("%l[fail]")
		"addq %[st0], %%rdx\n\t"
		"movq (%%rdx), %%rcx\n\t"
		"cmpq 8(%%rdx), %%rcx\n\t"
		"jge %l[fail]\n\t"
		PERCPU_X86_DELAY(4)
		"movq %[ptr], 16(%%rdx,%%rcx,8)\n\t"
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_HERE("st0", "rdx")
		PERCPU_X86_TWICE_CMP("%%rcx", "(%%rdx)")
		"incq %%rcx\n\t"
		"movq %%rcx, (%%rdx)\n\t"
		"2:\n\t"
		PERCPU_X86_CS_ABORT_TO("%l[fail]")
		:
		: [off] "r"(h->area), [id] "r"(h->id), [gates] "r"(h->gates),
		  [shift] "i"(PERCPU_STRIDE_SHIFT), [st0] "r"(st0),
		  [ptr] "er"(ptr)
		: "memory", "cc", "rax", "rcx", "rdx"
		: fail);
	return 1;
fail:
	return 0;
}

/*
 * The popped pointer is the result, in a register: a plain asm, as GCC 12
 * can miscompile asm goto outputs, so every failure (abort, diverted,
 * empty) leaves 0 through PERCPU_X86_CS_FAILURE_SETS. The result takes
 * the register of the rseq area's offset, which is read only at the
 * entry, so that a caller needs no extra register (and an allocator's
 * malloc no stack frame).
 */
static inline intptr_t percpu_cs_stack_pop1_here(const struct percpu_here *h,
						 intptr_t *st0)
{
	intptr_t v = h->area;

	__asm__ __volatile__(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_HERE_TO("8f")
		"addq %[st0], %%rdx\n\t"
		"movq (%%rdx), %%rcx\n\t"
		"testq %%rcx, %%rcx\n\t"
		"jle 8f\n\t"
		PERCPU_X86_DELAY(4)
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_HERE("st0", "rdx")
		PERCPU_X86_TWICE_CMP("%%rcx", "(%%rdx)")
		"movq 8(%%rdx,%%rcx,8), %[off]\n\t"
		"decq %%rcx\n\t"
		"movq %%rcx, (%%rdx)\n\t"
		"2:\n\t"
		PERCPU_X86_CS_FAILURE_SETS("xorl %k[off], %k[off]")
		: [off] "+r"(v)
		: [id] "r"(h->id), [gates] "r"(h->gates),
		  [shift] "i"(PERCPU_STRIDE_SHIFT), [st0] "r"(st0)
		: "memory", "cc", "rax", "rcx", "rdx");
	return v;
}

/*
 * k = min(*n, room) pointers, copied by a loop of moves from the top down
 * (the order is invisible: nothing is seen before the commit); k goes
 * through %rdx to *n after the commit. *n is at most PERCPU_STACK_SMALL.
 */
static inline int percpu_cs_stack_push_small(const struct percpu_here *h,
					     const uint32_t *gate,
					     intptr_t *st, void *const *ptrs,
					     size_t *n)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		"movq (%[st]), %%rcx\n\t"
		"movq (%[n]), %%rdx\n\t"
		"leaq (%%rcx,%%rdx), %%rsi\n\t"
		"cmpq 8(%[st]), %%rsi\n\t"
		"jle 9f\n\t"
		"movq 8(%[st]), %%rdx\n\t"
		"subq %%rcx, %%rdx\n\t"
		"9: testq %%rdx, %%rdx\n\t"
		"jle %l[changed]\n\t"
		PERCPU_X86_DELAY(4)
		"leaq 16(%[st],%%rcx,8), %%rdi\n\t"
		"movq %%rdx, %%rax\n\t"
		"8: movq -8(%[ptrs],%%rax,8), %%rsi\n\t"
		"movq %%rsi, -8(%%rdi,%%rax,8)\n\t"
		"decq %%rax\n\t"
		"jnz 8b\n\t"
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE_AT("rcx", "st")
		"addq %%rdx, %%rcx\n\t"
		"movq %%rcx, (%[st])\n\t"
		"2:\n\t"
		"movq %%rdx, (%[n])\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [st] "r"(st), [ptrs] "r"(ptrs),
		  [n] "r"(n)
		: "memory", "cc", "rax", "rcx", "rdx", "rsi", "rdi"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

/* As push_small, k = min(*n, count) pointers into out[], which the
 * section writes before its commit. */
static inline int percpu_cs_stack_pop_small(const struct percpu_here *h,
					    const uint32_t *gate,
					    intptr_t *st, void **out,
					    size_t *n)
{
	__asm__ __volatile__ goto(
		PERCPU_X86_CS_DESCRIPTOR
		PERCPU_X86_CS_ENTER_AND_GATE
		"movq (%[st]), %%rcx\n\t"
		"movq (%[n]), %%rdx\n\t"
		"cmpq %%rdx, %%rcx\n\t"
		"jge 9f\n\t"
		"movq %%rcx, %%rdx\n\t"
		"9: testq %%rdx, %%rdx\n\t"
		"jle %l[changed]\n\t"
		PERCPU_X86_DELAY(4)
		"movq %%rcx, %%rdi\n\t"
		"subq %%rdx, %%rdi\n\t"
		"leaq 16(%[st],%%rdi,8), %%rdi\n\t"
		"movq %%rdx, %%rax\n\t"
		"8: movq -8(%%rdi,%%rax,8), %%rsi\n\t"
		"movq %%rsi, -8(%[out],%%rax,8)\n\t"
		"decq %%rax\n\t"
		"jnz 8b\n\t"
		PERCPU_X86_DELAY(5)
		PERCPU_X86_TWICE_CPU
		PERCPU_X86_TWICE_AT("rcx", "st")
		"subq %%rdx, %%rcx\n\t"
		"movq %%rcx, (%[st])\n\t"
		"2:\n\t"
		"movq %%rdx, (%[n])\n\t"
		PERCPU_X86_CS_ABORT_HANDLER
		:
		: [off] "r"(h->area), [id] "r"(h->id), [cpu] "r"(h->cpu),
		  [gate] "m"(*gate), [st] "r"(st), [out] "r"(out),
		  [n] "r"(n)
		: "memory", "cc", "rax", "rcx", "rdx", "rsi", "rdi"
		: abort, moved, diverted, changed);
	PERCPU_CS_RETURN_CHANGED;
}

#endif
