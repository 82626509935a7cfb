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
 * text, drain, every class, spans, the large registry), parent and child
 * release them, so the child finds every list consistent. The handlers are
 * registered after the percpu library's own (the stacks initialized it),
 * so ours run before its prepare and after its parent/child handlers.
 */
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "malloc_internal.h"

#define BUMP_SIZE ((size_t)1 << 20)

enum { INIT_NONE, INIT_BUSY, INIT_DONE };

struct percpu_stack *caches[NR_CLASSES + 1];
int central_ok;

static int init_state;
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

static void fork_prepare(void)
{
	stats_lock();
	drain_lock();
	central_lock_all();
	large_lock();
}

static void fork_release(void)
{
	large_unlock();
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
#else
static void allocate_while_setting_up(void)
{
}
#endif

static void set_up(void)
{
	allocate_while_setting_up();
	classes_init();
	stats_init();
	pthread_atfork(fork_prepare, fork_release, fork_release);
	if (range_init())
		return;		/* every object a mapping of its own */
	__atomic_store_n(&central_ok, 1, __ATOMIC_RELEASE);
	for (unsigned int c = 1; c <= NR_CLASSES; c++)
		__atomic_store_n(&caches[c],
				 percpu_stack_alloc(classes[c].capacity),
				 __ATOMIC_RELEASE);
}

/*
 * Set up if nobody has. Returns 1 when the allocator is set up, 0 when the
 * caller must use the bump area: it is the thread setting up.
 */
int malloc_init(void)
{
	int s = __atomic_load_n(&init_state, __ATOMIC_ACQUIRE);

	if (LIKELY(s == INIT_DONE))
		return 1;
	if (initializing)
		return 0;
	if (s == INIT_NONE &&
	    __atomic_compare_exchange_n(&init_state, &s, INIT_BUSY, 0,
					__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
		int saved = errno;

		initializing = 1;
		set_up();
		initializing = 0;
		__atomic_store_n(&init_state, INIT_DONE, __ATOMIC_RELEASE);
		errno = saved;
		return 1;
	}
	while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != INIT_DONE)
		sched_yield();
	return 1;
}
