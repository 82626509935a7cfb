// SPDX-License-Identifier: MIT
/*
 * tests/malloc_conform.c: libpercpu-malloc against the malloc family's
 * contract. Linked with the allocator's test build, so every allocation
 * here is its. Sizes 0 .. 1 MiB and beyond, every power-of-two alignment
 * up to 64 KiB (and 1 MiB), usable sizes, errno values, overflow, realloc
 * copying contents and its NULL and 0 cases, free(NULL), free preserving
 * errno, foreign pointers; then the consistency walk. In mixed mode the
 * whole run is repeated on a thread that takes the lock path.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <sys/wait.h>
#include "tap.h"
#include "percpu_malloc.h"

/* Set by the allocator's test build (src/malloc/init.c). */
extern int percpu_malloc_preinit_ok;

static int failures;

/* Called through these, the compiler cannot reason about the calls that
 * fail on purpose (and warn that they will), nor drop a malloc and free
 * pair whose memory nothing reads (clang does). */
static void *(*volatile call_malloc)(size_t) = malloc;
static void *(*volatile call_calloc)(size_t, size_t) = calloc;
static void *(*volatile call_realloc)(void *, size_t) = realloc;
static void *(*volatile call_reallocarray)(void *, size_t, size_t) =
	reallocarray;
static void (*volatile call_free)(void *) = free;
static void *(*volatile call_aligned_alloc)(size_t, size_t) = aligned_alloc;
static void *(*volatile call_memalign)(size_t, size_t) = memalign;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			if (failures++ < 10)                                   \
				tap_diag(__VA_ARGS__);                         \
		}                                                              \
	} while (0)

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int same(const unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static int same_byte(const void *p, size_t n, int c)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != (unsigned char)c)
			return 0;
	return 1;
}

/* One object of n bytes: aligned, usable, writable, kept intact. */
static void one_size(size_t n)
{
	unsigned char *p = malloc(n);
	size_t u;

	CHECK(p, "malloc(%zu) failed", n);
	if (!p)
		return;
	u = malloc_usable_size(p);
	CHECK((uintptr_t)p % 16 == 0, "malloc(%zu) = %p not 16-aligned", n,
	      (void *)p);
	CHECK(u >= n, "malloc_usable_size %zu < %zu", u, n);
	fill(p, u, (unsigned int)n);
	CHECK(same(p, u, (unsigned int)n), "malloc(%zu) contents changed", n);
	free(p);
}

static void sizes(void)
{
	size_t n;

	failures = 0;
	for (n = 0; n <= 4096; n++)
		one_size(n);
	for (n = 4096; n <= 65536 + 16; n += 15)
		one_size(n);
	for (n = 65536; n <= ((size_t)1 << 20); n += 4093)
		one_size(n);
	for (int b = 5; b <= 26; b++) {
		one_size(((size_t)1 << b) - 1);
		one_size((size_t)1 << b);
		one_size(((size_t)1 << b) + 1);
	}
	ok(!failures, "sizes 0 .. 4096 by 1, to 64 KiB by 15, to 1 MiB by "
	   "4093, powers of two +-1 to 64 MiB: aligned, usable >= asked, "
	   "contents kept (%d wrong)", failures);
}

static void *by_kind(int kind, size_t align, size_t n)
{
	void *p = NULL;

	switch (kind) {
	case 0:
		return posix_memalign(&p, align, n) ? NULL : p;
	case 1:
		return aligned_alloc(align, n);
	default:
		return memalign(align, n);
	}
}

static void alignments(void)
{
	static const char *kinds[] = { "posix_memalign", "aligned_alloc",
				       "memalign" };
	size_t sz[6];

	failures = 0;
	for (int kind = 0; kind < 3; kind++)
		for (size_t a = sizeof(void *); a <= ((size_t)1 << 20); a *= 2) {
			sz[0] = 1, sz[1] = a - 1, sz[2] = a, sz[3] = a + 1;
			sz[4] = 3 * a, sz[5] = 100000;
			for (int i = 0; i < 6; i++) {
				unsigned char *p = by_kind(kind, a, sz[i]);

				CHECK(p && (uintptr_t)p % a == 0,
				      "%s(%zu, %zu) = %p", kinds[kind], a,
				      sz[i], (void *)p);
				if (!p)
					continue;
				CHECK(malloc_usable_size(p) >= sz[i],
				      "%s(%zu, %zu): usable %zu", kinds[kind],
				      a, sz[i], malloc_usable_size(p));
				fill(p, sz[i], 3);
				CHECK(same(p, sz[i], 3), "%s contents",
				      kinds[kind]);
				free(p);
			}
		}
	ok(!failures, "posix_memalign, aligned_alloc, memalign: every "
	   "alignment 8 .. 1 MiB, sizes 1, a-1, a, a+1, 3a, 100000 (%d wrong)",
	   failures);
}

static void bad_alignments(void)
{
	void *p = (void *)1;
	int rc;

	errno = 1234;
	rc = posix_memalign(&p, 0, 16);
	ok(rc == EINVAL && errno == 1234 && p == (void *)1,
	   "posix_memalign alignment 0: EINVAL returned, errno untouched");
	rc = posix_memalign(&p, 4, 16);
	ok(rc == EINVAL, "posix_memalign alignment 4 (< sizeof(void *)): EINVAL");
	rc = posix_memalign(&p, 24, 16);
	ok(rc == EINVAL, "posix_memalign alignment 24: EINVAL");
	rc = posix_memalign(&p, 64, SIZE_MAX - 100);
	ok(rc == ENOMEM && errno == 1234,
	   "posix_memalign of SIZE_MAX - 100: ENOMEM returned, errno untouched");
	errno = 0;
	p = call_aligned_alloc(24, 48);
	ok(!p && errno == EINVAL, "aligned_alloc alignment 24: NULL, EINVAL");
	p = call_memalign(24, 48);
	ok(p && (uintptr_t)p % 32 == 0,
	   "memalign alignment 24 rounds up to 32 (as glibc)");
	free(p);
	p = valloc(10);
	ok(p && (uintptr_t)p % 4096 == 0, "valloc: page-aligned");
	free(p);
	p = pvalloc(1);
	ok(p && (uintptr_t)p % 4096 == 0 && malloc_usable_size(p) >= 4096,
	   "pvalloc(1): a whole page");
	free(p);
	errno = 0;
	p = pvalloc(SIZE_MAX);
	ok(!p && errno == ENOMEM, "pvalloc(SIZE_MAX): NULL, ENOMEM");
}

static void failures_and_overflow(void)
{
	void *p, *q;

	errno = 0;
	p = call_malloc(SIZE_MAX);
	ok(!p && errno == ENOMEM, "malloc(SIZE_MAX): NULL, ENOMEM");
	errno = 0;
	p = call_malloc((size_t)1 << 62);
	ok(!p && errno == ENOMEM, "malloc(2^62): NULL, ENOMEM");
	errno = 0;
	p = call_calloc(SIZE_MAX / 2, 3);
	ok(!p && errno == ENOMEM, "calloc overflow: NULL, ENOMEM");
	errno = 0;
	p = call_calloc((size_t)1 << 33, (size_t)1 << 33);
	ok(!p && errno == ENOMEM, "calloc 2^33 x 2^33: NULL, ENOMEM");
	q = malloc(100);
	memset(q, 0x5a, 100);
	errno = 0;
	p = call_reallocarray(q, SIZE_MAX / 2, 3);
	ok(!p && errno == ENOMEM && same_byte(q, 100, 0x5a),
	   "reallocarray overflow: NULL, ENOMEM, the object intact");
	errno = 0;
	p = call_realloc(q, SIZE_MAX - 10);
	ok(!p && errno == ENOMEM && same_byte(q, 100, 0x5a),
	   "realloc to SIZE_MAX - 10: NULL, ENOMEM, the object intact");
	p = call_reallocarray(q, 10, 30);
	ok(p && same_byte(p, 100, 0x5a) && malloc_usable_size(p) >= 300,
	   "reallocarray 10 x 30: grown, contents kept");
	free(p);
}

static void zeroing(void)
{
	int bad = 0;

	/* Dirty objects of every small class, free them, calloc them back. */
	for (size_t n = 1; n <= 40000; n = n * 5 / 4 + 1) {
		void *d[64];
		unsigned char *z;

		for (int i = 0; i < 64; i++) {
			d[i] = malloc(n);
			memset(d[i], 0xff, n);
		}
		for (int i = 0; i < 64; i++)
			free(d[i]);
		for (int i = 0; i < 64; i++) {
			z = calloc(1, n);
			bad += !z || !same_byte(z, n, 0);
			d[i] = z;
		}
		for (int i = 0; i < 64; i++)
			free(d[i]);
	}
	for (size_t n = 40000; n <= ((size_t)4 << 20); n *= 2) {
		unsigned char *d = malloc(n), *z;

		memset(d, 0xff, n);
		free(d);
		z = calloc(n, 1);
		bad += !z || !same_byte(z, n, 0);
		free(z);
	}
	ok(!bad, "calloc zeroes reused objects of every size, large ones "
	   "(kept mappings) to 4 MiB (%d not)", bad);
	{
		void *p = calloc(0, 16), *q = calloc(16, 0);

		ok(p && q && p != q, "calloc(0, 16) and calloc(16, 0): unique "
		   "non-NULL pointers");
		free(p);
		free(q);
	}
}

static void reallocs(void)
{
	static const size_t steps[] = { 1, 8, 17, 100, 1000, 5000, 40000,
					100000, 1 << 20, 3 << 20, 70000,
					30000, 500, 16, 3 };
	unsigned char *p = NULL, *q;
	size_t have = 0;
	int bad = 0;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t n = steps[i], keep = have < n ? have : n;

		q = realloc(p, n);
		if (!q) {
			bad++;
			break;
		}
		bad += !same(q, keep, 11);
		fill(q, n, 11);
		p = q;
		have = n;
	}
	ok(!bad, "realloc through small, large and back: contents kept (%d "
	   "wrong)", bad);
	q = realloc(p, malloc_usable_size(p));
	ok(q == p, "realloc to its own usable size: in place");
	free(q);

	p = malloc(100);
	q = realloc(p, 110);
	ok(q == p, "realloc 100 -> 110 (same class): in place");
	free(q);

	p = malloc(200000);
	fill(p, 200000, 5);
	q = realloc(p, 400000);
	ok(q && same(q, 200000, 5), "realloc of a large object: grown, "
	   "contents kept");
	free(q);

	p = realloc(NULL, 50);
	ok(p && malloc_usable_size(p) >= 50, "realloc(NULL, 50) is malloc(50)");
	errno = 1234;
	q = realloc(p, 0);
	ok(!q && errno == 1234, "realloc(p, 0) frees p and returns NULL "
	   "(as glibc)");
}

static void frees(void)
{
	static char not_ours[64];
	struct percpu_malloc_stats a, b;
	void *v[2000];
	int local;

	errno = 4321;
	free(NULL);
	ok(errno == 4321, "free(NULL): nothing, errno kept");
	for (int i = 0; i < 2000; i++)
		v[i] = malloc(i % 3 ? 48 : 70000);
	errno = 4321;
	for (int i = 0; i < 2000; i++)
		free(v[i]);
	ok(errno == 4321, "2000 frees (cache overflows, large unmaps): "
	   "errno kept");
	ok(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = 0");
	percpu_malloc_stats(&a);
	call_free(not_ours + 16);
	call_free(&local);
	percpu_malloc_stats(&b);
	ok(b.foreign_frees == a.foreign_frees + 2 && not_ours[16] == 0,
	   "free() of pointers not ours: ignored and counted (%llu -> %llu)",
	   (unsigned long long)a.foreign_frees,
	   (unsigned long long)b.foreign_frees);
	ok(malloc_usable_size(not_ours) == 0,
	   "malloc_usable_size of a pointer not ours: 0");
}

static void distinct(void)
{
	enum { N = 5000 };
	static unsigned char *v[N];
	int bad = 0;

	for (int i = 0; i < N; i++) {
		size_t n = (size_t)(i % 97) * 13;

		v[i] = malloc(n);
		memset(v[i], i & 0xff, n);
	}
	for (int i = 0; i < N; i++)
		bad += !same_byte(v[i], (size_t)(i % 97) * 13, i & 0xff);
	for (int i = 0; i < N; i++)
		free(v[i]);
	ok(!bad, "%d live objects of mixed sizes keep their contents "
	   "(%d overwritten)", N, bad);
}

/*
 * Idle shards drained: a thread on CPU 1 (or, with concurrency ids, while
 * the main thread spins, on another cid) leaves objects in its cache and
 * exits; the main thread, on CPU 0, then goes through slow paths (misses
 * and overflows) until it sees a drain, for at most 10 s: a slow path
 * looks at the shards at most once a second and drains those whose caches
 * have not changed since.
 */
static int idle_done, idle_pinned = -1;

static int cid_indexing(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	return !percpu_runtime_info_get(&info) &&
	       info.index == PERCPU_INDEX_CID;
}

static void *leave_objects(void *arg)
{
	void *v[8];

	(void)arg;
	idle_pinned = test_pin_to(1);
	for (int i = 0; i < 8; i++)
		v[i] = malloc(400);
	for (int i = 0; i < 8; i++)
		free(v[i]);
	__atomic_store_n(&idle_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static unsigned long long drained_objects(const struct percpu_malloc_stats *st)
{
	unsigned long long n = 0;

	for (int c = 0; c < PERCPU_MALLOC_CLASSES; c++)
		n += st->cls[c].drained;
	return n;
}

static int drained_since(const struct percpu_malloc_stats *a)
{
	struct percpu_malloc_stats b;

	percpu_malloc_stats(&b);
	return b.drains > a->drains && drained_objects(&b) > drained_objects(a);
}

/* Slow paths on this CPU until a drain is seen, for at most 10 s (a
 * drain needs two looks a second apart: about 2 s). More objects than a
 * cache holds (2048 at most), so that both ways miss. */
static double slow_paths_until_drained(const struct percpu_malloc_stats *a)
{
	enum { N = 3000 };
	static void *v[N];
	struct timespec t0, t;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < N; i++)
			v[i] = malloc(64);
		for (int i = 0; i < N; i++)
			free(v[i]);
		clock_gettime(CLOCK_MONOTONIC, &t);
		s = (double)(t.tv_sec - t0.tv_sec) +
		    (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
	} while (s < 10 && !drained_since(a));
	return s;
}

static void idle_drain(void)
{
	struct percpu_malloc_stats a, b;
	pthread_t tid;
	double took;

	if (percpu_nr_shards() < 2 || test_pin_to(0)) {
		ok(1, "# SKIP idle drain: needs CPUs 0 and 1");
		return;
	}
	percpu_malloc_stats(&a);
	pthread_create(&tid, NULL, leave_objects, NULL);
	while (!__atomic_load_n(&idle_done, __ATOMIC_ACQUIRE))
		;	/* running, so the thread gets another cid */
	pthread_join(tid, NULL);
	took = slow_paths_until_drained(&a);
	test_unpin();
	percpu_malloc_stats(&b);
	/* With concurrency ids the main thread may take over the thread's
	 * cid when it exits (then its own old cid is the idle one, and may
	 * hold nothing): required with CPU ids only. */
	ok((drained_since(&a) && idle_pinned == 0) || cid_indexing(),
	   "an idle shard's cache drained by a slow path within %.1f s "
	   "(drains %llu -> %llu, objects drained %llu -> %llu; the idle "
	   "thread pinned: %s)%s", took,
	   (unsigned long long)a.drains, (unsigned long long)b.drains,
	   drained_objects(&a), drained_objects(&b),
	   idle_pinned ? "no" : "yes",
	   cid_indexing() ? " (not required with concurrency ids)" : "");
}

/* A freed large object's mapping serves a later request of at least half
 * its length, whole (its usable size), and not a smaller one. */
static void kept_mappings(void)
{
	size_t big = (size_t)256 << 10;
	unsigned char *p, *small, *half;

	malloc_trim(0);
	p = call_malloc(big);
	memset(p, 0x5a, big);
	call_free(p);
	small = call_malloc(100 << 10);
	half = call_malloc(130 << 10);
	ok(small && small != p && half == p &&
	   malloc_usable_size(half) == big,
	   "a kept 256 KiB mapping serves 130 KiB (usable %zu), not 100 KiB",
	   half ? malloc_usable_size(half) : 0);
	if (half == p)
		memset(half, 0xa5, big);
	call_free(small);
	call_free(half);
}

/* With PERCPU_MALLOC_STATS set, every malloc and free of a 64 B object
 * that its cache serves counts one hit in class 64's counters, and no
 * other class's. */
static void hit_counts(void)
{
	struct percpu_malloc_stats a, b;
	uint64_t others = 0;
	void *p;

	if (!getenv("PERCPU_MALLOC_STATS"))
		return;
	call_free(call_malloc(64));
	percpu_malloc_stats(&a);
	for (int i = 0; i < 1000; i++) {
		p = call_malloc(64);
		*(volatile char *)p = 1;
		call_free(p);
	}
	percpu_malloc_stats(&b);
	for (int c = 0; c < PERCPU_MALLOC_CLASSES; c++)
		if (c != 3)
			others += b.cls[c].malloc_hits - a.cls[c].malloc_hits +
				  b.cls[c].free_hits - a.cls[c].free_hits;
	ok(b.cls[3].malloc_hits - a.cls[3].malloc_hits >= 900 &&
	   b.cls[3].free_hits - a.cls[3].free_hits >= 900,
	   "the cache serves them: %llu malloc hits, %llu free hits",
	   (unsigned long long)(b.cls[3].malloc_hits - a.cls[3].malloc_hits),
	   (unsigned long long)(b.cls[3].free_hits - a.cls[3].free_hits));
	ok(b.cls[3].malloc_hits - a.cls[3].malloc_hits +
	   b.cls[3].misses - a.cls[3].misses == 1000 &&
	   b.cls[3].free_hits - a.cls[3].free_hits +
	   b.cls[3].overflows - a.cls[3].overflows == 1000 && others == 0,
	   "1000 mallocs and frees of 64 B: %llu + %llu misses malloc hits, "
	   "%llu + %llu overflows free hits in class 64, %llu in others",
	   (unsigned long long)(b.cls[3].malloc_hits - a.cls[3].malloc_hits),
	   (unsigned long long)(b.cls[3].misses - a.cls[3].misses),
	   (unsigned long long)(b.cls[3].free_hits - a.cls[3].free_hits),
	   (unsigned long long)(b.cls[3].overflows - a.cls[3].overflows),
	   (unsigned long long)others);
}

#define ELSEWHERE 1000
#define FREED_SIZE 3000		/* classes nothing here used before */
#define ALLOCATED_SIZE 1500

static void *(*volatile elsewhere)(void *);
static void *objs[ELSEWHERE];

static void *free_all(void *arg)
{
	(void)arg;
	for (int i = 0; i < ELSEWHERE; i++)
		call_free(objs[i]);
	return NULL;
}

static void *malloc_all(void *arg)
{
	(void)arg;
	for (int i = 0; i < ELSEWHERE; i++)
		objs[i] = call_malloc(ALLOCATED_SIZE);
	return NULL;
}

static void *on_cpu1(void *arg)
{
	test_pin_to(1);
	return elsewhere(arg);
}

static unsigned int class_at_least(const struct percpu_malloc_stats *st,
				   size_t size)
{
	unsigned int cls = 0;

	while (st->cls[cls].size < size)
		cls++;
	return cls;
}

/* fn on a thread pinned to CPU 1, the stats before and after. */
static void run_on_cpu1(void *(*fn)(void *), struct percpu_malloc_stats *a,
			struct percpu_malloc_stats *b)
{
	pthread_t t;

	elsewhere = fn;
	percpu_malloc_stats(a);
	pthread_create(&t, NULL, on_cpu1, NULL);
	pthread_join(t, NULL);
	percpu_malloc_stats(b);
}

/*
 * A cache is opened on a CPU by its first overflow or refill: objects of a
 * class allocated on CPU 0 and freed on CPU 1, where that class was never
 * used, are pushed on CPU 1's cache once the first free there opened it;
 * objects of a class only allocated on CPU 1 come in batches, a refill
 * there having opened it.
 */
static void used_elsewhere(void)
{
	struct percpu_malloc_stats a, b;
	unsigned int cls;

	if (!getenv("PERCPU_MALLOC_STATS") ||
	    sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	test_pin_to(0);
	for (int i = 0; i < ELSEWHERE; i++)
		objs[i] = call_malloc(FREED_SIZE);
	run_on_cpu1(free_all, &a, &b);
	cls = class_at_least(&a, FREED_SIZE);
	ok(b.cls[cls].free_hits - a.cls[cls].free_hits >= ELSEWHERE / 2,
	   "%d objects of %u B allocated on CPU 0, freed on CPU 1: %llu free "
	   "hits there", ELSEWHERE, (unsigned int)a.cls[cls].size,
	   (unsigned long long)(b.cls[cls].free_hits - a.cls[cls].free_hits));
	run_on_cpu1(malloc_all, &a, &b);
	cls = class_at_least(&a, ALLOCATED_SIZE);
	ok(b.cls[cls].misses - a.cls[cls].misses <= ELSEWHERE / 2,
	   "%d objects of %u B allocated on CPU 1 only: %llu misses",
	   ELSEWHERE, (unsigned int)a.cls[cls].size,
	   (unsigned long long)(b.cls[cls].misses - a.cls[cls].misses));
	for (int i = 0; i < ELSEWHERE; i++)
		call_free(objs[i]);
	test_unpin();
}

#define RELEASED 64		/* objects of 32 KiB: 8 spans */
#define SPAN_OBJECTS 8		/* of 32 KiB in a 256 KiB span */

/* Frees p in a child, with stderr closed; 1 if the child died of SIGABRT. */
static int free_aborts(void *p)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		close(STDERR_FILENO);
		call_free(p);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/*
 * free of a pointer into a span given back to the kernel stops the program
 * (as "free(): invalid pointer"): its span has no class and no cache any
 * more, so the pointer never reaches a list. 8 spans' worth of 32 KiB
 * objects, all freed and trimmed (one empty span per class may be kept),
 * then each freed again in a child of its own: all but the kept span's
 * must abort; a pointer taken from a span that was given back crashes,
 * or is pushed silently, or aborts only when its cache overflows.
 */
static void released_spans(void)
{
	static void *objs[RELEASED];
	int aborted = 0;

	for (int i = 0; i < RELEASED; i++)
		objs[i] = call_malloc(32768);
	for (int i = 0; i < RELEASED; i++)
		call_free(objs[i]);
	malloc_trim(0);
	for (int i = 0; i < RELEASED; i++)
		aborted += free_aborts(objs[i]);
	ok(aborted >= RELEASED - SPAN_OBJECTS,
	   "%d objects of 32 KiB freed, trimmed, then freed again: %d of "
	   "the second frees stopped the program (at least %d must: all but "
	   "a kept span's)", RELEASED, aborted, RELEASED - SPAN_OBJECTS);
}

static void everything(void)
{
	sizes();
	alignments();
	bad_alignments();
	failures_and_overflow();
	zeroing();
	reallocs();
	frees();
	distinct();
	kept_mappings();
}

static void *lock_path_thread(void *arg)
{
	(void)arg;
	test_thread_setup(1);
	everything();
	return NULL;
}

/*
 * A thread on the lock path makes a cache of its own at its first miss
 * there and gives it back at exit, also when a later key's destructor
 * allocates after the allocator's destructor ran (keys' destructors run
 * in key order: the allocator's key was made by an earlier thread on the
 * lock path, the main thread or lock_path_thread). A thread with rseq
 * makes none. Nothing is lost either way.
 */
extern unsigned long percpu_malloc_tcaches_live;
static pthread_key_t late_key;
static unsigned long tcaches_seen;

static void churn(size_t size, int n)
{
	void *p[64];

	for (int i = 0; i < n; i++) {
		p[i] = call_malloc(size);
		*(volatile char *)p[i] = 1;
	}
	for (int i = 0; i < n; i++)
		call_free(p[i]);
}

static void late_destructor(void *arg)
{
	(void)arg;
	churn(48, 40);
}

static void *cache_thread(void *arg)
{
	(void)arg;
	test_thread_setup(1);
	churn(48, 40);
	tcaches_seen = percpu_malloc_tcaches_live;
	pthread_setspecific(late_key, &late_key);
	return NULL;
}

static void thread_caches(void)
{
	struct percpu_malloc_check a, b;
	unsigned long before = percpu_malloc_tcaches_live;
	unsigned long want = before + (test_mode() != TEST_RSEQ);
	pthread_t t;
	int rc;

	pthread_key_create(&late_key, late_destructor);
	rc = percpu_malloc_check(&a);
	pthread_create(&t, NULL, cache_thread, NULL);
	pthread_join(t, NULL);
	rc |= percpu_malloc_check(&b);
	ok(tcaches_seen == want && percpu_malloc_tcaches_live == before &&
	   rc == 0 && b.in_use == a.in_use,
	   "a thread %s (%lu listed while it ran, %lu before, %lu after it "
	   "exited, a destructor allocating after the allocator's); in use "
	   "%llu before, %llu after",
	   want > before ? "on the lock path made a thread cache and gave "
			   "it back" : "with rseq made no thread cache",
	   tcaches_seen, before, percpu_malloc_tcaches_live,
	   (unsigned long long)a.in_use, (unsigned long long)b.in_use);
	pthread_key_delete(late_key);
}

/*
 * A cache the allocator's destructor cannot reach: a later key's
 * destructor re-arms itself until glibc's last round and only then
 * allocates, so the thread's first cache is made after the allocator's
 * key was passed. The next thread's new cache, and malloc_trim(), sweep
 * it: its thread is gone.
 */
static pthread_key_t last_key;
static int last_round_ran;

static void last_round(void *arg)
{
	uintptr_t round = (uintptr_t)arg;

	if (round < PTHREAD_DESTRUCTOR_ITERATIONS) {
		pthread_setspecific(last_key, (void *)(round + 1));
		return;
	}
	churn(48, 40);
	last_round_ran = 1;
}

static void *orphan_thread(void *arg)
{
	(void)arg;
	test_thread_setup(1);
	pthread_setspecific(last_key, (void *)1);
	return NULL;
}

static unsigned long run_thread(void *(*fn)(void *))
{
	pthread_t t;

	pthread_create(&t, NULL, fn, NULL);
	pthread_join(t, NULL);
	return percpu_malloc_tcaches_live;
}

static void orphaned_caches(void)
{
	struct percpu_malloc_check a, b;
	unsigned long before = percpu_malloc_tcaches_live, orphaned, swept,
		      trimmed;
	int lock_path = test_mode() != TEST_RSEQ, rc;

	pthread_key_create(&last_key, last_round);
	rc = percpu_malloc_check(&a);
	orphaned = run_thread(orphan_thread);
	swept = run_thread(cache_thread);
	run_thread(orphan_thread);
	malloc_trim(0);
	trimmed = percpu_malloc_tcaches_live;
	rc |= percpu_malloc_check(&b);
	ok(last_round_ran && orphaned == before + (unsigned long)lock_path &&
	   swept == before && trimmed == before && rc == 0 &&
	   b.in_use == a.in_use,
	   "a cache made in the last round of destructors (%lu listed, %lu "
	   "before) is swept by the next new cache (%lu) and by malloc_trim "
	   "(%lu); in use %llu before, %llu after", orphaned, before, swept,
	   trimmed, (unsigned long long)a.in_use,
	   (unsigned long long)b.in_use);
	pthread_key_delete(last_key);
}

/*
 * Fork from a thread that has a cache, then in the child make another
 * thread's cache, whose sweep looks at the oldest caches: the forking
 * thread's must count as alive (it took the child's thread id), the
 * parent's other threads' as gone. The child's thread then goes on with
 * its cache, and the walk must find every object.
 */
static void *child_cache_thread(void *arg)
{
	(void)arg;
	test_thread_setup(1);
	churn(48, 40);
	return NULL;
}

static void *forking_thread(void *arg)
{
	int status = -1, *good = arg;
	pid_t pid;

	test_thread_setup(1);
	churn(48, 40);
	pid = fork();
	if (pid == 0) {
		run_thread(child_cache_thread);
		churn(48, 40);
		churn(64, 40);
		_exit(percpu_malloc_check(NULL) == 0 ? 0 : 1);
	}
	*good = pid > 0 && waitpid(pid, &status, 0) == pid &&
		WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return NULL;
}

static void fork_caches(void)
{
	pthread_t t;
	int good = 0;

	pthread_create(&t, NULL, forking_thread, &good);
	pthread_join(t, NULL);
	ok(good, "fork from a thread with a cache: in the child a new "
	   "thread's sweep leaves the forking thread's cache alone, and "
	   "the walk finds every object");
}

static void check_walk(const char *when)
{
	struct percpu_malloc_check c;
	int rc = percpu_malloc_check(&c);

	ok(rc == 0, "consistency walk %s: %llu spans, %llu objects, %llu free, "
	   "%llu in use (counted %llu), %llu duplicates, %llu invalid, %llu "
	   "bad spans", when, (unsigned long long)c.spans,
	   (unsigned long long)c.objects, (unsigned long long)c.free,
	   (unsigned long long)c.in_use, (unsigned long long)c.in_use_counted,
	   (unsigned long long)c.duplicates, (unsigned long long)c.invalid,
	   (unsigned long long)c.bad_spans);
}

int main(void)
{
	struct percpu_malloc_stats st;
	pthread_t t;

	tap_check_mode();
	used_elsewhere();
	released_spans();
	hit_counts();
	percpu_malloc_stats(&st);
	ok(st.spans_live > 0 && st.range_bytes >= ((size_t)1 << 30),
	   "the allocator is the process's malloc (%llu spans, range %llu "
	   "GiB)", (unsigned long long)st.spans_live,
	   (unsigned long long)(st.range_bytes >> 30));
	ok(percpu_malloc_preinit_ok && st.preinit_allocs >= 3,
	   "allocations while setting up served from the bump area, freed, "
	   "resized, zeroed (%llu of them)",
	   (unsigned long long)st.preinit_allocs);
	everything();
	if (test_mode() == TEST_MIXED) {
		pthread_create(&t, NULL, lock_path_thread, NULL);
		pthread_join(t, NULL);
	}
	thread_caches();
	orphaned_caches();
	fork_caches();
	idle_drain();
	check_walk("after the run");
	ok(malloc_trim(0) >= 0, "malloc_trim");
	check_walk("after malloc_trim");
	percpu_malloc_stats(&st);
	ok(st.cls[3].size == 64 && st.cls[39].size == 32768,
	   "40 classes, 64 B the 4th, 32 KiB the last");
	return tap_done();
}
