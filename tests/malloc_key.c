// SPDX-License-Identifier: MIT
/*
 * tests/malloc_key.c: the thread caches' pthread key in a program that
 * makes many keys of its own (src/malloc/tcache.c). glibc keeps the values
 * of keys 0..31 in the thread; those of the keys past 31 go in blocks of
 * 32 that pthread_setspecific() callocs, from this allocator. If that
 * calloc is the first allocation of a thread on the lock path, it makes
 * the thread's cache and sets the allocator's key from inside glibc's
 * pthread_setspecific(); with the allocator's key in the same block, glibc
 * then stores its own block over the one the nested call made, the value
 * is lost, and no destructor gives the cache back.
 *
 * A constructor makes KEYS keys, either after setting the allocator up
 * (whose key is made then, below 32: every thread's destructor must give
 * its cache back) or, with PERCPU_TEST_KEYS_FIRST=1, before any allocation
 * (the allocator's key lands past 31 even so, in the threads' key's block:
 * no thread may make a cache, since its key's value would be lost with
 * the block glibc allocated for it). Then waves of threads, more than
 * CPUs, each starting with a pthread_setspecific() of the program's last
 * key, allocate and free objects of 16 B .. 1 KiB, patterned and checked
 * at free, some freed by other threads, and exit. After malloc_trim() no
 * cache of an exited thread may be left, the objects in use must not
 * have grown with the threads (a block lost per thread would), and the
 * consistency walk must account for every object.
 */
#include <malloc.h>
#include <stdint.h>
#include "tap.h"
#include "percpu_malloc.h"
#include "malloc_pattern.h"

#define KEYS 40
#define KEY_BLOCK 32		/* glibc's PTHREAD_KEY_2NDLEVEL_SIZE */
#define WAVES 3
#define ROUNDS 5000
#define LOCAL 32
#define EXCHANGE 256
/* Above the thread caches' largest class: sets the allocator up without
 * making the calling thread's cache (which would make the key, too, if
 * it were made lazily). */
#define SET_UP_SIZE 4096

/* Set by the allocator's test build (src/malloc/tcache.c). */
extern unsigned long percpu_malloc_tcaches_live;
extern pthread_key_t percpu_malloc_tc_key;
#define NO_KEY ((pthread_key_t)-1)	/* its value until the key is made */

static void *(*volatile call_malloc)(size_t) = malloc;

static pthread_key_t keys[KEYS];
static int keys_first;
/* The allocator's key once the constructor made the program's keys. */
static pthread_key_t key_after_ctor;
static void *exchange[EXCHANGE];

/* Before main(): with PERCPU_TEST_KEYS_FIRST=1, before the first
 * allocation of the process (nothing allocates before the executable's
 * constructors, unless a sanitizer's run time does: then main() skips). */
__attribute__((constructor(101))) static void make_keys(void)
{
	const char *v = getenv("PERCPU_TEST_KEYS_FIRST");

	keys_first = v && *v == '1';
	if (!keys_first)
		free(call_malloc(SET_UP_SIZE));
	for (int i = 0; i < KEYS; i++)
		pthread_key_create(&keys[i], NULL);
	key_after_ctor = percpu_malloc_tc_key;
}

static void *obj_new(unsigned long *seed, uint32_t tag)
{
	size_t size = PATTERN_MIN + pattern_rand(seed) % (1024 - PATTERN_MIN + 1);

	return pattern_fill(malloc(size), size, tag);
}

struct worker {
	pthread_t tid;
	int index;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	void *local[LOCAL] = { NULL };
	unsigned long seed = (unsigned long)w->index * 7919 + 1;
	uint32_t tag = (uint32_t)w->index << 20;

	test_thread_setup(w->index);
	/* The thread's first allocation is glibc's, for the key's block. */
	pthread_setspecific(keys[KEYS - 1], w);
	for (int r = 0; r < ROUNDS; r++) {
		unsigned long x = pattern_rand(&seed);
		void *p = obj_new(&seed, tag++);

		if (x % 2) {
			pattern_free(local[x / 2 % LOCAL]);
			local[x / 2 % LOCAL] = p;
		} else {
			pattern_free(__atomic_exchange_n(&exchange[x / 2 % EXCHANGE],
						     p, __ATOMIC_ACQ_REL));
		}
	}
	for (int i = 0; i < LOCAL; i++)
		pattern_free(local[i]);
	return NULL;
}

static void run_wave(struct worker *w, int n, int wave)
{
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){ .index = wave * n + i };
		pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
}

static void walk(const char *when, struct percpu_malloc_check *c)
{
	int rc = percpu_malloc_check(c);

	ok(rc == 0, "consistency walk %s: %llu spans, %llu objects, %llu "
	   "free, %llu in use (counted %llu), %llu duplicates, %llu invalid, "
	   "%llu bad spans", when, (unsigned long long)c->spans,
	   (unsigned long long)c->objects, (unsigned long long)c->free,
	   (unsigned long long)c->in_use, (unsigned long long)c->in_use_counted,
	   (unsigned long long)c->duplicates, (unsigned long long)c->invalid,
	   (unsigned long long)c->bad_spans);
}

static void check_key_index(void)
{
	pthread_key_t k = percpu_malloc_tc_key, last = keys[KEYS - 1];

	ok(last >= KEY_BLOCK, "the program's last key, which every thread "
	   "sets first, has index %u: its value needs glibc's calloc", last);
	if (!keys_first) {
		ok(key_after_ctor == k && k < KEY_BLOCK,
		   "the allocator's key was made when it set up, before the "
		   "program's %d keys: index %u (%u after the constructor)",
		   KEYS, k, key_after_ctor);
		return;
	}
	ok(key_after_ctor == NO_KEY && k >= KEY_BLOCK &&
	   k / KEY_BLOCK == last / KEY_BLOCK,
	   "the allocator set up after the program's %d keys: its key has "
	   "index %u, in the block of key %u", KEYS, k, last);
}

/* mine: the caches listed before the threads, this thread's; left: after
 * the last thread was joined. */
static void check_caches(unsigned long mine, unsigned long left)
{
	if (keys_first)
		ok(mine == 0 && left == 0, "with the allocator's key past 31 "
		   "no thread makes a cache: %lu listed before the threads, "
		   "%lu after", mine, left);
	else
		ok(left == mine, "each exited thread's cache given back by its "
		   "destructor: %lu listed after the threads, %lu before",
		   left, mine);
	malloc_trim(0);
	ok(percpu_malloc_tcaches_live == mine, "after malloc_trim no cache "
	   "of an exited thread is left: %lu listed, this thread's %lu",
	   percpu_malloc_tcaches_live, mine);
}

int main(void)
{
	struct percpu_malloc_check before, after;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = (int)(4 * (cpus > 0 ? cpus : 1));
	unsigned long mine, left;
	struct worker *w;

	tap_check_mode();
	if (keys_first && key_after_ctor != NO_KEY) {
		ok(1, "# SKIP the allocator was set up before the program's "
		   "first constructor: its keys cannot come first");
		return tap_done();
	}
	if (n < 8)
		n = 8;
	w = calloc((size_t)n, sizeof(*w));
	free(call_malloc(64));	/* this thread's cache, on the lock path */
	mine = percpu_malloc_tcaches_live;
	walk("before the threads", &before);
	for (int wave = 0; wave < WAVES; wave++)
		run_wave(w, n, wave);
	left = percpu_malloc_tcaches_live;
	for (int i = 0; i < EXCHANGE; i++)
		pattern_free(exchange[i]);
	ok(!pattern_bad && !pattern_failed, "%d waves of %d threads, %d objects "
	   "of 16 B .. 1 KiB each, freed here and there: %ld bytes wrong, "
	   "%ld allocations failed", WAVES, n, ROUNDS, pattern_bad,
	   pattern_failed);
	check_key_index();
	check_caches(mine, left);
	walk("after malloc_trim", &after);
	/* Not required equal: glibc keeps the TLS vectors of the stacks it
	 * caches (a few). A block lost per lock-path thread would be
	 * WAVES * n. */
	ok(after.in_use < before.in_use + (unsigned long long)n,
	   "objects in use did not grow with the %d threads: %llu before "
	   "them, %llu after", WAVES * n, (unsigned long long)before.in_use,
	   (unsigned long long)after.in_use);
	free(w);
	return tap_done();
}
