// SPDX-License-Identifier: MIT
/*
 * src/malloc/init.c: initialization, the pre-init bump area, fork.
 *
 * The allocator sets itself up on its first call, whoever makes it (the
 * dynamic loader and libc allocate before any constructor runs), under a
 * once-guard that allocates nothing: a state word taken by compare and
 * swap; other threads wait for it with sched_yield(). Setting up reserves
 * the range, creates the counters and the per-CPU stacks (which
 * initializes the percpu library) and registers the fork handlers. An
 * allocation made meanwhile by the thread that sets up (glibc's
 * pthread_atfork() may allocate, and so may anything the library calls)
 * is served from a static bump area: free() recognizes its objects and
 * never recycles them.
 *
 * Fork: the prepare handler takes every lock of the allocator (statistics
 * text, drain, every class, spans, the thread caches' list, the large
 * registry), parent and child
 * release them, so the child finds every list consistent. The handlers are
 * registered after the percpu library's own (the stacks initialized it),
 * so ours run before its prepare and after its parent/child handlers.
 *
 * Fork in the middle of the set-up: the once-guard holds the pid and the
 * thread id of the thread setting up. A child forked meanwhile by another
 * thread has no thread setting up: it finds another pid there (or, if it
 * is pid 1 of a new pid namespace as its parent was of its own, its own
 * thread id, or one the kernel does not know in its process), and its
 * next allocation takes the set-up over; each step of set_up() skips what
 * the parent had done before the fork.
 */
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "malloc_internal.h"
#include "runtime/sys.h"

#define BUMP_SIZE ((size_t)1 << 20)

/*
 * init_state: INIT_NONE, INIT_DONE, or who sets up: the pid of its
 * process in the high half, its thread id in the low half.
 */
#define INIT_NONE ((uint64_t)0)
/* Waiting this many times, a thread asks the kernel whether the thread
 * setting up still exists. */
#define WAITS_BEFORE_ASKING 256u

struct percpu_stack *caches[NR_CLASSES + 1];
int central_ok;

uint64_t init_state;
/* Set by the prepare handler: a child forked in the middle of the
 * set-up knows from it whether the handlers are in already (registering
 * them twice would deadlock the next fork). */
static int atfork_registered;
static __thread int initializing __attribute__((tls_model("initial-exec")));

static char bump_area[BUMP_SIZE] __attribute__((aligned(4096)));
static size_t bump_used;
/* Counted apart: the counters may not exist yet. */
uint64_t bump_allocs;

void die(const char *what)
{
	static const char pre[] = "percpu-malloc: ";
	ssize_t rc;

	rc = write(STDERR_FILENO, pre, sizeof(pre) - 1);
	rc = write(STDERR_FILENO, what, strlen(what));
	rc = write(STDERR_FILENO, "\n", 1);
	(void)rc;
	abort();
}

int malloc_ready(void)
{
	return __atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == INIT_DONE;
}

/* ---- the bump area: 16 bytes before each object hold its size ---- */

int in_bump(const void *p)
{
	return (const char *)p >= bump_area &&
	       (const char *)p < bump_area + BUMP_SIZE;
}

size_t bump_usable(const void *p)
{
	return ((const size_t *)p)[-1];
}

void *bump_alloc(size_t size, size_t align)
{
	size_t at = __atomic_load_n(&bump_used, __ATOMIC_RELAXED), start, end;

	if (align < MIN_ALIGN)
		align = MIN_ALIGN;
	if (size > BUMP_SIZE || align > BUMP_SIZE / 2)
		return NULL;
	do {
		start = (at + MIN_ALIGN + align - 1) & ~(align - 1);
		end = start + ((size + MIN_ALIGN - 1) & ~(size_t)(MIN_ALIGN - 1));
		if (end > BUMP_SIZE)
			return NULL;
	} while (!__atomic_compare_exchange_n(&bump_used, &at, end, 1,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	((size_t *)(bump_area + start))[-1] = end - start;
	__atomic_fetch_add(&bump_allocs, 1, __ATOMIC_RELAXED);
	return bump_area + start;
}

/* ---- fork ---- */

/*
 * The handlers may be in twice even so: glibc lets pthread_atfork()
 * register while another thread's fork() runs its prepare handlers, and
 * does not run the new one for that fork, whose child then registers
 * them again when it takes the set-up over (and a child made by _Fork()
 * runs no handler at all). A depth per thread makes a second pair do
 * nothing: prepare and parent/child handlers run in the forking thread,
 * whose depth the child inherits.
 */
static __thread int fork_depth __attribute__((tls_model("initial-exec")));

static void fork_prepare(void)
{
	__atomic_store_n(&atfork_registered, 1, __ATOMIC_RELAXED);
	if (fork_depth++)
		return;
	stats_lock();
	drain_lock();
	central_lock_all();
	tc_lock_all();
	large_lock();
}

static void fork_release(void)
{
	if (--fork_depth)
		return;
	large_unlock();
	tc_unlock_all();
	central_unlock_all();
	drain_unlock();
	stats_unlock();
}

/* ---- setting up ---- */

#ifdef PERCPU_INJECT
/*
 * Test builds: allocate from inside the set-up, as glibc's pthread_atfork()
 * or the library might, so that the bump area serves, is freed, resized and
 * zeroed. tests/malloc_conform.c checks the result (percpu_malloc_preinit_ok:
 * 1 if every step gave what it should).
 */
EXPORT int percpu_malloc_preinit_ok;

static void allocate_while_setting_up(void)
{
	unsigned char *p = malloc(100), *q, *z = calloc(10, 10);
	int good = p && z && in_bump(p) && in_bump(z) &&
		   malloc_usable_size(p) >= 100;

	if (p)
		memset(p, 0x7e, 100);
	for (int i = 0; good && i < 100; i++)
		good = z[i] == 0;
	q = realloc(p, 300);
	good = good && q && in_bump(q) && q[99] == 0x7e;
	free(q);
	free(z);
	free(p == q ? NULL : p);
	percpu_malloc_preinit_ok = good;
}

/*
 * Test builds: with PERCPU_MALLOC_TEST_FORK_AT=k in the environment, the
 * thread setting up forks at point k of set_up(), once; by _Fork() (no
 * fork handler runs) with PERCPU_MALLOC_TEST_FORK_RAW=1, which leaves the
 * child with the handlers registered but not knowing it. The child clears
 * its copy of `initializing`, as the child of another thread would have
 * it, and runs the test's percpu_malloc_test_child(), which must _exit();
 * the parent keeps the child's wait status in percpu_malloc_fork_status.
 */
EXPORT int percpu_malloc_fork_status = -1;
void percpu_malloc_test_child(void) __attribute__((weak));

static void fork_point(int k)
{
	static int forked;
	const char *at = getenv("PERCPU_MALLOC_TEST_FORK_AT"), *raw;
	pid_t pid;

	if (forked || !at || atoi(at) != k || !percpu_malloc_test_child)
		return;
	forked = 1;
	raw = getenv("PERCPU_MALLOC_TEST_FORK_RAW");
	pid = raw && *raw == '1' ? _Fork() : fork();
	if (pid == 0) {
		initializing = 0;
		percpu_malloc_test_child();
		_exit(99);
	}
	if (pid > 0 && waitpid(pid, &percpu_malloc_fork_status, 0) != pid)
		percpu_malloc_fork_status = -1;
}
#else
static void allocate_while_setting_up(void)
{
}

static void fork_point(int k)
{
	(void)k;
}
#endif

static void set_up(void)
{
	allocate_while_setting_up();
	classes_init();
	fork_point(1);
	stats_hits_from_env();
	stats_init();
	fork_point(2);
	if (!__atomic_load_n(&atfork_registered, __ATOMIC_RELAXED))
		pthread_atfork(fork_prepare, fork_release, fork_release);
	fork_point(3);
	if (range_init())
		return;		/* every object a mapping of its own */
	fork_point(4);
	__atomic_store_n(&central_ok, 1, __ATOMIC_RELEASE);
	for (unsigned int c = 1; c <= NR_CLASSES; c++) {
		if (!caches[c])
			__atomic_store_n(&caches[c], cache_alloc(c),
					 __ATOMIC_RELEASE);
		if (c == NR_CLASSES / 2)
			fork_point(5);
	}
	/* Spans first: until malloc's tables are published no other thread
	 * gets past malloc_init(), so none carves a span meanwhile. */
	span_caches_init();
	tc_init();
	caches_by_size_init();
}

static void run_set_up(void)
{
	int saved = errno;

	initializing = 1;
	set_up();
	initializing = 0;
	__atomic_store_n(&init_state, INIT_DONE, __ATOMIC_RELEASE);
	errno = saved;
}

static uint64_t setter_id(void)
{
	return (uint64_t)(uint32_t)sys_getpid() << 32 | (uint32_t)gettid();
}

/*
 * 1 if the thread named by `s` does not set up in this process: another
 * process's (this one is a fork child), this very thread (which is not
 * setting up: a child in a new pid namespace can have its parent's pid and
 * the setter's thread id), or, when `ask`, a thread the kernel does not
 * know in this process.
 */
static int setter_gone(uint64_t s, int ask)
{
	pid_t pid = (pid_t)(s >> 32), tid = (pid_t)(uint32_t)s;
	int saved = errno, gone;

	if (pid != sys_getpid() || tid == gettid())
		return 1;
	gone = ask && syscall(SYS_tgkill, pid, tid, 0) == -1 && errno == ESRCH;
	errno = saved;
	return gone;
}

/* malloc_init (malloc_internal.h) when the allocator is not set up yet. */
int malloc_init_slow(void)
{
	uint64_t s = __atomic_load_n(&init_state, __ATOMIC_ACQUIRE);
	unsigned int waits = 0;

	if (LIKELY(s == INIT_DONE))
		return 1;
	if (initializing)
		return 0;
	while (s != INIT_DONE) {
		if ((s == INIT_NONE ||
		     setter_gone(s, ++waits % WAITS_BEFORE_ASKING == 0)) &&
		    __atomic_compare_exchange_n(&init_state, &s, setter_id(), 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_ACQUIRE)) {
			run_set_up();
			return 1;
		}
		sched_yield();
		s = __atomic_load_n(&init_state, __ATOMIC_ACQUIRE);
	}
	return 1;
}
