// SPDX-License-Identifier: MIT
/*
 * src/malloc/tcache.c: per-thread caches, for threads on the lock path.
 *
 * Without rseq every cache operation takes its shard's word with an atomic
 * instruction, and with many threads per CPU they queue on the few words
 * (ring64 with 32 threads on 2 CPUs: 33 ns a pair, glibc 6.4). So a
 * thread that finds itself on the lock path (percpu_mode_get()) keeps up
 * to TC_SLOTS objects of each class up to TC_MAX_SIZE bytes for itself,
 * and moves TC_MOVE at a time to and from its shard's cache: one shard
 * word taken per TC_MOVE objects. A thread with rseq never makes one: its
 * per-CPU caches are faster, and their memory does not grow with threads.
 *
 * A thread's cache is a page of its own, on a ring (under tc_lock) so
 * that the consistency walk and the counts find its objects. A pthread
 * key's destructor gives its objects back and unmaps it when the thread
 * exits; from then on the thread uses the shared caches, so a destructor
 * that runs later and frees makes no new one. The key is made with the
 * allocator, so that its index is low and its value needs no block glibc
 * would allocate (a nested pthread_setspecific() lost it); past 31 there
 * are no thread caches (tc_key_init). A cache the destructor cannot reach
 * (made in the last round of destructors, or after) is reclaimed by a
 * sweep: each new cache, and malloc_trim(), look at the oldest ones and
 * give back those whose thread no longer exists (tgkill() with signal 0
 * finds no such thread). Fork: the child's caches of the parent's other
 * threads are reclaimed so too; the forking thread's takes the child's
 * thread id.
 */
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "malloc_internal.h"
#include "runtime/sys.h"

#define TC_MAX_SIZE 1024u
#define TC_CLASSES 20u		/* classes 1..20 are those up to 1 KiB */
#define TC_SLOTS 16u
#define TC_MOVE 8u
#define TC_SWEEP 2u		/* caches a new cache looks at */

struct tc_links {
	struct tc_links *next;	/* newer */
	struct tc_links *prev;	/* older */
};

/* One page: the ring's links, then per class its count and objects. */
struct tcache {
	struct tc_links links;	/* first: a cache is its links */
	pid_t tid;		/* the owner */
	uint32_t count[TC_CLASSES + 1];
	uint8_t fills[TC_CLASSES + 1];	/* refills from the shard's cache */
	void *slot[TC_CLASSES + 1][TC_SLOTS];
};
_Static_assert(sizeof(struct tcache) <= 4096, "a thread cache is one page");

enum tc_state { TC_NONE, TC_MINE, TC_GONE };

static __thread struct tcache *tc_self
	__attribute__((tls_model("initial-exec")));
static __thread enum tc_state tc_state
	__attribute__((tls_model("initial-exec")));

static pthread_mutex_t tc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tc_links tc_ring = { &tc_ring, &tc_ring };
static int tc_key_ok;

/* The caches on the ring, and the key; test builds export them
 * (tests/malloc_conform.c, tests/malloc_key.c). */
#ifdef PERCPU_INJECT
EXPORT unsigned long percpu_malloc_tcaches_live;
#define tc_listed percpu_malloc_tcaches_live
EXPORT pthread_key_t percpu_malloc_tc_key = (pthread_key_t)-1; /* none yet */
#define tc_key percpu_malloc_tc_key
#else
static unsigned long tc_listed;
static pthread_key_t tc_key;
#endif

/* The owner's writes of a count: percpu_malloc_stats() reads them from
 * any thread (tc_cached). */
static void tc_set_count(struct tcache *tc, unsigned int cls, uint32_t n)
{
	__atomic_store_n(&tc->count[cls], n, __ATOMIC_RELAXED);
}

/* Under tc_lock: l becomes the newest. */
static void ring_add(struct tc_links *l)
{
	l->prev = tc_ring.prev;
	l->next = &tc_ring;
	tc_ring.prev->next = l;
	tc_ring.prev = l;
}

/* Under tc_lock. */
static void ring_del(struct tc_links *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static void tc_link(struct tcache *tc)
{
	pthread_mutex_lock(&tc_lock);
	ring_add(&tc->links);
	tc_listed++;
	pthread_mutex_unlock(&tc_lock);
}

static void tc_unlink(struct tcache *tc)
{
	pthread_mutex_lock(&tc_lock);
	ring_del(&tc->links);
	tc_listed--;
	pthread_mutex_unlock(&tc_lock);
}

static void tc_give_all(struct tcache *tc)
{
	for (unsigned int c = 1; c <= TC_CLASSES; c++) {
		uint32_t n = tc->count[c];

		if (n) {
			tc_set_count(tc, c, 0);
			cache_give(c, tc->slot[c], n);
		}
	}
}

static void tc_drop(struct tcache *tc)
{
	tc_give_all(tc);
	munmap(tc, sizeof(*tc));
}

static void tc_exit(void *arg)
{
	struct tcache *tc = arg;

	tc_self = NULL;
	tc_state = TC_GONE;
	tc_unlink(tc);
	tc_drop(tc);
}

/* 0 only if no thread of this process has the owner's id any more. */
static int tc_owner_alive(const struct tcache *tc)
{
	return syscall(SYS_tgkill, sys_getpid(), tc->tid, 0) == 0 ||
	       errno != ESRCH;
}

/*
 * Look at the n oldest caches (not the caller's): those of threads gone
 * are given back, the others become the newest, so that successive
 * sweeps go round the ring.
 */
static void tc_sweep(unsigned int n)
{
	struct tc_links *gone = NULL;
	int saved = errno;

	pthread_mutex_lock(&tc_lock);
	for (n = n < tc_listed ? n : (unsigned int)tc_listed; n; n--) {
		struct tcache *tc = (struct tcache *)tc_ring.next;

		ring_del(&tc->links);
		if (tc == tc_self || tc_owner_alive(tc)) {
			ring_add(&tc->links);
			continue;
		}
		tc_listed--;
		tc->links.next = gone;
		gone = &tc->links;
	}
	pthread_mutex_unlock(&tc_lock);
	while (gone) {
		struct tcache *tc = (struct tcache *)gone;

		gone = tc->links.next;
		tc_drop(tc);
	}
	errno = saved;
}

/*
 * glibc keeps the values of keys 0..31 in the thread itself and those of
 * later keys in blocks of 32 that pthread_setspecific() callocs, from us,
 * at a thread's first use of a key of the block. Were that calloc the
 * one to make the thread's cache, our pthread_setspecific() nested in it
 * would calloc the block too, and glibc then stores its own over ours:
 * our value and that block are lost, one block per thread (tests/
 * malloc_key.c). Set-up makes the key early, so it is past 31 only in a
 * program that made 32 keys before its first allocation: there, no
 * thread caches (lock-path threads share their shard's cache, slower but
 * exact). The key stays made: one never set costs nothing.
 */
#define TC_KEY_DIRECT 32u

static int tc_key_direct(pthread_key_t k)
{
#ifdef __GLIBC__
	return k < TC_KEY_DIRECT;
#else
	(void)k;
	return 1;
#endif
}

static void tc_key_init(void)
{
	tc_key_ok = classes[TC_CLASSES].size == TC_MAX_SIZE &&
		    pthread_key_create(&tc_key, tc_exit) == 0 &&
		    tc_key_direct(tc_key);
}

void tc_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, tc_key_init);
}

/*
 * The calling thread's cache, made at its first miss on the lock path;
 * NULL for a thread with rseq, an exiting one, or when no cache can be
 * had (it then uses the shared caches, as before).
 */
static struct tcache *tc_mine(void)
{
	struct tcache *tc;

	if (LIKELY(tc_self != NULL) || tc_state != TC_NONE ||
	    percpu_mode_get(NULL) != PERCPU_MODE_LOCK)
		return tc_self;
	tc_state = TC_GONE;	/* a malloc from in here makes none */
	tc_init();
	if (!tc_key_ok)
		return NULL;
	tc = mmap(NULL, sizeof(*tc), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tc == MAP_FAILED)
		return NULL;
	tc->tid = gettid();
	tc_link(tc);
	if (pthread_setspecific(tc_key, tc)) {
		tc_unlink(tc);
		munmap(tc, sizeof(*tc));
		return NULL;
	}
	tc_state = TC_MINE;
	tc_self = tc;
	tc_sweep(TC_SWEEP);
	return tc;
}

/*
 * A refill moves 1, then 2, 4, and from then on TC_MOVE objects: a thread
 * that allocates a class once or twice (most of a program's threads, for
 * most classes) does not take a batch of it out of the shared caches.
 */
static size_t tc_refill_n(struct tcache *tc, unsigned int cls)
{
	uint8_t f = tc->fills[cls];

	if (f >= 3)
		return TC_MOVE;
	tc->fills[cls] = (uint8_t)(f + 1);
	return (size_t)1 << f;
}

void *tc_alloc(unsigned int cls)
{
	struct tcache *tc;
	size_t k;

	if (cls > TC_CLASSES || !(tc = tc_mine()))
		return NULL;
	k = tc->count[cls];
	if (!k && caches[cls])
		k = cache_pop_batch(caches[cls], tc->slot[cls],
				    tc_refill_n(tc, cls));
	if (!k)
		return NULL;
	tc_set_count(tc, cls, (uint32_t)--k);
	return tc->slot[cls][k];
}

int tc_free(unsigned int cls, void *p)
{
	struct tcache *tc;
	uint32_t k;

	if (cls > TC_CLASSES || !(tc = tc_mine()))
		return 0;
	k = tc->count[cls];
	if (k == TC_SLOTS) {
		k -= TC_MOVE;
		cache_give(cls, &tc->slot[cls][k], TC_MOVE);
	}
	tc->slot[cls][k] = p;
	tc_set_count(tc, cls, k + 1);
	return 1;
}

uint64_t tc_cached(unsigned int cls)
{
	uint64_t sum = 0;

	if (cls > TC_CLASSES)
		return 0;
	pthread_mutex_lock(&tc_lock);
	for (struct tc_links *l = tc_ring.next; l != &tc_ring; l = l->next)
		sum += __atomic_load_n(&((struct tcache *)l)->count[cls],
				       __ATOMIC_RELAXED);
	pthread_mutex_unlock(&tc_lock);
	return sum;
}

void tc_walk(unsigned int cls, void (*fn)(void *arg, void *const *p, size_t n),
	     void *arg)
{
	if (cls > TC_CLASSES)
		return;
	pthread_mutex_lock(&tc_lock);
	for (struct tc_links *l = tc_ring.next; l != &tc_ring; l = l->next)
		fn(arg, ((struct tcache *)l)->slot[cls],
		   ((struct tcache *)l)->count[cls]);
	pthread_mutex_unlock(&tc_lock);
}

void tc_trim(void)
{
	if (tc_self)
		tc_give_all(tc_self);
	tc_sweep(~0u);
}

void tc_lock_all(void)
{
	pthread_mutex_lock(&tc_lock);
}

/* After fork, in the parent and the child: in the child the forking
 * thread has another id. */
void tc_unlock_all(void)
{
	if (tc_self)
		tc_self->tid = gettid();
	pthread_mutex_unlock(&tc_lock);
}
