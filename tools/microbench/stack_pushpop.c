// SPDX-License-Identifier: MIT
/*
 * tools/microbench/stack_pushpop.c: ns per push+pop pair of the pointer
 * stack's paths beside the list's, one thread, in one run. `make` builds
 * it; run it pinned:
 *
 *   taskset -c 1 build/stack_pushpop [rounds [pairs]]
 *
 * A hot loop's speed here moves by up to 2x with its code placement alone,
 * so each loop exists in 8 copies, each function aligned to 64 bytes with
 * 0, 8, ..., 56 bytes of nops before its loop. Rounds alternate over the
 * rows and placements; a placement's figure is its median over the
 * rounds, a row's the median over its 8 placements (the mean of the
 * middle two), printed with the fastest and slowest placement.
 *
 * Rows: list (percpu_list_push + percpu_list_pop); push1 (percpu_stack_
 * push1 + percpu_stack_pop1); n1 (percpu_stack_push + percpu_stack_pop of
 * n = 1); old1 (the stack's code before the one-pointer sections:
 * percpu_load, then percpu_memcpy_store, whose section copies with rep
 * movsb); nv1 (push and pop of an n = 1 the compiler does not know: the
 * small-batch section); n8 and old8, the same as n1 and old1 for batches
 * of 8 pointers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <percpu.h>

#define OPS 200000L		/* pairs per timed loop, by default */
#define PLACES 8
#define MAX_ROUNDS 64
#define INLINE static inline __attribute__((always_inline))

static struct percpu_stack *stk;
static struct percpu_list *list;
static struct percpu_list_node nodes[8];
static volatile size_t one = 1;	/* a batch of 1 not known to the compiler */
static size_t run_time_one;

/* The stack's push and pop as they were: load, compare, block copy. */
INLINE size_t old_push(void *const *ptrs, size_t n)
{
	for (;;) {
		int sh;
		intptr_t count = percpu_load(&stk->count, &sh);
		struct percpu_stack *mine = percpu_ptr(stk, sh);
		size_t room = (size_t)(mine->capacity - count);
		size_t k = n < room ? n : room;

		if (percpu_memcpy_store_release(&stk->count, sh, count,
						count + (intptr_t)k,
						&mine->slot[count], ptrs,
						k * sizeof(void *)) == PERCPU_OK)
			return k;
	}
}

INLINE size_t old_pop(void **out, size_t n)
{
	for (;;) {
		int sh;
		intptr_t count = percpu_load(&stk->count, &sh);
		struct percpu_stack *mine = percpu_ptr(stk, sh);
		size_t k = n < (size_t)count ? n : (size_t)count;

		if (percpu_memcpy_store(&stk->count, sh, count,
					count - (intptr_t)k, out,
					&mine->slot[count - (intptr_t)k],
					k * sizeof(void *)) == PERCPU_OK)
			return k;
	}
}

/* Each body returns the pairs that did not move what they should. */
INLINE long body_list(long n)
{
	struct percpu_list_node *x = &nodes[0];
	long bad = 0;

	for (long i = 0; i < n; i++) {
		percpu_list_push(list, x);
		x = percpu_list_pop(list, NULL);
		bad += x != &nodes[0];
	}
	return bad;
}

INLINE long body_push1(long n)
{
	void *x = &nodes[0];
	long bad = 0;

	for (long i = 0; i < n; i++) {
		bad += !percpu_stack_push1(stk, x, NULL);
		x = percpu_stack_pop1(stk, NULL);
		bad += x != &nodes[0];
	}
	return bad;
}

INLINE long body_new(long n, size_t b)
{
	void *x[8];
	long bad = 0;

	for (size_t j = 0; j < b; j++)
		x[j] = &nodes[j];
	for (long i = 0; i < n; i++) {
		bad += percpu_stack_push(stk, x, b, NULL) != b;
		bad += percpu_stack_pop(stk, x, b, NULL) != b;
	}
	return bad;
}

INLINE long body_old(long n, size_t b)
{
	void *x[8];
	long bad = 0;

	for (size_t j = 0; j < b; j++)
		x[j] = &nodes[j];
	for (long i = 0; i < n; i++) {
		bad += old_push(x, b) != b;
		bad += old_pop(x, b) != b;
	}
	return bad;
}

#define PAD(N) __asm__ __volatile__(".if " #N "\n\t.skip " #N ", 0x90\n\t.endif")
#define PLACE(row, call, N)						\
	static __attribute__((noinline, aligned(64))) long row##_##N(long n) \
	{								\
		PAD(N);							\
		return call;						\
	}
#define PLACES_OF(row, call)						\
	PLACE(row, call, 0) PLACE(row, call, 8) PLACE(row, call, 16)	\
	PLACE(row, call, 24) PLACE(row, call, 32) PLACE(row, call, 40)	\
	PLACE(row, call, 48) PLACE(row, call, 56)			\
	static long (*const row##_at[PLACES])(long) = {			\
		row##_0, row##_8, row##_16, row##_24,			\
		row##_32, row##_40, row##_48, row##_56 };

PLACES_OF(list, body_list(n))
PLACES_OF(push1, body_push1(n))
PLACES_OF(n1, body_new(n, 1))
PLACES_OF(old1, body_old(n, 1))
PLACES_OF(nv1, body_new(n, run_time_one))
PLACES_OF(n8, body_new(n, 8))
PLACES_OF(old8, body_old(n, 8))

static const struct row {
	const char *name;
	long (*const *at)(long);
} rows[] = {
	{ "list", list_at }, { "push1", push1_at }, { "n1", n1_at },
	{ "old1", old1_at }, { "nv1", nv1_at }, { "n8", n8_at },
	{ "old8", old8_at },
};
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double t[NR_ROWS][PLACES][MAX_ROUNDS];

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 9;
	long ops = argc > 2 ? atol(argv[2]) : OPS;
	double med[NR_ROWS];

	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 9;
	if (ops < 1)
		ops = OPS;
	run_time_one = one;
	stk = percpu_stack_alloc(64);
	list = percpu_alloc(sizeof(*list));
	printf("# %s mode, %d rounds of %ld pairs; ns per push+pop pair\n",
	       percpu_mode_get(NULL) == PERCPU_MODE_RSEQ ? "rseq" : "lock",
	       rounds, ops);
	for (int k = 0; k < rounds; k++)
		for (int p = 0; p < PLACES; p++)
			for (size_t r = 0; r < NR_ROWS; r++) {
				double t0 = now_ns();

				if (rows[r].at[p](ops))
					printf("# %s: pairs that failed\n",
					       rows[r].name);
				t[r][p][k] = (now_ns() - t0) / ops;
			}
	for (size_t r = 0; r < NR_ROWS; r++) {
		double per[PLACES];

		printf("%-6s", rows[r].name);
		for (int p = 0; p < PLACES; p++) {
			per[p] = median(t[r][p], rounds);
			printf(" %6.2f", per[p]);
		}
		med[r] = median(per, PLACES);
		printf("   median %6.2f  (%.2f-%.2f)\n", med[r], per[0],
		       per[PLACES - 1]);
	}
	printf("push1/list %.2f  n1/list %.2f  old1/push1 %.2f  "
	       "nv1/push1 %.2f  old8/n8 %.2f\n", med[1] / med[0],
	       med[2] / med[0], med[3] / med[1], med[4] / med[1],
	       med[6] / med[5]);
	return 0;
}
