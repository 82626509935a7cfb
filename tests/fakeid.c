// SPDX-License-Identifier: MIT
/*
 * tests/fakeid.c: whatever shard id the kernel reports (a CPU id, a
 * concurrency id, -1 before registration, -2 after a failed one, or a
 * value past the shards the library sized for), no operation writes
 * outside the stride of a valid shard. The test hook makes every read of
 * the shard id return a fake value; every operation then runs against a
 * target object whose neighbours, in every shard, hold a canary pattern.
 * After each operation exactly the bytes it should change have changed, in
 * the one valid shard it reports, and its results are exact. The shard
 * strides a bad id would address, where the address space allows, are
 * mapped and filled with canaries too.
 *
 * The thread stays on one CPU, so that the shard an id falls back to does
 * not change between a push and its pop.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>
#include "tap.h"

#define OBJ 64			/* every object here is one 64-byte slot */
#define REGION (4 * OBJ)	/* before, target, stack, after */
#define PAGE 4096
#define STACK_SLOTS 6		/* 16-byte header + 6 pointers: 64 bytes */
#define COPY_LEN 32
#define CANARY 0xa5
#define GUARD_FILL 0x5a
#define MAX_TRIES 1000

/* The target's words. */
struct target {
	intptr_t p;		/* counter; the commit word of multi-word ops */
	intptr_t q;		/* second word of cmp2_store, cas_store2 */
	intptr_t lock;
	struct percpu_list list;
	char copy[COPY_LEN];	/* memcpy_store's destination */
};

struct guard {
	uintptr_t addr;
	unsigned char want[REGION];
	int live;		/* 0: nothing can be mapped there */
};

static char *region;		/* shard 0's copy of the four objects */
static struct target *t;
static struct percpu_stack *stk;
static unsigned char *expect, *actual;
static struct guard *guards;
static int nr, nr_guards, mem_fd;
static struct percpu_list_node node;
static int last_shard;		/* percpu_lock's shard, for percpu_unlock */

/* Where the expected copy of shard-0 address `field` of `shard` lives. */
static void *want(int shard, const void *field)
{
	return expect + (size_t)shard * REGION +
	       ((const char *)field - region);
}

static intptr_t *want_word(int shard, const void *field)
{
	return want(shard, field);
}

static void snapshot(unsigned char *out)
{
	for (int s = 0; s < nr; s++)
		memcpy(out + (size_t)s * REGION, percpu_ptr(region, s), REGION);
}

static int in_range(int shard)
{
	return shard >= 0 && shard < nr;
}

static int op_add(void)
{
	int s = percpu_add(&t->p, 5);

	if (in_range(s))
		*want_word(s, &t->p) += 5;
	return s;
}

static int op_fetch_add(void)
{
	int s = -1;
	intptr_t old = percpu_fetch_add(&t->p, 7, &s);

	if (!in_range(s) || old != *want_word(s, &t->p))
		return -1;
	*want_word(s, &t->p) += 7;
	return s;
}

static int op_xchg(void)
{
	int s = -1;
	intptr_t old = percpu_xchg(&t->p, 42, &s);

	if (!in_range(s) || old != *want_word(s, &t->p))
		return -1;
	*want_word(s, &t->p) = 42;
	return s;
}

static int op_store(void)
{
	int s = percpu_store(&t->p, 99);

	if (in_range(s))
		*want_word(s, &t->p) = 99;
	return s;
}

/* A load that reports a valid shard and that shard's exact value. */
static int load_p(intptr_t *v)
{
	int s = -1;

	*v = percpu_load(&t->p, &s);
	return in_range(s) && *v == *want_word(s, &t->p) ? s : -1;
}

static int op_cas(void)
{
	for (int i = 0; i < MAX_TRIES; i++) {
		intptr_t v;
		int s = load_p(&v), r;

		if (s < 0)
			return -1;
		r = percpu_cas(&t->p, s, v, v + 1);
		if (r == PERCPU_OK) {
			*want_word(s, &t->p) = v + 1;
			return s;
		}
		if (r != PERCPU_MOVED)
			return -1;
	}
	return -1;
}

static int op_cas_changed(void)
{
	intptr_t v;
	int s = load_p(&v);

	if (s < 0)
		return -1;
	return percpu_cas(&t->p, s, v + 12345, 0) == PERCPU_CHANGED ? s : -1;
}

static int op_lock(void)
{
	int s = percpu_lock(&t->lock);

	if (in_range(s))
		*want_word(s, &t->lock) = 1;
	last_shard = s;
	return s;
}

static int op_unlock(void)
{
	int s = last_shard;

	if (!in_range(s) || percpu_unlock(&t->lock, s))
		return -1;
	*want_word(s, &t->lock) = 0;
	return s;
}

static int op_cmp2_store(void)
{
	for (int i = 0; i < MAX_TRIES; i++) {
		intptr_t v;
		int s = load_p(&v), r;

		if (s < 0)
			return -1;
		r = percpu_cmp2_store(&t->p, s, v, &t->q, *want_word(s, &t->q),
				      v + 3);
		if (r == PERCPU_OK) {
			*want_word(s, &t->p) = v + 3;
			return s;
		}
		if (r != PERCPU_MOVED)
			return -1;
	}
	return -1;
}

static int op_cmp2_changed(void)
{
	intptr_t v;
	int s = load_p(&v);

	if (s < 0)
		return -1;
	return percpu_cmp2_store(&t->p, s, v, &t->q, *want_word(s, &t->q) + 1,
				 0) == PERCPU_CHANGED ? s : -1;
}

static int op_cas_store2(void)
{
	for (int i = 0; i < MAX_TRIES; i++) {
		intptr_t v;
		int s = load_p(&v), r;

		if (s < 0)
			return -1;
		r = percpu_cas_store2(&t->p, s, v, v + 1, &t->q, 555 + s);
		if (r == PERCPU_OK) {
			*want_word(s, &t->p) = v + 1;
			*want_word(s, &t->q) = 555 + s;
			return s;
		}
		if (r != PERCPU_MOVED)
			return -1;
	}
	return -1;
}

/* The destination is the reported shard's copy of t->copy. */
static int op_memcpy_store(void)
{
	static const char src[COPY_LEN] = "thirty-two bytes, not one more.";

	for (int i = 0; i < MAX_TRIES; i++) {
		intptr_t v;
		int s = load_p(&v), r;

		if (s < 0)
			return -1;
		r = percpu_memcpy_store(&t->p, s, v, v + 1,
					((struct target *)percpu_ptr(t, s))->copy,
					src, COPY_LEN);
		if (r == PERCPU_OK) {
			*want_word(s, &t->p) = v + 1;
			memcpy(want(s, t->copy), src, COPY_LEN);
			return s;
		}
		if (r != PERCPU_MOVED)
			return -1;
	}
	return -1;
}

static int op_list_push(void)
{
	intptr_t old;
	int s = percpu_list_push(&t->list, &node);

	if (!in_range(s))
		return -1;
	old = *want_word(s, &t->list);
	*want_word(s, &t->list) = (intptr_t)&node;
	return (intptr_t)node.next == old ? s : -1;
}

/* Pinned, the pop finds the node on the shard the push used. */
static int op_list_pop(void)
{
	int s = -1;
	struct percpu_list_node *n = percpu_list_pop(&t->list, &s);

	if (!in_range(s) || n != &node ||
	    *want_word(s, &t->list) != (intptr_t)&node)
		return -1;
	*want_word(s, &t->list) = (intptr_t)node.next;
	return s;
}

/* Distinct pointers to push (never dereferenced). */
static void *const stack_ptrs[9] = { &node, &node + 1, &node + 2, &node + 3,
				     &node + 4, &node + 5, &node + 6,
				     &node + 7, &node + 8 };

/*
 * A push of n (1: percpu_stack_push1) onto the shard it reports: as many
 * as fit there, into the slots above its count.
 */
static int stack_push_n(size_t n)
{
	int s = -1;
	size_t k = n == 1 ? (size_t)percpu_stack_push1(stk, stack_ptrs[0], &s) :
			    percpu_stack_push(stk, stack_ptrs, n, &s);
	intptr_t *count;
	size_t room;

	if (!in_range(s))
		return -1;
	count = want_word(s, &stk->count);
	room = (size_t)(STACK_SLOTS - *count);
	if (k != (n < room ? n : room))
		return -1;
	memcpy(want(s, &stk->slot[*count]), stack_ptrs, k * sizeof(void *));
	*count += (intptr_t)k;
	return s;
}

/* A pop of n (1: percpu_stack_pop1): the top ones of the shard it reports. */
static int stack_pop_n(size_t n)
{
	void *out[9] = { NULL };
	int s = -1;
	size_t k, want_k;
	intptr_t *count;

	if (n == 1) {
		out[0] = percpu_stack_pop1(stk, &s);
		k = out[0] != NULL;	/* no NULL is pushed here */
	} else {
		k = percpu_stack_pop(stk, out, n, &s);
	}
	if (!in_range(s))
		return -1;
	count = want_word(s, &stk->count);
	want_k = n < (size_t)*count ? n : (size_t)*count;
	if (k != want_k || memcmp(out, want(s, &stk->slot[*count - (intptr_t)k]),
				  k * sizeof(void *)))
		return -1;
	*count -= (intptr_t)k;
	return s;
}

static int op_stack_push1(void)
{
	return stack_push_n(1);
}

static int op_stack_pop1(void)
{
	return stack_pop_n(1);
}

static int op_stack_push2(void)
{
	return stack_push_n(2);
}

static int op_stack_pop2(void)
{
	return stack_pop_n(2);
}

static int op_stack_push3(void)
{
	return stack_push_n(3);
}

static int op_stack_pop3(void)
{
	return stack_pop_n(3);
}

static int op_stack_push9(void)
{
	return stack_push_n(9);
}

static int op_stack_pop9(void)
{
	return stack_pop_n(9);
}

static int op_shard_id(void)
{
	return percpu_shard_id();
}

static void mark(void *arg, int shard)
{
	*(int *)arg = shard;
	((struct target *)percpu_ptr(t, shard))->q = 7000 + shard;
}

/* Every valid shard in turn; returns the last, or -1 on a wrong result. */
static int op_remote(void)
{
	for (int k = 0; k < nr; k++) {
		int got = -1;

		if (percpu_remote(k, mark, &got) || got != k)
			return -1;
		*want_word(k, &t->q) = 7000 + k;
	}
	return nr - 1;
}

static int op_remote_xchg(void)
{
	for (int k = 0; k < nr; k++) {
		if (percpu_remote_xchg(&t->p, k, 100 + k) != *want_word(k, &t->p))
			return -1;
		*want_word(k, &t->p) = 100 + k;
	}
	return nr - 1;
}

static const struct op {
	const char *name;
	int (*run)(void);
} ops[] = {
	{ "add", op_add }, { "fetch_add", op_fetch_add }, { "xchg", op_xchg },
	{ "store", op_store }, { "load + cas", op_cas },
	{ "cas, compare fails", op_cas_changed }, { "lock", op_lock },
	{ "unlock", op_unlock }, { "cmp2_store", op_cmp2_store },
	{ "cmp2_store, second compare fails", op_cmp2_changed },
	{ "cas_store2", op_cas_store2 }, { "memcpy_store", op_memcpy_store },
	{ "list push", op_list_push }, { "list pop", op_list_pop },
	{ "stack push1", op_stack_push1 }, { "stack pop1", op_stack_pop1 },
	{ "stack pop1, empty", op_stack_pop1 },
	{ "stack push of 2", op_stack_push2 }, { "stack pop of 2", op_stack_pop2 },
	{ "stack push of 3", op_stack_push3 }, { "stack pop of 3", op_stack_pop3 },
	{ "stack push of 9, 6 fit (block)", op_stack_push9 },
	{ "stack push1, full", op_stack_push1 },
	{ "stack push of 3, full", op_stack_push3 },
	{ "stack pop of 2", op_stack_pop2 },
	{ "stack push of 3, 2 fit", op_stack_push3 },
	{ "stack pop of 9, 6 there (block)", op_stack_pop9 },
	{ "stack pop of 3, empty", op_stack_pop3 },
	{ "shard_id", op_shard_id }, { "remote on every shard", op_remote },
	{ "remote_xchg on every shard", op_remote_xchg },
};
#define NR_OPS (sizeof(ops) / sizeof(ops[0]))

/* The region at `addr`, read whatever its protection; 0 if unmapped. */
static int read_at(uintptr_t addr, unsigned char *out)
{
	return pread(mem_fd, out, REGION, (off_t)addr) == REGION;
}

/*
 * Where a bad id would put the region: what is mapped there must not
 * change; where nothing is, map a page of canaries. Where nothing can be
 * mapped (past the address space), any access would fault the test.
 */
static void place_guard(struct guard *g, unsigned int id)
{
	uintptr_t addr = (uintptr_t)region + percpu_shard_offset(id);
	void *page;

	g->addr = addr;
	if (!read_at(addr, g->want)) {
		page = mmap((void *)(addr & ~(uintptr_t)(PAGE - 1)), PAGE,
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			    -1, 0);
		if (page != MAP_FAILED)
			memset(page, GUARD_FILL, PAGE);
	}
	g->live = read_at(addr, g->want);
}

static int guards_intact(void)
{
	unsigned char now[REGION];

	for (int i = 0; i < nr_guards; i++)
		if (guards[i].live && (!read_at(guards[i].addr, now) ||
				       memcmp(now, guards[i].want, REGION)))
			return 0;
	return 1;
}

/* Canaries around the target in every shard; known values inside it. */
static void fill(void)
{
	for (int s = 0; s < nr; s++) {
		struct target *mine = percpu_ptr(t, s);
		struct percpu_stack *st = percpu_ptr(stk, s);

		memset(percpu_ptr(region, s), CANARY, REGION);
		memset(mine, 0, sizeof(*mine));
		mine->p = 1000 + s;
		mine->q = 2000 + s;
		st->count = 0;
		st->capacity = STACK_SLOTS;
	}
}

static void run_op(const struct op *op, unsigned int id)
{
	int s;

	snapshot(expect);
	percpu_inject.fake_shard = id;
	percpu_inject.fake_shard_on = 1;
	s = op->run();
	percpu_inject.fake_shard_on = 0;
	snapshot(actual);
	ok(in_range(s) && !memcmp(expect, actual, (size_t)nr * REGION) &&
	   guards_intact(), "fake id %u (%d): %s, shard %d, exact, nothing "
	   "else written", id, (int)id, op->name, s);
}

static void run_id(unsigned int id)
{
	fill();
	node.next = NULL;
	for (size_t i = 0; i < NR_OPS; i++)
		run_op(&ops[i], id);
}

/* The fake ids: every valid shard, then what lies past them. */
static unsigned int *fake_ids(int *count)
{
	static const unsigned int past[] = { 4095, 65535, 0x7fffffff,
					     0xfffffffe, 0xffffffff };
	int n = 0;
	unsigned int *ids = calloc((size_t)nr + 7, sizeof(*ids));

	for (int s = 0; s < nr + 2; s++)
		ids[n++] = (unsigned int)s;
	for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++)
		ids[n++] = past[i];
	*count = n;
	return ids;
}

static void pin_here(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
}

/* The four objects must sit side by side in one page. */
static int allocate(void)
{
	char *before = percpu_alloc(OBJ), *after;

	t = percpu_alloc(OBJ);
	stk = percpu_stack_alloc(STACK_SLOTS);
	after = percpu_alloc(OBJ);
	region = before;
	return before && (char *)t == before + OBJ &&
	       (char *)stk == before + 2 * OBJ && after == before + 3 * OBJ &&
	       (uintptr_t)before % PAGE + REGION <= PAGE;
}

int main(void)
{
	int count;
	unsigned int *ids;

	nr = percpu_nr_shards();
	tap_check_mode();
	test_thread_setup(1);
	pin_here();
	mem_fd = open("/proc/self/mem", O_RDONLY);
	ok(allocate() && mem_fd >= 0, "objects side by side in one page");
	expect = malloc((size_t)nr * REGION);
	actual = malloc((size_t)nr * REGION);
	ids = fake_ids(&count);
	guards = calloc((size_t)count, sizeof(*guards));
	for (int i = 0; i < count; i++)
		if (ids[i] >= (unsigned int)nr)
			place_guard(&guards[nr_guards++], ids[i]);
	for (int i = 0; i < nr_guards; i++)
		tap_diag("stride of id %u at %#lx: %s", ids[nr + i],
			 (unsigned long)guards[i].addr, guards[i].live ?
			 "guarded" : "unmappable (an access would fault)");
	for (int i = 0; i < count; i++)
		run_id(ids[i]);
	free(ids);
	return tap_done();
}
