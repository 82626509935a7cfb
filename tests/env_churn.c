// SPDX-License-Identifier: MIT
/*
 * tests/env_churn.c: many short-lived threads, BATCH alive at a time. Each
 * runs a few operations (the first registers the thread when the library
 * registers its own areas), checks its mode and exits (where the library
 * must unregister it). Afterwards the sums must be exact, and memory,
 * descriptors and threads back where they were.
 *
 * usage: env_churn [THREADS]; the mode from PERCPU_TEST_MODE.
 */
#include <dirent.h>
#include <pthread.h>
#include "tap.h"

#define DEFAULT_THREADS 20000
#define BATCH 8
/* Fill glibc's stack cache and malloc arenas before the baseline. */
#define WARMUP_THREADS (4 * BATCH)
/* What one thread adds to the counter: 1 + 1 + 2. */
#define ADDED_PER_THREAD 4
/*
 * Whatever a thread leaked that the kernel backs with memory (a stack, a
 * TLS block, a pool page) costs at least a 4 KiB page: 80 MiB or more over
 * 20,000 threads. 2 MiB, about 100 bytes a thread, still allows the noise:
 * stdio and malloc buffers, cached stacks touched deeper by later threads.
 */
#define RSS_SLACK_KIB 2048

/* AddressSanitizer keeps megabytes per thread it has seen: no RSS check. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#define UNDER_ASAN __has_feature(address_sanitizer)
#else
#define UNDER_ASAN 0
#endif

struct figures {
	long rss_kib;
	long threads;
	long fds;
};

static intptr_t *counter, *lock, *locked;
static enum percpu_mode want_mode;
static const char *want_reason;
static int wrong_mode, create_failed, unlock_failed;

static void *thread_run(void *arg)
{
	const char *reason;
	int s;

	(void)arg;
	percpu_add(counter, 1);
	if (percpu_mode_get(&reason) != want_mode ||
	    strcmp(reason, want_reason))
		__atomic_fetch_add(&wrong_mode, 1, __ATOMIC_RELAXED);
	percpu_add(counter, 1);
	percpu_fetch_add(counter, 2, NULL);
	s = percpu_lock(lock);
	(*(intptr_t *)percpu_ptr(locked, s))++;
	if (percpu_unlock(lock, s))
		__atomic_fetch_add(&unlock_failed, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void run_threads(int n)
{
	pthread_t tid[BATCH];

	for (int done = 0; done < n; done += BATCH) {
		int batch = n - done < BATCH ? n - done : BATCH, started = 0;

		for (int i = 0; i < batch; i++) {
			if (pthread_create(&tid[started], NULL, thread_run, NULL))
				create_failed++;
			else
				started++;
		}
		for (int i = 0; i < started; i++)
			pthread_join(tid[i], NULL);
	}
}

/* The number after `key` in /proc/self/status, or -1. */
static long status_field(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

/* Open descriptors, counting the one that reads the directory. */
static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

static struct figures measure(const char *when)
{
	struct figures f = { status_field("VmRSS:"), status_field("Threads:"),
			     count_fds() };

	tap_diag("%-7s VmRSS %ld KiB, %ld threads, %ld descriptors", when,
		 f.rss_kib, f.threads, f.fds);
	return f;
}

static void check(int n, struct figures before, struct figures after)
{
	int total = n + WARMUP_THREADS;

	ok(!create_failed, "%d threads created, %d failed", total,
	   create_failed);
	ok(test_sum(counter) == (intptr_t)ADDED_PER_THREAD * total,
	   "counter sum %ld exact", (long)test_sum(counter));
	ok(test_sum(locked) == total, "locked increments %ld exact",
	   (long)test_sum(locked));
	ok(!unlock_failed, "every unlock accepted (%d refused)", unlock_failed);
	test_all_unlocked(lock);
	ok(!wrong_mode, "every thread in the main thread's mode (%d not)",
	   wrong_mode);
	ok(UNDER_ASAN || (after.rss_kib >= 0 &&
			  after.rss_kib - before.rss_kib <= RSS_SLACK_KIB),
	   "VmRSS grew %ld KiB (at most %d)%s", after.rss_kib - before.rss_kib,
	   RSS_SLACK_KIB, UNDER_ASAN ? " # SKIP AddressSanitizer" : "");
	ok(after.fds >= 0 && after.fds == before.fds, "descriptors: %ld, %ld",
	   before.fds, after.fds);
	ok(after.threads == 1 && before.threads == 1, "threads: %ld, %ld",
	   before.threads, after.threads);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : DEFAULT_THREADS;
	struct figures before, after;

	tap_check_mode();
	want_mode = percpu_mode_get(&want_reason);
	counter = percpu_alloc(sizeof(*counter));
	lock = percpu_alloc(sizeof(*lock));
	locked = percpu_alloc(sizeof(*locked));
	measure("start");
	run_threads(WARMUP_THREADS);
	before = measure("before");
	run_threads(n);
	after = measure("after");
	check(n, before, after);
	test_shards_free();
	return tap_done();
}
