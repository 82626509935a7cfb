// SPDX-License-Identifier: MIT
/*
 * tests/env_gdb.c: the target tests/env/gdb.t single-steps. Each operation
 * runs once, in a function of its own (op_NAME) that also checks the result,
 * so the debugger can break there and step until it returns. Every step
 * aborts the rseq section being stepped; only the bounded retries, then the
 * lock path, let an operation finish. The thread stays on one CPU, so every
 * result is known exactly. With --stepped, each operation must also have
 * gone through the lock path: proof that the steps did abort the sections.
 */
#include <sched.h>
#include "tap.h"

/* Not inlined, cloned or merged, so gdb finds each one by its name. */
#ifdef __clang__
#define STEPPED __attribute__((noinline, used))
#else
#define STEPPED __attribute__((noipa, used))
#endif

enum { ADD, STORE, LOCK, CMP_P, CMP_Q, CS2_P, CS2_Q, COMMIT, NR_WORDS };

static struct {
	int cpu;
	intptr_t *w;
	struct percpu_list *list;
	struct percpu_list_node node;
	struct percpu_stack *stack;
	char dst[64];
} g;

static const char pattern[64] = "copied by percpu_memcpy_store under gdb";
static void *const ptrs[3] = { &g, &g.node, &g.dst };

static intptr_t at(int word)
{
	return *(intptr_t *)percpu_ptr(&g.w[word], g.cpu);
}

STEPPED int op_add(void)
{
	return percpu_add(&g.w[ADD], 5) == g.cpu && at(ADD) == 5;
}

STEPPED int op_fetch_add(void)
{
	int shard = -1;

	return percpu_fetch_add(&g.w[ADD], 3, &shard) == 5 && shard == g.cpu &&
	       at(ADD) == 8;
}

STEPPED int op_xchg(void)
{
	int shard = -1;

	return percpu_xchg(&g.w[ADD], 100, &shard) == 8 && shard == g.cpu &&
	       at(ADD) == 100;
}

STEPPED int op_store(void)
{
	return percpu_store(&g.w[STORE], 42) == g.cpu && at(STORE) == 42;
}

STEPPED int op_cas(void)
{
	int shard = -1;
	intptr_t v = percpu_load(&g.w[STORE], &shard);

	return v == 42 && shard == g.cpu &&
	       percpu_cas(&g.w[STORE], shard, 42, 43) == PERCPU_OK &&
	       at(STORE) == 43;
}

STEPPED int op_lock(void)
{
	int shard = percpu_lock(&g.w[LOCK]);
	int held = shard == g.cpu && at(LOCK) == 1;

	return percpu_unlock(&g.w[LOCK], shard) == 0 && held && at(LOCK) == 0;
}

STEPPED int op_cmp2_store(void)
{
	return percpu_cmp2_store(&g.w[CMP_P], g.cpu, 0, &g.w[CMP_Q], 7, 11) ==
		       PERCPU_OK && at(CMP_P) == 11;
}

STEPPED int op_cas_store2(void)
{
	return percpu_cas_store2(&g.w[CS2_P], g.cpu, 0, 1, &g.w[CS2_Q], 99) ==
		       PERCPU_OK && at(CS2_P) == 1 && at(CS2_Q) == 99;
}

STEPPED int op_memcpy_store(void)
{
	return percpu_memcpy_store(&g.w[COMMIT], g.cpu, 0, 1, g.dst, pattern,
				   sizeof(pattern)) == PERCPU_OK &&
	       at(COMMIT) == 1 && !memcmp(g.dst, pattern, sizeof(pattern));
}

STEPPED int op_list_push(void)
{
	struct percpu_list *mine = percpu_ptr(g.list, g.cpu);

	return percpu_list_push(g.list, &g.node) == g.cpu &&
	       mine->head == &g.node && g.node.next == NULL;
}

STEPPED int op_list_pop(void)
{
	struct percpu_list *mine = percpu_ptr(g.list, g.cpu);
	int shard = -1;

	return percpu_list_pop(g.list, &shard) == &g.node && shard == g.cpu &&
	       mine->head == NULL;
}

STEPPED int op_stack_push(void)
{
	struct percpu_stack *mine = percpu_ptr(g.stack, g.cpu);
	int shard = -1;

	return percpu_stack_push(g.stack, ptrs, 3, &shard) == 3 &&
	       shard == g.cpu && mine->count == 3;
}

STEPPED int op_stack_pop(void)
{
	struct percpu_stack *mine = percpu_ptr(g.stack, g.cpu);
	void *out[3] = { NULL, NULL, NULL };
	int shard = -1;

	return percpu_stack_pop(g.stack, out, 3, &shard) == 3 &&
	       shard == g.cpu && mine->count == 0 &&
	       !memcmp(out, ptrs, sizeof(out));
}

static const struct step {
	const char *name;
	int (*run)(void);
} steps[] = {
	{ "add", op_add },
	{ "fetch_add", op_fetch_add },
	{ "xchg", op_xchg },
	{ "store", op_store },
	{ "cas", op_cas },
	{ "lock/unlock", op_lock },
	{ "cmp2_store", op_cmp2_store },
	{ "cas_store2", op_cas_store2 },
	{ "memcpy_store", op_memcpy_store },
	{ "list push", op_list_push },
	{ "list pop", op_list_pop },
	{ "stack push", op_stack_push },
	{ "stack pop", op_stack_pop },
};

/* A thread on one CPU gets no PERCPU_MOVED and always the same shard. */
static void setup(void)
{
	cpu_set_t one;

	g.cpu = sched_getcpu();
	CPU_ZERO(&one);
	CPU_SET(g.cpu, &one);
	ok(sched_setaffinity(0, sizeof(one), &one) == 0, "pinned to CPU %d",
	   g.cpu);
	g.w = percpu_alloc(NR_WORDS * sizeof(intptr_t));
	g.list = percpu_alloc(sizeof(*g.list));
	g.stack = percpu_stack_alloc(8);
	ok(g.w && g.list && g.stack, "allocated");
	*(intptr_t *)percpu_ptr(&g.w[CMP_Q], g.cpu) = 7;
}

static void run_step(const struct step *s, int stepped)
{
	unsigned long locked = percpu_inject.lock_path_ops;
	unsigned long aborts = percpu_inject.rseq_aborts;
	int exact = s->run();

	locked = percpu_inject.lock_path_ops - locked;
	aborts = percpu_inject.rseq_aborts - aborts;
	ok(exact, "%s: exact result", s->name);
	tap_diag("%s: %lu rseq aborts, %lu lock-path operations", s->name,
		 aborts, locked);
	if (stepped)
		ok(locked >= 1, "%s: stepping sent it to the lock path",
		   s->name);
}

int main(int argc, char **argv)
{
	int stepped = argc > 1 && !strcmp(argv[1], "--stepped");

	tap_check_mode();
	setup();
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		run_step(&steps[i], stepped);
	printf("all done\n");
	return tap_done();
}
