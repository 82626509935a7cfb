// SPDX-License-Identifier: MIT
/*
 * tools/bench/rseq_raw.c: percpu-bench's raw rseq baselines, the physical
 * limit of the library's add, list_pushpop and cas rows. Sections written
 * here, not the library's: on glibc's rseq area (at __rseq_offset from the
 * thread pointer), each with its own descriptor and abort handler. They
 * index by cpu_id_start and compare cpu_id inside the section, so that a
 * thread not registered (cpu_id -1 or -2) never commits. What they leave
 * out, and the library cannot: the shard word (lock mode, the kill switch,
 * threads on the lock path beside them), a bound on retries, a slow path
 * for threads without rseq.
 *
 * Per-CPU data as the library lays it out: CPU k's copy of an object at
 * the same offset in the k-th stride of PERCPU_STRIDE bytes. When glibc did
 * not register rseq (GLIBC_TUNABLES=glibc.pthread.rseq=0, an old glibc, no
 * rseq in the kernel), raw_usable() says so and the rows are n/a.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "bench.h"

/* glibc 2.35 and later; weak, so that an older libc leaves them NULL. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

/* list: nodes each CPU's list starts with, as list_pushpop's. */
#define RAW_LIST_PREFILL 8
/* Where a CPU's copy of the objects lies in its stride: not at page
 * offset 0, which page-aligned data elsewhere shares (4K aliasing). */
#define RAW_OFFSET 64

/* A CPU's copy of the three objects, each 8 bytes, dense, as the
 * library's pool would place three 8-byte objects. */
struct raw_shard {
	intptr_t add;
	intptr_t loadcas;
	struct percpu_list_node *head;
};

/* A list node alone on its line, as list_pushpop's. */
struct raw_node {
	struct percpu_list_node link;
} __attribute__((aligned(CACHE_LINE)));

static struct {
	char *strides;		/* nr_cpus strides of PERCPU_STRIDE bytes */
	unsigned int nr_cpus;	/* possible CPUs: cpu_id_start is below */
	struct raw_node *nodes;	/* RAW_LIST_PREFILL per CPU, 1 per thread */
	unsigned int nr_nodes;
} raw;

static struct raw_shard *raw_shard(unsigned int cpu)
{
	return (struct raw_shard *)(raw.strides + RAW_OFFSET +
				    ((size_t)cpu << PERCPU_STRIDE_SHIFT));
}

/* 1 if glibc registered the calling thread's rseq area. */
int raw_usable(void)
{
#if defined(__x86_64__)
	int cpu_id;

	if (!&__rseq_offset || !&__rseq_size || __rseq_size == 0)
		return 0;
	__asm__ __volatile__("movl %%fs:4(%1), %0"
			     : "=r"(cpu_id) : "r"((long)__rseq_offset));
	return cpu_id >= 0;
#else
	return 0;
#endif
}

#if defined(__x86_64__)

/*
 * The section from label 1 to label 2, its abort handler at label 4. The
 * descriptor (struct rseq_cs: version and flags 0, start, length, abort)
 * goes into __rseq_cs, its address into __rseq_cs_ptr_array for
 * debuggers; the area's rseq_cs field (offset 8) gets it by the last
 * instruction before the section.
 */
#define RAW_ENTER							\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n"							\
	"3:\t.long 0, 0\n\t"						\
	".quad 1f, 2f - 1f, 4f\n\t"					\
	".popsection\n\t"						\
	".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"			\
	".quad 3b\n\t"							\
	".popsection\n\t"						\
	"leaq 3b(%%rip), %%rax\n\t"					\
	"movq %%rax, %%fs:8(%[area])\n"					\
	"1:\t"

/* The abort handler, out of line: the 4 bytes before it hold the
 * signature 0x53053053, as the displacement of a ud1 instruction so that
 * disassemblers stay in step. */
#define RAW_ABORT(label)						\
	".pushsection __rseq_failure, \"ax\"\n\t"			\
	".byte 0x0f, 0xb9, 0x3d\n\t"					\
	".long 0x53053053\n"						\
	"4:\tjmp %l[" label "]\n\t"					\
	".popsection\n\t"

/* CPU cpu's copy of the objects whose CPU 0 copy is at `first`: the
 * callers keep `first` in a register, as they keep the area's offset. */
ALWAYS_INLINE struct raw_shard *raw_at(char *first, unsigned int cpu)
{
	return (struct raw_shard *)(first + ((size_t)cpu << PERCPU_STRIDE_SHIFT));
}

/* The area's cpu_id_start: a valid CPU, even when not registered. */
ALWAYS_INLINE unsigned int raw_cpu_start(long area)
{
	unsigned int cpu;

	__asm__ __volatile__("movl %%fs:(%1), %0" : "=r"(cpu) : "r"(area));
	return cpu;
}

/* A thread glibc did not register would retry for ever: stop instead. */
static void raw_check_thread(long area)
{
	int cpu_id;

	__asm__ __volatile__("movl %%fs:4(%1), %0" : "=r"(cpu_id) : "r"(area));
	if (cpu_id < 0)
		die("baseline_rseq_raw: a thread without rseq (cpu_id %d)",
		    cpu_id);
}

/*
 * add: read cpu_id_start, compare cpu_id with it, add to that CPU's word
 * with one addq, which commits. The index is computed inside the section,
 * and the word's address in one register, as the library's add has it
 * (x86_64.h says why).
 * WORD_CHECK, in the variant that has it, is the one thing the library's
 * section adds for its contract: load this CPU's shard word (`word` is
 * CPU 0's) and leave unless it is 0.
 */
#define RAW_ADD_SECTION(WORD_CHECK)					\
	__asm__ __volatile__ goto(					\
		RAW_ENTER						\
		"movl %%fs:(%[area]), %%ecx\n\t"			\
		"cmpl %%ecx, %%fs:4(%[area])\n\t"			\
		"jnz %l[again]\n\t"					\
		"movq %[first], %%rax\n\t"				\
		"shlq %[shift], %%rcx\n\t"				\
		WORD_CHECK						\
		"addq %%rcx, %%rax\n\t"				\
		"addq %[v], (%%rax)\n"					\
		"2:\n\t"						\
		RAW_ABORT("again")					\
		:							\
		: [area] "r"(area), [first] "r"(first), [word] "r"(word), \
		  [shift] "i"(PERCPU_STRIDE_SHIFT), [v] "er"(v)	\
		: "memory", "cc", "rax", "rcx"				\
		: again)

ALWAYS_INLINE void raw_add(long area, char *first, intptr_t v)
{
	char *word = NULL;

	for (;;) {
		RAW_ADD_SECTION("");
		return;
again:;
	}
}

ALWAYS_INLINE void raw_add_word(long area, char *first, char *word,
				intptr_t v)
{
	for (;;) {
		RAW_ADD_SECTION("cmpq $0, (%[word], %%rcx)\n\t"
				"jnz %l[again]\n\t");
		return;
again:;
	}
}

/*
 * list push and pop, the library's sections without the shard word, and
 * (the _word variants) with it: WORD_CHECK loads this CPU's shard word
 * (`word` is CPU 0's) and leaves unless it is 0, as for add.
 * push: compare cpu_id with the CPU read before, link the node to the
 * head, store the node as the head (the commit).
 * pop: compare cpu_id, load the head (NULL: empty), load its next, store
 * that as the head (the commit); the node popped goes out through memory
 * after the commit. The head is addressed through one register, as in
 * the library's sections (percpu/arch/x86_64.h says why).
 */
#define RAW_LIST_WORD_CHECK						\
	"cmpq $0, %[word]\n\t"					\
	"jnz %l[again]\n\t"

#define RAW_PUSH_SECTION(WORD_CHECK)					\
	__asm__ __volatile__ goto(					\
		RAW_ENTER						\
		"cmpl %[cpu], %%fs:4(%[area])\n\t"			\
		"jnz %l[again]\n\t"					\
		WORD_CHECK						\
		"movq (%[head]), %%rcx\n\t"				\
		"movq %%rcx, (%[node])\n\t"				\
		"movq %[node], (%[head])\n"				\
		"2:\n\t"						\
		RAW_ABORT("again")					\
		:							\
		: [area] "r"(area), [cpu] "r"(cpu), [head] "r"(head),	\
		  [node] "r"(node), [word] "m"(*(intptr_t *)(word + at)) \
		: "memory", "cc", "rax", "rcx"				\
		: again)

#define RAW_POP_SECTION(WORD_CHECK)					\
	__asm__ __volatile__ goto(					\
		RAW_ENTER						\
		"cmpl %[cpu], %%fs:4(%[area])\n\t"			\
		"jnz %l[again]\n\t"					\
		WORD_CHECK						\
		"movq (%[head]), %%rcx\n\t"				\
		"testq %%rcx, %%rcx\n\t"				\
		"jz %l[empty]\n\t"					\
		"movq (%%rcx), %%rdx\n\t"				\
		"movq %%rdx, (%[head])\n"				\
		"2:\n\t"						\
		"movq %%rcx, (%[out])\n\t"				\
		RAW_ABORT("again")					\
		:							\
		: [area] "r"(area), [cpu] "r"(cpu), [head] "r"(head),	\
		  [out] "r"(&node), [word] "m"(*(intptr_t *)(word + at)) \
		: "memory", "cc", "rax", "rcx", "rdx"			\
		: again, empty)

/* The push and pop of one variant: NAME_push, NAME_pop. The variant
 * without the check is given `first` as `word`: its unused operand then
 * needs no register of its own. */
#define RAW_LIST_OPS(NAME, WORD_CHECK)					\
ALWAYS_INLINE void NAME##_push(long area, char *first, char *word,	\
			       struct percpu_list_node *node)		\
{									\
	for (;;) {							\
		unsigned int cpu = raw_cpu_start(area);			\
		size_t at = (size_t)cpu << PERCPU_STRIDE_SHIFT;		\
		struct percpu_list_node **head = &raw_at(first, cpu)->head; \
									\
		RAW_PUSH_SECTION(WORD_CHECK);				\
		return;							\
again:;									\
	}								\
}									\
									\
ALWAYS_INLINE struct percpu_list_node *NAME##_pop(long area, char *first, \
						  char *word)		\
{									\
	for (;;) {							\
		unsigned int cpu = raw_cpu_start(area);			\
		size_t at = (size_t)cpu << PERCPU_STRIDE_SHIFT;		\
		struct percpu_list_node **head = &raw_at(first, cpu)->head; \
		struct percpu_list_node *node;				\
									\
		RAW_POP_SECTION(WORD_CHECK);				\
		return node;						\
again:									\
		continue;						\
empty:									\
		return NULL;						\
	}								\
}

/*
 * load + cas increment: read cpu_id_start, load that CPU's word, then a
 * section that compares cpu_id and the word and stores the word + 1 (the
 * commit); retried until it commits. WORD_CHECK as for add, with the
 * index in %[off].
 */
#define RAW_LOADCAS_INCREMENT(WORD_CHECK)				\
	for (;;) {							\
		unsigned int cpu = raw_cpu_start(area);			\
		size_t off = (size_t)cpu << PERCPU_STRIDE_SHIFT;	\
		intptr_t *p = &raw_at(first, cpu)->loadcas;		\
		intptr_t v = __atomic_load_n(p, __ATOMIC_RELAXED);	\
									\
		__asm__ __volatile__ goto(				\
			RAW_ENTER					\
			"cmpl %[cpu], %%fs:4(%[area])\n\t"		\
			"jnz %l[again]\n\t"				\
			WORD_CHECK					\
			"cmpq %[v], %[p]\n\t"				\
			"jnz %l[again]\n\t"				\
			"movq %[next], %[p]\n"				\
			"2:\n\t"					\
			RAW_ABORT("again")				\
			:						\
			: [area] "r"(area), [cpu] "r"(cpu), [p] "m"(*p), \
			  [v] "r"(v), [next] "r"(v + 1), [word] "r"(word), \
			  [off] "r"(off)				\
			: "memory", "cc", "rax"				\
			: again);					\
		return;							\
again:;									\
	}

/* Given `first` as `word`, as the list's variant without the check: the
 * unused operand then needs no register of its own. */
ALWAYS_INLINE void raw_loadcas_increment(long area, char *first, char *word)
{
	RAW_LOADCAS_INCREMENT("");
}

ALWAYS_INLINE void raw_loadcas_word_increment(long area, char *first,
					      char *word)
{
	RAW_LOADCAS_INCREMENT("cmpq $0, (%[word], %[off])\n\t"
			      "jnz %l[again]\n\t");
}

#else	/* no sections here: raw_usable() is 0 and the loops never run */

ALWAYS_INLINE unsigned int raw_cpu_start(long area)
{
	(void)area;
	return 0;
}

static void raw_check_thread(long area)
{
	(void)area;
	die("baseline_rseq_raw: no rseq sections for this architecture");
}

ALWAYS_INLINE void raw_add(long area, char *first, intptr_t v)
{
	(void)area;
	*(intptr_t *)first += v;
}

ALWAYS_INLINE void raw_add_word(long area, char *first, char *word,
				intptr_t v)
{
	(void)area;
	(void)word;
	*(intptr_t *)first += v;
}

#define RAW_LIST_WORD_CHECK ""
#define RAW_LIST_OPS(NAME, WORD_CHECK)					\
ALWAYS_INLINE void NAME##_push(long area, char *first, char *word,	\
			       struct percpu_list_node *node)		\
{									\
	(void)area;							\
	(void)first;							\
	(void)word;							\
	(void)node;							\
}									\
									\
ALWAYS_INLINE struct percpu_list_node *NAME##_pop(long area, char *first, \
						  char *word)		\
{									\
	(void)area;							\
	(void)first;							\
	(void)word;							\
	return NULL;							\
}

ALWAYS_INLINE void raw_loadcas_increment(long area, char *first, char *word)
{
	(void)area;
	(void)first;
	(void)word;
}

ALWAYS_INLINE void raw_loadcas_word_increment(long area, char *first,
					      char *word)
{
	(void)area;
	(void)first;
	(void)word;
}

#endif

RAW_LIST_OPS(raw_list, "")
RAW_LIST_OPS(raw_list_word, RAW_LIST_WORD_CHECK)

/* ---- the rows ---- */

void reset_raw(void)
{
	for (unsigned int c = 0; c < raw.nr_cpus; c++) {
		raw_shard(c)->add = 0;
		raw_shard(c)->loadcas = 0;
	}
}

TIMED_LOOP loop_raw_add(void)
{
	long area = (long)__rseq_offset;
	char *first = (char *)&raw_shard(0)->add;
	uint64_t ops = 0;

	raw_check_thread(area);
	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			raw_add(area, first, 1);
		ops += BATCH;
	}
	return ops;
}
PLACED(loop_raw_add);

uint64_t sum_raw_add(void)
{
	intptr_t sum = 0;

	for (unsigned int c = 0; c < raw.nr_cpus; c++)
		sum += raw_shard(c)->add;
	return (uint64_t)sum;
}

/* CPU 0's shard word of the add_word row: where the library puts its
 * words in their stride, on the page's last line; always 0 here. */
#define RAW_WORD_OFFSET (4096 - CACHE_LINE)

TIMED_LOOP loop_raw_add_word(void)
{
	long area = (long)__rseq_offset;
	char *first = (char *)&raw_shard(0)->add;
	char *word = raw.strides + RAW_WORD_OFFSET;
	uint64_t ops = 0;

	raw_check_thread(area);
	while (!should_stop()) {
		for (unsigned int i = 0; i < BATCH; i++)
			raw_add_word(area, first, word, 1);
		ops += BATCH;
	}
	return ops;
}
PLACED(loop_raw_add_word);

/* The load+cas rows: NAME's loop, with WORD as CPU 0's shard word. */
#define RAW_LOADCAS_LOOP(NAME, WORD)					\
TIMED_LOOP loop_##NAME(void)						\
{									\
	long area = (long)__rseq_offset;				\
	char *first = (char *)raw_shard(0);				\
	char *word = (WORD);						\
	uint64_t ops = 0;						\
									\
	raw_check_thread(area);						\
	while (!should_stop()) {					\
		for (unsigned int i = 0; i < BATCH; i++)		\
			NAME##_increment(area, first, word);		\
		ops += BATCH;						\
	}								\
	return ops;							\
}									\
PLACED(loop_##NAME)

RAW_LOADCAS_LOOP(raw_loadcas, first);
RAW_LOADCAS_LOOP(raw_loadcas_word, raw.strides + RAW_WORD_OFFSET);

uint64_t sum_raw_loadcas(void)
{
	intptr_t sum = 0;

	for (unsigned int c = 0; c < raw.nr_cpus; c++)
		sum += raw_shard(c)->loadcas;
	return (uint64_t)sum;
}

/* Nodes in play: the CPUs' and one per thread of the run. */
static unsigned int raw_nodes_in_play(void)
{
	return raw.nr_cpus * RAW_LIST_PREFILL + run.nr_threads;
}

void reset_raw_list(void)
{
	for (unsigned int c = 0; c < raw.nr_cpus; c++) {
		struct raw_node *n = &raw.nodes[c * RAW_LIST_PREFILL];

		raw_shard(c)->head = NULL;
		for (int i = 0; i < RAW_LIST_PREFILL; i++) {
			n[i].link.next = raw_shard(c)->head;
			raw_shard(c)->head = &n[i].link;
		}
	}
}

/* As list_pushpop: push the node held, pop the top; a pop that found the
 * list empty leaves the thread without a node, its next pair is empty.
 * NAME_push and NAME_pop, with WORD as CPU 0's shard word. */
#define RAW_LIST_LOOP(NAME, WORD)					\
TIMED_LOOP loop_##NAME(void)						\
{									\
	struct thread_state *me = take_thread_state();			\
	long area = (long)__rseq_offset;				\
	char *first = (char *)raw_shard(0);				\
	char *word = (WORD);						\
	struct percpu_list_node *n =					\
		&raw.nodes[raw_nodes_in_play() - 1 - (me - run.threads)].link; \
	uint64_t ops = 0, empty = 0;					\
									\
	raw_check_thread(area);						\
	while (!should_stop()) {					\
		for (unsigned int i = 0; i < BATCH; i++) {		\
			if (PERCPU_LIKELY(n != NULL))			\
				NAME##_push(area, first, word, n);	\
			else						\
				empty++;				\
			n = NAME##_pop(area, first, word);		\
		}							\
		ops += BATCH;						\
	}								\
	me->count = ops;						\
	me->empty = empty;						\
	me->node = n;							\
	return ops;							\
}									\
PLACED(loop_##NAME)

RAW_LIST_LOOP(raw_list, first);
RAW_LIST_LOOP(raw_list_word, raw.strides + RAW_WORD_OFFSET);

/* Marks a node; 0 if it is not one in play or was seen already. */
static int raw_see(unsigned char *seen, const struct percpu_list_node *n)
{
	uintptr_t at = (uintptr_t)n - (uintptr_t)raw.nodes;
	size_t i = at / sizeof(*raw.nodes);

	if (at % sizeof(*raw.nodes) || i >= raw_nodes_in_play() || seen[i])
		return 0;
	seen[i] = 1;
	return 1;
}

/* Every node on one list or held by one thread, once. */
uint64_t check_raw_list(void)
{
	unsigned char *seen = calloc(raw_nodes_in_play(), 1);
	unsigned int found = 0;
	uint64_t ops = total_counted(), empty = 0;

	if (!seen)
		die("out of memory");
	for (unsigned int c = 0; c < raw.nr_cpus; c++)
		for (struct percpu_list_node *n = raw_shard(c)->head; n;
		     n = n->next, found++)
			if (!raw_see(seen, n))
				die("baseline_rseq_raw_list: CPU %u's list "
				    "holds a foreign or repeated node", c);
	for (unsigned int t = 0; t < run.nr_threads; t++) {
		const struct percpu_list_node *n = run.threads[t].node;

		if (n && !raw_see(seen, n))
			die("baseline_rseq_raw_list: thread %u holds a "
			    "foreign or repeated node", t);
		found += n != NULL;
		empty += run.threads[t].empty;
	}
	free(seen);
	if (found != raw_nodes_in_play())
		die("baseline_rseq_raw_list: %u of %u nodes found", found,
		    raw_nodes_in_play());
	run.empty = ops ? (double)empty / (double)ops : 0;
	return ops;
}

/* The strides are reserved, and touched only where a CPU's copy lies. */
void setup_raw(size_t most_threads)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };
	size_t len;

	percpu_runtime_info_get(&info);
	raw.nr_cpus = (unsigned int)info.nr_possible_cpus;
	len = (size_t)raw.nr_cpus << PERCPU_STRIDE_SHIFT;
	raw.strides = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	raw.nr_nodes = raw.nr_cpus * RAW_LIST_PREFILL +
		       (unsigned int)most_threads;
	raw.nodes = aligned_alloc(CACHE_LINE,
				  raw.nr_nodes * sizeof(*raw.nodes));
	if (raw.strides == MAP_FAILED || !raw.nodes)
		die("out of memory");
}
