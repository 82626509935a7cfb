// SPDX-License-Identifier: MIT
/*
 * tests/nomalloc.c: the library works underneath malloc. This program
 * replaces the malloc family and counts every call made while the calling
 * thread's flag is up. A priority-101 constructor raises the flag before
 * the library's own constructor (percpu_init, default priority: the
 * library is linked in from its archive) initializes it; main lowers it,
 * then raises it around each public call: allocation, every operation,
 * remote operations and drains, the counters, the mode queries and the
 * kill switch, from the main thread and from new threads, whose first
 * operation registers them. The flag is down whenever the test itself
 * prints or creates threads: stdio and pthread_create allocate.
 *
 * Every replaced call goes on to the next allocator (glibc's, or a
 * sanitizer's), so blocks stay consistent whoever allocates them. A call
 * while the flag is up goes through nomalloc_violation(): under gdb, a
 * breakpoint there shows where it came from.
 *
 * PERCPU_TEST_KEYS=n takes n pthread keys before the library initializes,
 * so that its keys come after them, as in a program whose other libraries
 * took keys first.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

/* ---- the replaced allocator ---- */

struct next_alloc {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
};

static struct next_alloc next;

/* dlsym() may allocate while it resolves: those blocks come from here. */
static char early[1 << 16] __attribute__((aligned(64)));
static size_t early_used;
static int resolving;

#define MAX_SEEN 4

/* What the library was doing when it allocated, and from where. */
struct seen {
	const char *fn;
	const char *phase;
	void *caller;
};

static __thread int forbidden __attribute__((tls_model("initial-exec")));
static const char *phase = "initialization, in the library's constructor";
static int nr_bad, seen_from;
static struct seen seen[MAX_SEEN];	/* the first calls since seen_from */

__attribute__((noinline)) void nomalloc_violation(const char *fn, void *caller)
{
	int i = __atomic_fetch_add(&nr_bad, 1, __ATOMIC_RELAXED) - seen_from;

	if (i >= 0 && i < MAX_SEEN)
		seen[i] = (struct seen){ fn, phase, caller };
}

static void check(const char *fn, void *caller)
{
	if (forbidden)
		nomalloc_violation(fn, caller);
}

static void *early_alloc(size_t size)
{
	size_t at = early_used;

	if (size > sizeof(early) - at)
		return NULL;
	early_used += (size + 63) & ~(size_t)63;
	return early + at;
}

static int is_early(const void *p)
{
	return (const char *)p >= early && (const char *)p < early + sizeof(early);
}

static void resolve(void)
{
	resolving = 1;
	next.malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	next.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	next.realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	next.free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	next.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(
		RTLD_NEXT, "posix_memalign");
	next.aligned_alloc = (void *(*)(size_t, size_t))dlsym(
		RTLD_NEXT, "aligned_alloc");
	resolving = 0;
}

/* Whether the next allocator is there; else use the early arena. */
static int ready(void)
{
	if (!next.free && !resolving)
		resolve();
	return next.free != NULL;
}

void *malloc(size_t size)
{
	check("malloc", __builtin_return_address(0));
	return ready() ? next.malloc(size) : early_alloc(size);
}

void *calloc(size_t n, size_t size)
{
	check("calloc", __builtin_return_address(0));
	if (ready())
		return next.calloc(n, size);
	return size && n > SIZE_MAX / size ? NULL : early_alloc(n * size);
}

void *realloc(void *p, size_t size)
{
	void *q;

	check("realloc", __builtin_return_address(0));
	if (!is_early(p))
		return ready() ? next.realloc(p, size) : early_alloc(size);
	q = ready() ? next.malloc(size) : early_alloc(size);
	if (q) {
		size_t left = (size_t)(early + sizeof(early) - (char *)p);

		memcpy(q, p, size < left ? size : left);
	}
	return q;
}

void free(void *p)
{
	check("free", __builtin_return_address(0));
	if (p && !is_early(p) && ready())
		next.free(p);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	check("posix_memalign", __builtin_return_address(0));
	return ready() ? next.posix_memalign(out, align, size) : ENOMEM;
}

void *aligned_alloc(size_t align, size_t size)
{
	check("aligned_alloc", __builtin_return_address(0));
	return ready() ? next.aligned_alloc(align, size) : NULL;
}

/* ---- raising and lowering the flag ---- */

static void take_keys(void)
{
	const char *v = getenv("PERCPU_TEST_KEYS");
	pthread_key_t key;

	for (int n = v ? atoi(v) : 0; n > 0; n--)
		pthread_key_create(&key, NULL);
}

__attribute__((constructor(101))) static void before_library(void)
{
	take_keys();
	forbidden = 1;
}

/* Raise this thread's flag for the library's work named `what`. */
static int begin(const char *what)
{
	phase = what;
	seen_from = __atomic_load_n(&nr_bad, __ATOMIC_RELAXED);
	forbidden = 1;
	return seen_from;
}

/* Where the caller lies: object and offset, for addr2line. */
static void diag_seen(const struct seen *s)
{
	Dl_info info;

	if (dladdr(s->caller, &info) && info.dli_fname)
		tap_diag("  %s during %s, called from %s+%#lx (%s)", s->fn,
			 s->phase, info.dli_fname,
			 (unsigned long)((char *)s->caller - (char *)info.dli_fbase),
			 info.dli_sname ? info.dli_sname : "?");
	else
		tap_diag("  %s during %s, called from %p", s->fn, s->phase,
			 s->caller);
}

/* Lower the flag: no malloc-family call since begin() returned mark. */
static void end(int mark)
{
	int now;

	forbidden = 0;
	now = __atomic_load_n(&nr_bad, __ATOMIC_RELAXED);
	ok(now == mark, "no malloc-family call: %s (%d calls)", phase,
	   now - mark);
	for (int i = 0; i < now - mark && i < MAX_SEEN; i++)
		diag_seen(&seen[i]);
	if (now > mark)
		tap_diag("  gdb: break nomalloc_violation, then bt");
}

/* ---- the library's work ---- */

static int nr;

static void test_memory(void)
{
	intptr_t one = 1;
	int mark = begin("percpu_alloc, percpu_alloc_init, percpu_free");
	void *small = percpu_alloc(8), *big = percpu_alloc(PERCPU_ALLOC_MAX);
	intptr_t *init = percpu_alloc_init(sizeof(one), &one);
	int freed = percpu_free(small) | percpu_free(big) | percpu_free(init);
	int refused = percpu_free(&one) == -1 && !percpu_alloc(0);

	end(mark);
	ok(small && big && init && !freed && refused, "allocated and freed");
}

/*
 * More chunks than the chunk table's first page holds (512 pointers): the
 * table must grow. A 4096-byte object takes one of a chunk's 256 pages.
 * They stay allocated: freeing one reads its pages in every shard, and on
 * some kernels that commits memory. The first and the last are freed, so
 * that a free looks through the grown table.
 */
#define TABLE_OBJECTS (600 * 256)
static void *objects[TABLE_OBJECTS];

static void test_chunk_table(void)
{
	int mark = begin("percpu_alloc of 600 chunks, percpu_free");
	int got = 0, freed;

	for (int i = 0; i < TABLE_OBJECTS; i++)
		got += (objects[i] = percpu_alloc(4096)) != NULL;
	freed = !percpu_free(objects[0]) &&
		!percpu_free(objects[TABLE_OBJECTS - 1]);
	end(mark);
	ok(got == TABLE_OBJECTS && freed,
	   "%d objects of 4096 bytes allocated, first and last freed", got);
}

/* The operations of ops.h on p, a counter at 0, which ends at 3, and q,
 * which ends at 5. */
static void run_ops(intptr_t *p, intptr_t *q)
{
	int shard;
	intptr_t v;

	percpu_add(p, 1);
	percpu_fetch_add(p, 1, NULL);
	percpu_xchg(p, percpu_xchg(p, 0, &shard), NULL);
	do
		v = percpu_load(p, &shard);
	while (percpu_cas(p, shard, v, v + 1) != PERCPU_OK);
	percpu_store(q, 5);
	percpu_shard_id();
	percpu_ptr(p, nr - 1);
	percpu_nr_shards();
}

static void test_ops(const char *what)
{
	int mark = begin(what);
	intptr_t *p = percpu_alloc(sizeof(*p)), *q = percpu_alloc(sizeof(*q));

	run_ops(p, q);
	end(mark);
	ok(test_sum(p) == 3 && test_sum(q) == 5, "operations summed to %ld, %ld",
	   (long)test_sum(p), (long)test_sum(q));
	percpu_free(p);
	percpu_free(q);
}

/* cmp2_store, cas_store2 and memcpy_store until each commits. */
static void run_multi(intptr_t *p, intptr_t *q)
{
	intptr_t buf[4] = { 1, 2, 3, 4 }, dst[4];
	int shard;

	while (percpu_cmp2_store(p, shard = percpu_shard_id(), 0, q, 0, 1))
		;
	while (percpu_cas_store2(p, shard = percpu_shard_id(), 1, 2, q, 1))
		;
	while (percpu_cas_store2_release(p, shard = percpu_shard_id(), 2, 3,
					 q, 2))
		;
	while (percpu_memcpy_store(p, shard = percpu_shard_id(), 3, 4, dst,
				   buf, sizeof(buf)))
		;
	while (percpu_memcpy_store_release(p, shard = percpu_shard_id(), 4, 0,
					   dst, buf, sizeof(buf)))
		;
}

static void test_multi(void)
{
	int mark = begin("multi-word operations");
	intptr_t *p = percpu_alloc(sizeof(*p)), *q = percpu_alloc(sizeof(*q));

	run_multi(p, q);
	end(mark);
	ok(test_sum(p) == 0 && test_sum(q) == 2, "multi-word operations done");
	percpu_free(p);
	percpu_free(q);
}

static struct percpu_list_node nodes[4];

/* Push and pop a list, push and pop a stack, lock and unlock. */
static int run_structures(struct percpu_list *list, struct percpu_stack *st,
			  intptr_t *lock)
{
	void *out[4];
	int good = 1;

	percpu_list_push(list, &nodes[0]);
	good &= percpu_list_pop(list, NULL) == &nodes[0];
	percpu_stack_push(st, (void *const *)objects, 4, NULL);
	good &= percpu_stack_pop(st, out, 4, NULL) == 4;
	percpu_unlock(lock, percpu_lock(lock));
	return good;
}

static void test_structures(void)
{
	int mark = begin("list, stack and lock");
	struct percpu_list *list = percpu_alloc(sizeof(*list));
	struct percpu_stack *st = percpu_stack_alloc(8);
	intptr_t *lock = percpu_alloc(sizeof(*lock));
	int good = run_structures(list, st, lock);

	end(mark);
	ok(good, "pushed and popped");
	percpu_free(list);
	percpu_free(st);
	percpu_free(lock);
}

static void add_one(void *arg, int shard)
{
	*(intptr_t *)percpu_ptr(arg, shard) += 1;
}

/* Every remote call on every shard; returns what the counter held. */
static intptr_t run_remote(intptr_t *p, struct percpu_list *list,
			   struct percpu_stack *st)
{
	intptr_t taken = 0;
	void *out[4];

	for (int s = 0; s < nr; s++) {
		percpu_remote(s, add_one, p);
		taken += percpu_remote_xchg(p, s, 0);
		percpu_list_drain(list, s);
		percpu_stack_drain(st, s, out, 4);
	}
	return taken;
}

static void test_remote(void)
{
	int mark = begin("percpu_remote, remote_xchg and the drains");
	intptr_t *p = percpu_alloc(sizeof(*p));
	struct percpu_list *list = percpu_alloc(sizeof(*list));
	struct percpu_stack *st = percpu_stack_alloc(4);
	intptr_t taken = run_remote(p, list, st);

	end(mark);
	ok(taken == nr, "remote adds taken back: %ld", (long)taken);
	percpu_free(p);
	percpu_free(list);
	percpu_free(st);
}

/* The statistics that are no export: counters, gauges, histograms. */
static intptr_t run_stats(void)
{
	struct percpu_counter c;
	struct percpu_updown u;
	struct percpu_histogram h;
	struct percpu_gauge g = PERCPU_GAUGE_INIT;
	intptr_t taken = 0, sum;

	percpu_counter_init(&c);
	percpu_counter_add(&c, 3);
	sum = percpu_counter_sum(&c) + percpu_counter_read(&c, 1000000000);
	percpu_counter_reset(&c, &taken);
	percpu_counter_destroy(&c);
	percpu_updown_init(&u);
	percpu_updown_add(&u, 1);
	sum += percpu_updown_sum(&u);
	percpu_updown_destroy(&u);
	percpu_histogram_init(&h, UINT64_MAX);
	percpu_histogram_record(&h, 12345);
	percpu_histogram_destroy(&h);
	percpu_gauge_add(&g, 1);
	return sum + taken + percpu_gauge_read(&g);
}

static void test_stats(void)
{
	int mark = begin("counters, gauges and histograms");
	intptr_t sum = run_stats();

	end(mark);
	ok(sum == 3 + 3 + 1 + 3 + 1, "statistics summed (%ld)", (long)sum);
}

static void test_mode_queries(void)
{
	int mark = begin("percpu_mode_get and percpu_runtime_info_get");
	struct percpu_runtime_info info = { .size = sizeof(info) };
	const char *reason = NULL;
	int r = percpu_runtime_info_get(&info);

	percpu_mode_get(&reason);
	end(mark);
	ok(r == 0 && reason, "mode read (%s)", reason ? reason : "none");
}

/* The settings as read, and the file read again (it does not disable). */
static void test_settings(void)
{
	int mark = begin("the settings and percpu_reload_settings");
	struct percpu_setting s;
	const char *state = NULL;
	unsigned int n = 0;

	while (percpu_setting_get(n, &s) == 0)
		n++;
	percpu_settings_file(&state);
	percpu_settings_note(0);
	percpu_reload_settings();
	end(mark);
	ok(n == 4 && state, "4 settings read, the file %s", state);
}

#define NR_THREADS 4

static intptr_t *shared_counter;
static int stop;

/* Push the only node of `list` and take it back: popped here, or drained
 * from the shard it went to if the thread moved in between. */
static void push_and_take_back(struct percpu_list *list,
			       struct percpu_list_node *node)
{
	percpu_list_push(list, node);
	if (percpu_list_pop(list, NULL))
		return;
	for (int s = 0; s < nr; s++)
		percpu_list_drain(list, s);
}

/* A new thread: its first operation registers it; then operations go on
 * until told to stop, across the kill switch. */
static void *thread_main(void *arg)
{
	struct percpu_list_node node;
	struct percpu_list *list;
	intptr_t *lock;
	long ops = 0;

	test_thread_setup((int)(intptr_t)arg);
	forbidden = 1;
	list = percpu_alloc(sizeof(*list));
	lock = percpu_alloc(sizeof(*lock));
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) || ops < 1000) {
		percpu_add(shared_counter, 1);
		push_and_take_back(list, &node);
		percpu_unlock(lock, percpu_lock(lock));
		ops++;
	}
	percpu_free(list);
	percpu_free(lock);
	forbidden = 0;
	return (void *)ops;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* Threads operating; main turns rseq off while they run. */
static void test_threads_and_kill_switch(void)
{
	pthread_t tid[NR_THREADS];
	long total = 0;
	void *ops;
	int mark;

	shared_counter = percpu_alloc(sizeof(*shared_counter));
	mark = begin("new threads' operations, and the kill switch among them");
	forbidden = 0;
	for (int i = 0; i < NR_THREADS; i++)
		pthread_create(&tid[i], NULL, thread_main, (void *)(intptr_t)i);
	sleep_ms(50);
	forbidden = 1;
	percpu_disable_rseq();
	forbidden = 0;
	sleep_ms(50);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NR_THREADS; i++) {
		pthread_join(tid[i], &ops);
		total += (long)ops;
	}
	end(mark);
	ok(test_sum(shared_counter) == total, "threads' adds: %ld of %ld",
	   (long)test_sum(shared_counter), total);
}

int main(void)
{
	int initialized = percpu_rt_shards() != 0;

	end(0);
	ok(initialized, "the library initialized in its constructor");
	tap_check_mode();
	nr = percpu_nr_shards();
	test_thread_setup(1);
	test_memory();
	test_chunk_table();
	test_ops("operations of ops.h");
	test_multi();
	test_structures();
	test_remote();
	test_stats();
	test_mode_queries();
	test_settings();
	test_threads_and_kill_switch();
	test_ops("operations of ops.h after the kill switch");
	return tap_done();
}
