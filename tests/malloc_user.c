// SPDX-License-Identifier: MIT
/*
 * tests/malloc_user.c: a program whose own malloc runs on percpu, as the
 * library's first user's does. malloc pops a block from this CPU's free
 * list of its size class, or carves a new one from an mmap'd region, and
 * adds 1 to a per-CPU counter; free pushes the block on this CPU's list
 * and adds 1 to another. Every allocation of the program and of glibc goes
 * through it, from the first one on: the allocator sets itself up (and so
 * initializes the library) on the first call, whenever that comes.
 *
 * The program starts, runs threads that allocate, forks while they do
 * (each child allocates, exactly counted, and exits 0), and exits; at the
 * end the counts must be exact: each per-CPU counter equals a shared tally
 * kept beside it, and every block ever carved is either in use or on
 * exactly one free list.
 *
 * A malloc-family call from inside the library while the allocator uses it
 * would recurse into the library. Such a call is served without it and
 * counted: the test then fails instead of hanging or crashing.
 * PERCPU_TEST_KEYS=n takes n pthread keys first, so that the library's
 * own keys come after them (glibc's pthread_setspecific() callocs for a
 * key from 32 on).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define PAGE 4096u
#define MIN_BLOCK 16u
#define NR_CLASSES 13			/* 16 bytes .. 64 KiB */
#define MAX_SMALL ((size_t)MIN_BLOCK << (NR_CLASSES - 1))
#define REGION ((size_t)64 << 20)	/* address space per class */
#define LARGE_MAGIC 0x6c61726765UL

/* Before each large block, in the page below it. */
struct large {
	unsigned long magic;
	void *base;
	size_t len;
};

enum { HEAP_NONE, HEAP_SETTING_UP, HEAP_READY, HEAP_FAILED };

static struct {
	int state;
	char *base;			/* NR_CLASSES regions of REGION bytes */
	size_t carved[NR_CLASSES];	/* bytes carved from each region */
	struct percpu_list *lists;	/* NR_CLASSES per-CPU free lists */
	intptr_t *counts;		/* per shard: [0] mallocs, [1] frees */
	long tally[2];			/* the same counts, shared */
	long small_out, small_back;	/* small blocks handed out, returned */
	long reentered;			/* calls from inside the library */
	long dropped;			/* blocks freed from inside it */
	long foreign;			/* frees of blocks not from here */
} heap;

/* Set while this thread's allocator is inside a percpu call. */
static __thread int in_percpu __attribute__((tls_model("initial-exec")));

static unsigned int class_of(size_t size)
{
	unsigned int cls = 0;

	while ((size_t)MIN_BLOCK << cls < size)
		cls++;
	return cls;
}

static size_t class_size(unsigned int cls)
{
	return (size_t)MIN_BLOCK << cls;
}

static void *map(size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * PERCPU_TEST_KEYS=n takes n pthread keys before the library takes its own:
 * in the first malloc, if that comes first (a sanitizer's run time
 * allocates before any constructor), else before the library's
 * constructor.
 */
static void take_keys(void)
{
	static int taken;
	const char *v = getenv("PERCPU_TEST_KEYS");
	pthread_key_t key;

	if (taken++)
		return;
	for (int n = v ? atoi(v) : 0; n > 0; n--)
		pthread_key_create(&key, NULL);
}

/* The regions, then the library's objects: percpu_alloc() may be what
 * initializes the library, here in the middle of the first malloc. */
static int setup(void)
{
	take_keys();
	heap.base = map(NR_CLASSES * REGION, MAP_NORESERVE);
	if (!heap.base)
		return HEAP_FAILED;
	in_percpu = 1;
	heap.lists = percpu_alloc(NR_CLASSES * sizeof(struct percpu_list));
	heap.counts = percpu_alloc(2 * sizeof(intptr_t));
	in_percpu = 0;
	return heap.lists && heap.counts ? HEAP_READY : HEAP_FAILED;
}

/* Whether the per-CPU structures may be used now: set up by the first
 * caller; not from inside the library (a call from setup included). */
static int heap_ready(void)
{
	int s = __atomic_load_n(&heap.state, __ATOMIC_ACQUIRE);

	if (s == HEAP_READY && !in_percpu)
		return 1;
	if (in_percpu) {
		__atomic_fetch_add(&heap.reentered, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (s == HEAP_NONE &&
	    __atomic_compare_exchange_n(&heap.state, &s, HEAP_SETTING_UP, 0,
					__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
		__atomic_store_n(&heap.state, setup(), __ATOMIC_RELEASE);
	while ((s = __atomic_load_n(&heap.state, __ATOMIC_ACQUIRE)) ==
	       HEAP_SETTING_UP)
		sched_yield();
	return s == HEAP_READY;
}

/* A block of class cls never handed out before, or NULL. */
static void *carve(unsigned int cls)
{
	size_t size = class_size(cls);
	size_t at = __atomic_load_n(&heap.carved[cls], __ATOMIC_RELAXED);

	do
		if (!heap.base || at + size > REGION)
			return NULL;
	while (!__atomic_compare_exchange_n(&heap.carved[cls], &at, at + size,
					    1, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED));
	return heap.base + cls * REGION + at;
}

/* Count one malloc (k = 0) or free (k = 1), per CPU and shared. */
static void count(int k)
{
	in_percpu = 1;
	percpu_add(heap.counts + k, 1);
	in_percpu = 0;
	__atomic_fetch_add(&heap.tally[k], 1, __ATOMIC_RELAXED);
}

static void *small_alloc(size_t size)
{
	unsigned int cls = class_of(size);
	void *p = NULL;

	if (heap_ready()) {
		in_percpu = 1;
		p = percpu_list_pop(&heap.lists[cls], NULL);
		in_percpu = 0;
		count(0);
	}
	if (!p)
		p = carve(cls);
	if (p)
		__atomic_fetch_add(&heap.small_out, 1, __ATOMIC_RELAXED);
	return p;
}

static void small_free(void *p)
{
	unsigned int cls = (unsigned int)(((char *)p - heap.base) / REGION);

	__atomic_fetch_add(&heap.small_back, 1, __ATOMIC_RELAXED);
	if (!heap_ready()) {
		__atomic_fetch_add(&heap.dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	in_percpu = 1;
	percpu_list_push(&heap.lists[cls], p);
	in_percpu = 0;
	count(1);
}

/* A block of its own mapping, aligned to align (a power of two). */
static void *large_alloc(size_t size, size_t align)
{
	size_t slack = align > PAGE ? align : PAGE;
	size_t len = size + slack + PAGE;
	char *base = size <= SIZE_MAX / 2 ? map(len, 0) : NULL;
	char *p;

	if (!base)
		return NULL;
	p = (char *)(((uintptr_t)base + PAGE + slack - 1) & ~(slack - 1));
	((struct large *)p)[-1] = (struct large){ LARGE_MAGIC, base, len };
	if (heap_ready())
		count(0);
	return p;
}

static int is_small(const void *p)
{
	return heap.base && (const char *)p >= heap.base &&
	       (const char *)p < heap.base + NR_CLASSES * REGION;
}

static struct large *large_of(void *p)
{
	struct large *l = (struct large *)p - 1;

	return ((uintptr_t)p % PAGE == 0 && l->magic == LARGE_MAGIC) ? l : NULL;
}

static void large_free(void *p)
{
	struct large *l = large_of(p);

	if (!l) {
		__atomic_fetch_add(&heap.foreign, 1, __ATOMIC_RELAXED);
		return;
	}
	if (heap_ready())
		count(1);
	munmap(l->base, l->len);
}

static size_t usable_size(void *p)
{
	struct large *l;

	if (is_small(p))
		return class_size((unsigned int)(((char *)p - heap.base) / REGION));
	l = large_of(p);
	return l ? l->len - (size_t)((char *)p - (char *)l->base) : 0;
}

/* ---- the malloc family ---- */

static void *heap_alloc(size_t size, size_t align)
{
	size_t want = size > align ? size : align;
	void *p;

	if (align > PAGE || want > MAX_SMALL)
		p = large_alloc(size, align);
	else
		p = small_alloc(want ? want : 1);
	if (!p)
		errno = ENOMEM;
	return p;
}

void *malloc(size_t size)
{
	return heap_alloc(size, MIN_BLOCK);
}

void free(void *p)
{
	if (!p)
		return;
	if (is_small(p))
		small_free(p);
	else
		large_free(p);
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *realloc(void *p, size_t size)
{
	size_t have = p ? usable_size(p) : 0;
	void *q;

	if (p && !size) {
		free(p);
		return NULL;
	}
	if (p && size <= have)
		return p;
	q = malloc(size);
	if (q && p) {
		memcpy(q, p, have);
		free(p);
	}
	return q;
}

static int bad_alignment(size_t align)
{
	return align < sizeof(void *) || (align & (align - 1));
}

int posix_memalign(void **out, size_t align, size_t size)
{
	if (bad_alignment(align))
		return EINVAL;
	*out = heap_alloc(size, align);
	return *out ? 0 : ENOMEM;
}

void *aligned_alloc(size_t align, size_t size)
{
	if (bad_alignment(align)) {
		errno = EINVAL;
		return NULL;
	}
	return heap_alloc(size, align);
}

void *memalign(size_t align, size_t size)
{
	return aligned_alloc(align, size);
}

void *valloc(size_t size)
{
	return heap_alloc(size, PAGE);
}

void *pvalloc(size_t size)
{
	return heap_alloc((size + PAGE - 1) & ~(size_t)(PAGE - 1), PAGE);
}

size_t malloc_usable_size(void *p)
{
	return p ? usable_size(p) : 0;
}

/* ---- the program ---- */

/* The whole program's limit: a library that allocates from inside its
 * initialization deadlocks here (its pthread_once runs again, from the
 * malloc it called), and must fail the test rather than hang it. */
#define PROGRAM_SECONDS 120

static void on_alarm(int sig)
{
	static const char msg[] = "not ok - hung: the library waiting for "
				  "itself under malloc?\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

__attribute__((constructor(101))) static void before_library(void)
{
	signal(SIGALRM, on_alarm);
	alarm(PROGRAM_SECONDS);
	take_keys();
}

#define NR_THREADS 4
#define THREAD_ROUNDS 10000
#define LIVE_SLOTS 64
#define NR_FORKS 10
#define CHILD_BLOCKS 1000
#define CHILD_SECONDS 20

/* Every block carries its owner's tag at both ends, checked at its free:
 * a block handed out twice would show someone else's. */
struct block {
	unsigned long *p;
	size_t words;
};

static void block_new(struct block *b, size_t size, unsigned long tag)
{
	b->words = size / sizeof(unsigned long);
	b->p = malloc(b->words * sizeof(unsigned long));
	if (b->p) {
		b->p[0] = tag;
		b->p[b->words - 1] = tag;
	}
}

/* Frees the block; returns 0 if its tags were intact. */
static int block_free(struct block *b, unsigned long tag)
{
	int bad = b->p && (b->p[0] != tag || b->p[b->words - 1] != tag);

	free(b->p);
	b->p = NULL;
	return bad;
}

static size_t next_size(unsigned long *seed)
{
	*seed = *seed * 6364136223846793005UL + 1442695040888963407UL;
	if ((*seed >> 33) % 64 == 0)
		return 100000;		/* a large block now and then */
	return 8 + (size_t)((*seed >> 33) % 2000);
}

struct worker {
	pthread_t tid;
	int index;
	int bad_tags;
	int failed;
};

static unsigned long tag_of(int index, int round)
{
	return ((unsigned long)index << 32) | (unsigned long)round;
}

/* Allocate, keep LIVE_SLOTS blocks, free the oldest, THREAD_ROUNDS times. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct block live[LIVE_SLOTS] = { { NULL, 0 } };
	unsigned long seed = (unsigned long)w->index + 1;
	int r;

	test_thread_setup(w->index);
	for (r = 0; r < THREAD_ROUNDS; r++) {
		struct block *b = &live[r % LIVE_SLOTS];

		w->bad_tags += block_free(b, tag_of(w->index, r - LIVE_SLOTS));
		block_new(b, next_size(&seed), tag_of(w->index, r));
		w->failed += !b->p;
	}
	for (; r < THREAD_ROUNDS + LIVE_SLOTS; r++)
		w->bad_tags += block_free(&live[r % LIVE_SLOTS],
					  tag_of(w->index, r - LIVE_SLOTS));
	return NULL;
}

static intptr_t count_sum(int k)
{
	return test_sum(heap.counts + k);
}

/* In a child: CHILD_BLOCKS allocated and freed, exactly counted. */
static int child_allocates(void)
{
	static struct block blocks[CHILD_BLOCKS];
	intptr_t mallocs = count_sum(0), frees = count_sum(1);
	unsigned long seed = (unsigned long)getpid();
	int bad = 0;

	for (int i = 0; i < CHILD_BLOCKS; i++)
		block_new(&blocks[i], next_size(&seed), (unsigned long)i);
	for (int i = 0; i < CHILD_BLOCKS; i++)
		bad += !blocks[i].p || block_free(&blocks[i], (unsigned long)i);
	return !bad && count_sum(0) - mallocs == CHILD_BLOCKS &&
	       count_sum(1) - frees == CHILD_BLOCKS;
}

static int child_passed;

static void *child_thread(void *arg)
{
	(void)arg;
	return child_allocates() ? &child_passed : NULL;
}

/* The child: allocations from the forking thread, then from a new one. */
static int child_main(void)
{
	pthread_t tid;
	void *res = NULL;
	int good;

	alarm(CHILD_SECONDS);
	good = child_allocates();
	good &= !pthread_create(&tid, NULL, child_thread, NULL) &&
		!pthread_join(tid, &res) && res == &child_passed;
	return good ? 0 : 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* Forks NR_FORKS children while the workers run; how many exited 0. */
static int fork_children(void)
{
	int passed = 0, status;
	pid_t pid;

	for (int i = 0; i < NR_FORKS; i++) {
		sleep_ms(5);
		pid = fork();
		if (pid == 0)
			_exit(child_main());
		if (pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			passed++;
	}
	return passed;
}

/* The blocks on every free list, every shard. */
static long listed(void)
{
	long n = 0;

	for (unsigned int cls = 0; cls < NR_CLASSES; cls++)
		for (int s = 0; s < percpu_nr_shards(); s++)
			for (struct percpu_list_node *node =
				     ((struct percpu_list *)percpu_ptr(
					      &heap.lists[cls], s))->head;
			     node; node = node->next)
				n++;
	return n;
}

static long carved(void)
{
	long n = 0;

	for (unsigned int cls = 0; cls < NR_CLASSES; cls++)
		n += (long)(heap.carved[cls] / class_size(cls));
	return n;
}

/* Read every figure before printing any: printing allocates. */
struct totals {
	intptr_t counts[2];
	long tally[2], carved, listed, in_use;
};

static void check_totals(void)
{
	struct totals t = {
		{ count_sum(0), count_sum(1) },
		{ heap.tally[0], heap.tally[1] },
		carved(), listed(), heap.small_out - heap.small_back,
	};

	ok(t.counts[0] == t.tally[0] && t.counts[1] == t.tally[1],
	   "per-CPU counts exact: %ld mallocs, %ld frees (tallies %ld, %ld)",
	   (long)t.counts[0], (long)t.counts[1], t.tally[0], t.tally[1]);
	ok(t.carved == t.listed + t.in_use,
	   "every block carved is in use or on one free list: %ld = %ld + %ld",
	   t.carved, t.listed, t.in_use);
}

int main(void)
{
	struct worker w[NR_THREADS] = { 0 };
	int forked, bad_tags = 0, failed = 0;

	tap_check_mode();
	ok(__atomic_load_n(&heap.state, __ATOMIC_ACQUIRE) == HEAP_READY,
	   "the allocator set itself up on percpu");
	for (int i = 0; i < NR_THREADS; i++) {
		w[i].index = i;
		pthread_create(&w[i].tid, NULL, worker_run, &w[i]);
	}
	forked = fork_children();
	for (int i = 0; i < NR_THREADS; i++) {
		pthread_join(w[i].tid, NULL);
		bad_tags += w[i].bad_tags;
		failed += w[i].failed;
	}
	ok(!failed && !bad_tags, "threads allocated %d blocks: %d failed, %d "
	   "handed out twice", NR_THREADS * THREAD_ROUNDS, failed, bad_tags);
	ok(forked == NR_FORKS, "%d of %d children forked amid allocations "
	   "allocated, counted exactly and exited 0", forked, NR_FORKS);
	check_totals();
	ok(!heap.reentered && !heap.dropped,
	   "no malloc-family call from inside the library (%ld)",
	   heap.reentered);
	ok(!heap.foreign, "every block freed was this allocator's (%ld not)",
	   heap.foreign);
	return tap_done();
}
