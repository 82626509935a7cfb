// SPDX-License-Identifier: MIT
/*
 * tests/runtime_stats.c: the library's own statistics
 * (percpu_runtime_stats_get, percpu_runtime_stats_print), exact once the
 * program is quiescent, in the mode PERCPU_TEST_MODE names (and with
 * PERCPU_LEASE=0). Each count is checked against what the test forced:
 * N adds on the lock path count N, none with rseq; a lease granted to a
 * sleeping thread and revoked by a remote operation counts one grant,
 * one revocation and one barrier; a remote operation counts one, and
 * one fence where rseq threads may run; with threads adding at once, the
 * lock-path count equals the test build's own (percpu_inject), and in
 * mixed mode every lock-path add fenced its CPU once; a fork child starts
 * from its parent's counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include "tap.h"

#define N 1000
#define THREADS 4

static int leases;	/* lock mode with leases */

static struct percpu_runtime_stats now(void)
{
	struct percpu_runtime_stats st = { .size = sizeof(st) };

	if (percpu_runtime_stats_get(&st))
		ok(0, "percpu_runtime_stats_get: errno %d", errno);
	return st;
}

#define DELTA(a, b, field) ((unsigned long)((b).field - (a).field))

static unsigned long inject_lock_ops(void)
{
	return __atomic_load_n(&percpu_inject.lock_path_ops, __ATOMIC_RELAXED);
}

static void test_api(void)
{
	struct {
		struct percpu_runtime_stats st;
		char more[16];
	} big;
	struct percpu_runtime_stats st = { .size = sizeof(size_t) };

	errno = 0;
	ok(percpu_runtime_stats_get(NULL) == -1 && errno == EINVAL,
	   "NULL: EINVAL");
	errno = 0;
	ok(percpu_runtime_stats_get(&st) == -1 && errno == EINVAL,
	   "a size short of the first version: EINVAL");
	memset(&big, 0xff, sizeof(big));
	big.st.size = sizeof(big);
	ok(percpu_runtime_stats_get(&big.st) == 0 &&
	   big.st.size == sizeof(big.st) && big.more[0] == 0 &&
	   big.more[15] == 0,
	   "a larger struct: the rest zeroed, size %zu", big.st.size);
}

/* N adds on CPU 0 from the main thread. */
static void test_adds(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	struct percpu_runtime_stats a, b;
	int s = -1;
	unsigned long want = test_mode() == TEST_LOCK ? N : 0;

	test_pin_to(0);
	a = now();
	for (int i = 0; i < N; i++)
		s = percpu_add(c, 1);
	b = now();
	ok(DELTA(a, b, lock_path_ops) == want,
	   "%d adds: lock_path_ops +%lu, want +%lu", N,
	   DELTA(a, b, lock_path_ops), want);
	ok(DELTA(a, b, lease_grants) == (unsigned long)leases &&
	   test_leased(s) == leases,
	   "lease_grants +%lu, shard %d %sleased", DELTA(a, b, lease_grants),
	   s, test_leased(s) ? "" : "not ");
	ok(DELTA(a, b, lease_revocations) == 0 && DELTA(a, b, fences) == 0 &&
	   DELTA(a, b, thread_barriers) == 0 && DELTA(a, b, remote_ops) == 0,
	   "no revocation, fence, barrier or remote operation");
	percpu_free(c);
}

static void *add_alone(void *arg)
{
	test_thread_setup(1);
	test_pin_to(0);
	for (int i = 0; i < N; i++)
		percpu_add(arg, 1);
	return NULL;
}

/*
 * N adds from a thread alone on the lock path in mixed mode: each takes
 * its shard word and fences the CPU once.
 */
static void test_lock_thread(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	struct percpu_runtime_stats a, b;
	pthread_t t;
	unsigned long want = test_mode() == TEST_RSEQ ? 0 : N;
	unsigned long fence_want = test_mode() == TEST_MIXED ? N : 0;

	a = now();
	pthread_create(&t, NULL, add_alone, c);
	pthread_join(t, NULL);
	b = now();
	ok(DELTA(a, b, lock_path_ops) == want,
	   "a thread's %d adds: lock_path_ops +%lu, want +%lu", N,
	   DELTA(a, b, lock_path_ops), want);
	ok(DELTA(a, b, fences) == fence_want, "fences +%lu, want +%lu",
	   DELTA(a, b, fences), fence_want);
	percpu_free(c);
}

/* A thread that adds on CPU 1 (a lease there in lock mode), then waits. */
static struct {
	pthread_t thread;
	intptr_t *counter;
	int added, wake;
} sleeper;

static void *sleeper_main(void *arg)
{
	(void)arg;
	test_pin_to(1);
	percpu_add(sleeper.counter, 1);
	__atomic_store_n(&sleeper.added, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&sleeper.wake, __ATOMIC_ACQUIRE))
		usleep(1000);
	return NULL;
}

/* Remote exchanges on shard 1, whose lease a sleeping thread holds. */
static void test_remote(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	struct percpu_runtime_stats a, b;
	unsigned long fence_want = test_mode() == TEST_LOCK ? 0 : 3;

	sleeper.counter = c;
	a = now();
	pthread_create(&sleeper.thread, NULL, sleeper_main, NULL);
	while (!__atomic_load_n(&sleeper.added, __ATOMIC_ACQUIRE))
		usleep(1000);
	test_pin_to(0);
	for (int i = 0; i < 3; i++)
		percpu_remote_xchg(c, 1, 0);
	b = now();
	ok(DELTA(a, b, remote_ops) == 3, "3 remote exchanges: remote_ops +%lu",
	   DELTA(a, b, remote_ops));
	ok(DELTA(a, b, lease_grants) == (unsigned long)leases &&
	   DELTA(a, b, lease_revocations) == (unsigned long)leases &&
	   DELTA(a, b, thread_barriers) == (unsigned long)leases,
	   "the sleeper's lease: grants +%lu, revocations +%lu, barriers +%lu",
	   DELTA(a, b, lease_grants), DELTA(a, b, lease_revocations),
	   DELTA(a, b, thread_barriers));
	ok(DELTA(a, b, fences) == fence_want,
	   "fences +%lu, want +%lu (one per remote operation beside rseq)",
	   DELTA(a, b, fences), fence_want);
	ok(b.fences_by_affinity <= b.fences + b.thread_barriers,
	   "fences_by_affinity (%lu) within fences and barriers",
	   (unsigned long)b.fences_by_affinity);
	__atomic_store_n(&sleeper.wake, 1, __ATOMIC_RELEASE);
	pthread_join(sleeper.thread, NULL);
	percpu_free(c);
}

static intptr_t *shared_counter;

static void *add_n(void *arg)
{
	int index = (int)(intptr_t)arg;

	test_thread_setup(index);
	test_pin_to(index % percpu_nr_shards());
	for (int i = 0; i < N; i++)
		percpu_add(shared_counter, 1);
	return NULL;
}

/* THREADS threads add at once, then exit: their counts stay. */
static void test_threads(void)
{
	struct percpu_runtime_stats a, b;
	pthread_t t[THREADS];
	unsigned long inj;

	shared_counter = percpu_alloc(sizeof(intptr_t));
	a = now();
	inj = inject_lock_ops();
	for (intptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, add_n, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	b = now();
	inj = inject_lock_ops() - inj;
	ok(test_sum(shared_counter) == THREADS * N, "%d adds counted",
	   THREADS * N);
	ok(DELTA(a, b, lock_path_ops) == inj,
	   "lock_path_ops +%lu, as the test build counted (+%lu)",
	   DELTA(a, b, lock_path_ops), inj);
	if (test_mode() == TEST_LOCK)
		ok(DELTA(a, b, lock_path_ops) == THREADS * N,
		   "lock mode: every add on the lock path");
	if (test_mode() == TEST_MIXED)
		ok(DELTA(a, b, lock_path_ops) >= THREADS / 2 * N,
		   "mixed mode: at least the lock-path threads' adds");
	if (test_mode() == TEST_LOCK)
		ok(DELTA(a, b, fences) == 0, "lock mode: no fence");
	else
		ok(DELTA(a, b, fences) == DELTA(a, b, lock_path_ops),
		   "a fence per lock-path add beside rseq: +%lu",
		   DELTA(a, b, fences));
	percpu_free(shared_counter);
}

/* A fork child starts from its parent's counts, other threads' too. */
static void test_fork(void)
{
	struct percpu_runtime_stats a = now(), c;
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		c = now();
		_exit(c.lock_path_ops == a.lock_path_ops &&
		      c.lease_grants == a.lease_grants &&
		      c.fences == a.fences ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a fork child's counts are its parent's (%lu lock-path operations)",
	   (unsigned long)a.lock_path_ops);
}

/* The printed lines say what the struct says. */
static void test_print(void)
{
	struct percpu_runtime_stats st;
	char buf[1024], want[64];
	int fds[2];
	ssize_t n;

	if (pipe(fds)) {
		ok(0, "pipe");
		return;
	}
	st = now();
	ok(percpu_runtime_stats_print(fds[1]) == 0, "printed");
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "lock_path_ops: %lu\n",
		 (unsigned long)st.lock_path_ops);
	ok(!strncmp(buf, want, strlen(want)), "first line: lock_path_ops: %lu",
	   (unsigned long)st.lock_path_ops);
	snprintf(want, sizeof(want), "\nfences: %lu\n",
		 (unsigned long)st.fences);
	ok(strstr(buf, want) != NULL, "and fences: %lu",
	   (unsigned long)st.fences);
	errno = 0;
	ok(percpu_runtime_stats_print(-1) == -1 && errno == EBADF,
	   "a bad descriptor: -1, EBADF");
}

int main(void)
{
	const char *off = getenv("PERCPU_LEASE");
	struct percpu_runtime_info info = { .size = sizeof(info) };

	tap_check_mode();
	percpu_runtime_info_get(&info);
	leases = test_mode() == TEST_LOCK && info.lock_leases &&
		 !(off && !strcmp(off, "0"));
	test_api();
	test_adds();
	if (percpu_nr_shards() > 1)
		test_remote();
	test_lock_thread();
	test_unpin();
	test_threads();
	test_fork();
	test_print();
	return tap_done();
}
