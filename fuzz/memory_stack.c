// SPDX-License-Identifier: MIT
/*
 * fuzz/memory_stack.c: libFuzzer harness for the memory and stack API.
 * The input is a sequence of operations, an opcode byte each followed by
 * its operands: percpu_alloc, _alloc_init and percpu_free with fuzzed
 * sizes (0, huge, and pointers that are not objects), percpu_ptr on
 * fuzzed shards, percpu_stack alloc, push, pop, push1, pop1 and drain
 * with fuzzed n (0 with NULL arrays too) and shards, list push and pop,
 * percpu_memcpy_store with fuzzed lengths, and a switch of this thread to
 * the lock path (mixed mode within one thread).
 *
 * One thread runs them, so a model of what each shard's stack and list
 * holds is exact: every call's result is checked against it (counts,
 * order, capacity, the 512-pointer limit of one push or pop), each
 * shard's count and capacity after every operation, and each
 * pointer pushed must come back exactly once, by pop or by the drain at
 * the end of the input. Errors must be -1 or NULL with errno as the
 * headers document. A broken invariant aborts: libFuzzer keeps the input.
 * PERCPU_DISABLE_RSEQ=1 in the environment fuzzes lock mode (leases).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <percpu.h>
#include "lib/harness.h"

#define OBJECTS 8
#define STACKS 2
#define LISTS 2
#define TOKENS 4096
#define NODES 256
#define MAX_OPS 512
/* Valid capacities the harness makes: larger ones only at the maximum. */
#define CAP_FUZZ 1024
#define MAX_N 1100
#define BLOCK_MAX (PERCPU_MEMCPY_MAX / sizeof(void *))
#define STACK_CAP_MAX \
	((PERCPU_ALLOC_MAX - sizeof(struct percpu_stack)) / sizeof(void *))

struct input {
	const uint8_t *p;
	size_t n;
};

/* Operands past the end of the input read as 0. */
static unsigned int take8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static unsigned int take16(struct input *in)
{
	return take8(in) | take8(in) << 8;
}

/* A LIFO per shard: what the model says a stack or list there holds. */
struct lifo {
	unsigned int *item;	/* nr_shards * cap */
	size_t *count;		/* per shard */
	size_t cap;
};

static struct {
	int nr;				/* shards */
	char *obj[OBJECTS];
	size_t size[OBJECTS];
	void *stale;			/* freed, nothing allocated since */
	struct percpu_stack *stack[STACKS];
	struct lifo stack_model[STACKS];
	struct percpu_list *list[LISTS];
	struct lifo list_model[LISTS];
	intptr_t *word;			/* percpu_memcpy_store's commit */
	unsigned char in_use[TOKENS];	/* token i pushed, not yet back */
	unsigned char node_in[NODES];
	unsigned int cursor;		/* where the next free token is sought */
} st;

static char token_mem[TOKENS];
static struct percpu_list_node nodes[NODES];

static int lifo_init(struct lifo *l, size_t cap)
{
	l->cap = cap;
	l->item = calloc((size_t)st.nr * cap, sizeof(*l->item));
	l->count = calloc((size_t)st.nr, sizeof(*l->count));
	return l->item && l->count;
}

static void lifo_fini(struct lifo *l)
{
	free(l->item);
	free(l->count);
	*l = (struct lifo){ 0 };
}

static unsigned int *lifo_at(const struct lifo *l, int shard, size_t i)
{
	return &l->item[(size_t)shard * l->cap + i];
}

static int shard_ok(int shard)
{
	return shard >= 0 && shard < st.nr;
}

/* A shard out of range, as a caller might pass one. */
static int bad_shard(unsigned int v)
{
	static const int bad[] = { -1, INT_MIN, INT_MAX };

	return v % 4 == 3 ? st.nr + (int)(v % 64) : bad[v % 4];
}

static size_t align_of_size(size_t size)
{
	size_t a = 1;

	while (a < size && a < 4096)
		a <<= 1;
	return a;
}

/* Whether every shard's copy of p reads as zero over `size` bytes. */
static int all_zero(char *p, size_t size)
{
	for (int s = 0; s < st.nr; s++) {
		const char *q = percpu_ptr(p, s);

		if (q[0] || (size > 1 && memcmp(q, q + 1, size - 1)))
			return 0;
	}
	return 1;
}

static unsigned char tag_of(int i, int shard)
{
	return (unsigned char)(i * 31 + shard + 1);
}

/* First and last byte of each copy: an overlapping object overwrites. */
static void tag(int i, int check)
{
	for (int s = 0; s < st.nr; s++) {
		unsigned char *q = (unsigned char *)percpu_ptr(st.obj[i], s);
		unsigned char t = tag_of(i, s);

		if (check)
			CHECK(q[0] == t && q[st.size[i] - 1] == t,
			      "object %d, shard %d: tag overwritten", i, s);
		q[0] = q[st.size[i] - 1] = t;
	}
}

/* Sizes 0, above PERCPU_ALLOC_MAX, at it, and spread over 1..64 KiB. */
static size_t fuzz_size(struct input *in)
{
	unsigned int c = take8(in), v = take16(in);

	switch (c % 8) {
	case 0:
		return 0;
	case 1:
		return PERCPU_ALLOC_MAX + 1 + v;
	case 2:
		return SIZE_MAX - v;
	case 3:
		return PERCPU_ALLOC_MAX - v % 4096;
	default:
		return 1 + v % ((size_t)1 << (1 + c / 8 % 16));
	}
}

static void check_new_object(char *p, size_t size, const char *init)
{
	CHECK((uintptr_t)p % align_of_size(size) == 0,
	      "alloc(%zu): %p misaligned", size, (void *)p);
	for (int s = 0; init && s < st.nr; s++)
		CHECK(!memcmp(percpu_ptr(p, s), init, size),
		      "alloc_init(%zu): shard %d not copied", size, s);
	CHECK(init || all_zero(p, size), "alloc(%zu): not zeroed", size);
}

static void keep_object(int i, char *p, size_t size, const char *init)
{
	st.stale = NULL;
	check_new_object(p, size, init);
	st.obj[i] = p;
	st.size[i] = size;
	tag(i, 0);
}

static void op_alloc(struct input *in)
{
	int i = (int)(take8(in) % OBJECTS);
	size_t size = fuzz_size(in);
	int bad = size == 0 || size > PERCPU_ALLOC_MAX;
	char *p;

	if (st.obj[i])
		return;
	errno = 0;
	p = percpu_alloc(size);
	CHECK(bad ? !p && errno == EINVAL : p || errno == ENOMEM,
	      "alloc(%zu): %p, errno %d", size, (void *)p, errno);
	if (p)
		keep_object(i, p, size, NULL);
}

/* An init buffer of exactly `size` bytes (ASan sees a read past it), or
 * none: EINVAL. */
static void op_alloc_init(struct input *in)
{
	int i = (int)(take8(in) % OBJECTS);
	unsigned int c = take8(in);
	size_t size = fuzz_size(in);
	char *init = c % 8 && size <= PERCPU_ALLOC_MAX ? malloc(size + !size) :
							 NULL;
	int bad = !init || size == 0 || size > PERCPU_ALLOC_MAX;
	char *p;

	if (st.obj[i]) {
		free(init);
		return;
	}
	if (init)
		memset(init, (int)c, size);
	errno = 0;
	p = percpu_alloc_init(size, init);
	CHECK(bad ? !p && errno == EINVAL : p || errno == ENOMEM,
	      "alloc_init(%zu, %p): %p, errno %d", size, (void *)init,
	      (void *)p, errno);
	if (p)
		keep_object(i, p, size, init);
	free(init);
}

static void op_free(struct input *in)
{
	int i = (int)(take8(in) % OBJECTS);

	if (!st.obj[i])
		return;
	tag(i, 1);
	CHECK(percpu_free(st.obj[i]) == 0, "free of object %d", i);
	st.stale = st.obj[i];
	st.obj[i] = NULL;
}

/* Inside an object, another shard's copy, the stack, a double free. */
static void op_free_bad(struct input *in)
{
	unsigned int c = take8(in), v = take16(in);
	int i = (int)(c / 4 % OBJECTS);
	char local;
	char *p = &local;

	if (c % 4 == 0 && st.obj[i] && st.size[i] > 1)
		p = st.obj[i] + 1 + v % (st.size[i] - 1);
	else if (c % 4 == 1 && st.obj[i] && st.nr > 1)
		p = st.obj[i] + PERCPU_STRIDE;
	else if (c % 4 == 2 && st.stale)
		p = st.stale;
	errno = 0;
	CHECK(percpu_free(p) == -1 && errno == EINVAL,
	      "free(%p), not an object: errno %d", (void *)p, errno);
	CHECK(percpu_free(NULL) == 0, "free(NULL)");
}

static void op_ptr(struct input *in)
{
	int i = (int)(take8(in) % OBJECTS);
	unsigned int v = take8(in);
	int shard;

	if (!st.obj[i])
		return;
	shard = v < 0x80 ? (int)(v % (unsigned int)st.nr) : bad_shard(v);
	errno = 0;
	if (shard_ok(shard))
		CHECK(percpu_ptr(st.obj[i], shard) ==
			      st.obj[i] + (size_t)shard * PERCPU_STRIDE,
		      "percpu_ptr(%d)", shard);
	else
		CHECK(!percpu_ptr(st.obj[i], shard) && errno == EINVAL,
		      "percpu_ptr(%d) out of range", shard);
}

static size_t fuzz_capacity(struct input *in)
{
	unsigned int c = take8(in), v = take16(in);

	switch (c % 8) {
	case 0:
		return 0;
	case 1:
		return STACK_CAP_MAX + 1 + v;
	case 2:
		return SIZE_MAX / (1 + v);
	case 3:
		return STACK_CAP_MAX;
	default:
		return 1 + v % CAP_FUZZ;
	}
}

static void op_stack_new(struct input *in)
{
	int i = (int)(take8(in) % STACKS);
	size_t cap = fuzz_capacity(in);
	int bad = cap == 0 || cap > STACK_CAP_MAX;
	struct percpu_stack *s;

	if (st.stack[i])
		return;
	errno = 0;
	s = percpu_stack_alloc(cap);
	CHECK(bad ? !s && errno == EINVAL : s || errno == ENOMEM,
	      "stack_alloc(%zu): errno %d", cap, errno);
	if (!s)
		return;
	st.stale = NULL;
	CHECK(lifo_init(&st.stack_model[i], cap), "model: out of memory");
	st.stack[i] = s;
}

/* The pointers a stack held are gone with it: their tokens are free. */
static void stack_free(int i)
{
	struct lifo *l = &st.stack_model[i];

	for (int s = 0; s < st.nr; s++)
		for (size_t k = 0; k < l->count[s]; k++)
			st.in_use[*lifo_at(l, s, k)] = 0;
	lifo_fini(l);
	CHECK(percpu_free(st.stack[i]) == 0, "free of stack %d", i);
	st.stack[i] = NULL;
}

static void op_stack_free(struct input *in)
{
	int i = (int)(take8(in) % STACKS);

	if (st.stack[i])
		stack_free(i);
}

/* Up to n tokens not pushed; returns how many were found. */
static size_t free_tokens(void **out, size_t n)
{
	size_t k = 0;

	for (unsigned int tries = 0; k < n && tries < TOKENS; tries++) {
		unsigned int t = st.cursor++ % TOKENS;

		if (!st.in_use[t])
			out[k++] = &token_mem[t];
	}
	return k;
}

static unsigned int token_index(const void *p)
{
	const char *c = p;

	CHECK(c >= token_mem && c < token_mem + TOKENS, "%p is no token", p);
	return (unsigned int)(c - token_mem);
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* n: 0 (with a NULL array), 1..8 (the small sections), or up to MAX_N. */
static size_t fuzz_n(struct input *in)
{
	unsigned int c = take8(in), v = take16(in);

	return c % 4 == 0 ? 0 : c % 4 == 1 ? 1 + v % 8 : v % (MAX_N + 1);
}

static void model_push(int i, int shard, void *const *ptrs, size_t k)
{
	struct lifo *l = &st.stack_model[i];

	for (size_t j = 0; j < k; j++) {
		unsigned int t = token_index(ptrs[j]);

		st.in_use[t] = 1;
		*lifo_at(l, shard, l->count[shard]++) = t;
	}
}

/* The top k of the model, in push order, must be out[0..k). */
static void model_pop(int i, int shard, void *const *out, size_t k,
		      const char *what)
{
	struct lifo *l = &st.stack_model[i];
	size_t base = l->count[shard] - k;

	for (size_t j = 0; j < k; j++) {
		unsigned int t = token_index(out[j]);

		CHECK(t == *lifo_at(l, shard, base + j) && st.in_use[t],
		      "%s: stack %d shard %d: slot %zu holds token %u", what,
		      i, shard, base + j, t);
		st.in_use[t] = 0;
	}
	l->count[shard] = base;
}

static void op_push(struct input *in)
{
	int i = (int)(take8(in) % STACKS), shard = -1;
	size_t n = fuzz_n(in), k, want;
	void **ptrs = n ? malloc(n * sizeof(void *)) : NULL;

	CHECK(!n || ptrs, "model: out of memory");
	if (!st.stack[i]) {
		free(ptrs);
		return;
	}
	n = free_tokens(ptrs, n);
	k = percpu_stack_push(st.stack[i], n ? ptrs : NULL, n, &shard);
	CHECK(shard_ok(shard), "push: shard %d", shard);
	want = min3(n, st.stack_model[i].cap - st.stack_model[i].count[shard],
		    BLOCK_MAX);
	CHECK(k == want, "push of %zu on shard %d: %zu, not %zu", n, shard, k,
	      want);
	model_push(i, shard, ptrs, k);
	free(ptrs);
}

static void op_pop(struct input *in)
{
	int i = (int)(take8(in) % STACKS), shard = -1;
	size_t n = fuzz_n(in), k, want;
	void **out = n ? malloc(n * sizeof(void *)) : NULL;

	CHECK(!n || out, "model: out of memory");
	if (!st.stack[i]) {
		free(out);
		return;
	}
	k = percpu_stack_pop(st.stack[i], out, n, &shard);
	CHECK(shard_ok(shard), "pop: shard %d", shard);
	want = min3(n, st.stack_model[i].count[shard], BLOCK_MAX);
	CHECK(k == want, "pop of %zu on shard %d: %zu, not %zu", n, shard, k,
	      want);
	model_pop(i, shard, out, k, "pop");
	free(out);
}

static void op_push1(struct input *in)
{
	int i = (int)(take8(in) % STACKS), shard = -1, r;
	void *p;

	if (!st.stack[i] || !free_tokens(&p, 1))
		return;
	r = percpu_stack_push1(st.stack[i], p, &shard);
	CHECK(shard_ok(shard), "push1: shard %d", shard);
	CHECK(r == (st.stack_model[i].count[shard] < st.stack_model[i].cap),
	      "push1 on shard %d: %d", shard, r);
	model_push(i, shard, &p, (size_t)r);
}

static void op_pop1(struct input *in)
{
	int i = (int)(take8(in) % STACKS), shard = -1;
	void *p;

	if (!st.stack[i])
		return;
	p = percpu_stack_pop1(st.stack[i], &shard);
	CHECK(shard_ok(shard), "pop1: shard %d", shard);
	CHECK(!p == !st.stack_model[i].count[shard], "pop1 on shard %d: %p",
	      shard, p);
	model_pop(i, shard, &p, p ? 1 : 0, "pop1");
}

/* Drain up to n from `shard` (valid) and check them against the model. */
static void drain(int i, int shard, size_t n)
{
	void **out = n ? malloc(n * sizeof(void *)) : NULL;
	size_t count = st.stack_model[i].count[shard];
	size_t k, want = n < count ? n : count;

	CHECK(!n || out, "model: out of memory");
	k = percpu_stack_drain(st.stack[i], shard, out, n);
	CHECK(k == want, "drain of %zu on shard %d: %zu, not %zu", n, shard,
	      k, want);
	model_pop(i, shard, out, k, "drain");
	free(out);
}

static void op_drain(struct input *in)
{
	int i = (int)(take8(in) % STACKS);
	unsigned int v = take8(in);
	size_t n = fuzz_n(in);
	int shard = v < 0x80 ? (int)(v % (unsigned int)st.nr) : bad_shard(v);

	if (!st.stack[i])
		return;
	if (shard_ok(shard)) {
		drain(i, shard, n);
		return;
	}
	errno = 0;
	CHECK(percpu_stack_drain(st.stack[i], shard, NULL, 0) == 0 &&
		      errno == EINVAL,
	      "drain of shard %d: errno %d", shard, errno);
}

static void op_list_push(struct input *in)
{
	int i = (int)(take8(in) % LISTS);
	unsigned int v = take8(in) % NODES;
	struct lifo *l = &st.list_model[i];
	int shard;

	if (st.node_in[v])
		return;
	shard = percpu_list_push(st.list[i], &nodes[v]);
	CHECK(shard_ok(shard), "list push: shard %d", shard);
	st.node_in[v] = 1;
	*lifo_at(l, shard, l->count[shard]++) = v;
}

static void op_list_pop(struct input *in)
{
	int i = (int)(take8(in) % LISTS), shard = -1;
	struct lifo *l = &st.list_model[i];
	struct percpu_list_node *node = percpu_list_pop(st.list[i], &shard);

	CHECK(shard_ok(shard), "list pop: shard %d", shard);
	if (!l->count[shard]) {
		CHECK(!node, "list pop on empty shard %d: %p", shard,
		      (void *)node);
		return;
	}
	l->count[shard]--;
	CHECK(node == &nodes[*lifo_at(l, shard, l->count[shard])],
	      "list pop on shard %d: wrong node", shard);
	st.node_in[node - nodes] = 0;
}

/* Buffers of exactly PERCPU_MEMCPY_MAX: ASan sees a copy past them. */
static char copy_dst[PERCPU_MEMCPY_MAX], copy_src[PERCPU_MEMCPY_MAX];

static int memcpy_store(int release, int shard, intptr_t w, size_t len)
{
	void *dst = len ? copy_dst : NULL;
	const void *src = len ? copy_src : NULL;

	errno = 0;
	return release ? percpu_memcpy_store_release(st.word, shard, w, w + 1,
						     dst, src, len) :
			 percpu_memcpy_store(st.word, shard, w, w + 1, dst,
					     src, len);
}

/* Lengths 0 (NULL to NULL), up to PERCPU_MEMCPY_MAX, and beyond it. */
static void op_memcpy_store(struct input *in)
{
	unsigned int c = take8(in), v = take16(in);
	size_t len = c % 4 == 0 ? 0 : c % 4 == 1 ? PERCPU_MEMCPY_MAX + 1 + v :
						   v % (PERCPU_MEMCPY_MAX + 1);
	int shard, r;
	intptr_t w = percpu_load(st.word, &shard);

	memset(copy_src, (int)c, sizeof(copy_src));
	r = memcpy_store((int)(c / 4 % 2), shard, w, len);
	if (len > PERCPU_MEMCPY_MAX)
		CHECK(r == -1 && errno == EINVAL, "memcpy_store(%zu): %d", len,
		      r);
	else if (r == PERCPU_OK)
		CHECK(!memcmp(copy_dst, copy_src, len) &&
			      *(intptr_t *)percpu_ptr(st.word, shard) == w + 1,
		      "memcpy_store(%zu) on shard %d", len, shard);
	else
		CHECK(r == PERCPU_MOVED, "memcpy_store(%zu): %d", len, r);
}

static void op_lock_path(struct input *in)
{
	percpu_inject_thread_lock_path = (int)(take8(in) & 1);
}

static void (*const ops[])(struct input *) = {
	op_alloc, op_alloc_init, op_free, op_free_bad, op_ptr, op_stack_new, op_stack_free, op_push,
	op_pop, op_push1, op_pop1, op_drain, op_list_push, op_list_pop,
	op_memcpy_store, op_lock_path,
};

/* Each shard's count and capacity, as the stack itself holds them. */
static void check_counts(void)
{
	for (int i = 0; i < STACKS; i++) {
		const struct lifo *l = &st.stack_model[i];

		for (int s = 0; st.stack[i] && s < st.nr; s++) {
			const struct percpu_stack *mine =
				percpu_ptr(st.stack[i], s);

			CHECK(mine->count == (intptr_t)l->count[s] &&
				      mine->capacity == (intptr_t)l->cap,
			      "stack %d shard %d: count %ld of %ld", i, s,
			      (long)mine->count, (long)mine->capacity);
		}
	}
}

static void run_op(struct input *in)
{
	ops[take8(in) % (sizeof(ops) / sizeof(ops[0]))](in);
	check_counts();
}

static void setup(void)
{
	st.nr = percpu_nr_shards();
	st.word = percpu_alloc(sizeof(intptr_t));
	CHECK(st.word, "alloc of a word");
	for (int i = 0; i < LISTS; i++) {
		st.list[i] = percpu_alloc(sizeof(struct percpu_list));
		CHECK(st.list[i] && lifo_init(&st.list_model[i], NODES),
		      "alloc of a list");
	}
}

/* Every node pushed is on its shard's list, in the model's order. */
static void list_teardown(int i)
{
	struct lifo *l = &st.list_model[i];

	for (int s = 0; s < st.nr; s++) {
		struct percpu_list_node *n = percpu_list_drain(st.list[i], s);

		while (l->count[s]) {
			unsigned int v = *lifo_at(l, s, --l->count[s]);

			CHECK(n == &nodes[v], "list %d shard %d: node lost", i,
			      s);
			st.node_in[v] = 0;
			n = n->next;
		}
		CHECK(!n, "list %d shard %d: a node too many", i, s);
	}
	lifo_fini(l);
	CHECK(percpu_free(st.list[i]) == 0, "free of list %d", i);
}

/* Drain everything: each token pushed comes back exactly once. */
static void teardown(void)
{
	for (int i = 0; i < STACKS; i++) {
		for (int s = 0; st.stack[i] && s < st.nr; s++)
			drain(i, s, st.stack_model[i].count[s] + 1);
		if (st.stack[i])
			stack_free(i);
	}
	for (int t = 0; t < TOKENS; t++)
		CHECK(!st.in_use[t], "token %d pushed, never came back", t);
	for (int i = 0; i < LISTS; i++)
		list_teardown(i);
	for (int i = 0; i < OBJECTS; i++)
		if (st.obj[i]) {
			tag(i, 1);
			CHECK(percpu_free(st.obj[i]) == 0, "free %d", i);
		}
	CHECK(percpu_free(st.word) == 0, "free of the word");
	percpu_inject_thread_lock_path = 0;
	memset(&st, 0, sizeof(st));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	setup();
	for (int k = 0; k < MAX_OPS && in.n; k++)
		run_op(&in);
	teardown();
	return 0;
}
