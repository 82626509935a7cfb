// SPDX-License-Identifier: MIT
/*
 * tests/env_fork.c: fork, and vfork + exec, while other threads run
 * operations. A forked child keeps only the forking thread, whose rseq
 * registration (glibc's or the library's own) the kernel carries over: the
 * child must go on operating in the parent's mode, on the counter it
 * inherited and on new objects, from the forking thread and from threads of
 * its own, with exact sums. The parent's threads must not lose an update.
 * A vfork child borrows the parent's memory and thread until it execs
 * percpu-info, which must then report the parent's mode and reason.
 *
 * Then the library's locks: other threads allocate and free per-CPU
 * memory, refill a counter's cached sum, look a metric up in a registry
 * and, in lock mode, pull the kill switch, all without pause, while the
 * main thread forks many times. Each child takes every one of those locks
 * again and exits 0; one that hangs (a lock inherited held) is stopped by
 * its alarm and counted by the step it hung in.
 *
 * usage: env_fork PATH-TO-PERCPU-INFO; the mode from PERCPU_TEST_MODE.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define NR_WORKERS 2
#define NR_FORKS 20
#define NR_VFORKS 10
#define CHILD_THREADS 2
#define CHILD_ADDS 1000
/* A child that hangs is killed by its alarm and counted as failed. */
#define CHILD_SECONDS 20

struct worker {
	pthread_t tid;
	int index;
	intptr_t added;
};

static intptr_t *counter;
static int stop;
static enum percpu_mode parent_mode;
static const char *parent_reason;

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	test_thread_setup(w->index);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		percpu_add(counter, 1);
		percpu_fetch_add(counter, 2, NULL);
		w->added += 3;
	}
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* The calling thread runs in the parent's mode, for the parent's reason. */
static int same_mode(void)
{
	const char *reason;

	return percpu_mode_get(&reason) == parent_mode &&
	       !strcmp(reason, parent_reason);
}

/* In a child: CHILD_ADDS adds; 0 if this thread's mode is not the parent's. */
static void *child_adds(void *arg)
{
	intptr_t *p = arg;

	for (int i = 0; i < CHILD_ADDS; i++)
		percpu_add(p, 1);
	return same_mode() ? p : NULL;
}

/* The forking thread and CHILD_THREADS new ones each add to p. */
static int child_threads_add(intptr_t *p)
{
	pthread_t tid[CHILD_THREADS];
	void *res;
	int good = child_adds(p) != NULL;

	for (int i = 0; i < CHILD_THREADS; i++)
		good &= !pthread_create(&tid[i], NULL, child_adds, p);
	for (int i = 0; i < CHILD_THREADS; i++) {
		pthread_join(tid[i], &res);
		good &= res != NULL;
	}
	return good;
}

/* The child's whole check: exit status 0 if all held. */
static int child_main(void)
{
	intptr_t inherited = test_sum(counter), *fresh;
	int good;

	alarm(CHILD_SECONDS);
	good = same_mode() && child_threads_add(counter) &&
	       test_sum(counter) == inherited + (1 + CHILD_THREADS) * CHILD_ADDS;
	if (!good)
		tap_diag("child %d: inherited counter wrong, or mode changed",
			 (int)getpid());
	fresh = percpu_alloc(sizeof(*fresh));
	if (!fresh || !child_threads_add(fresh) ||
	    test_sum(fresh) != (1 + CHILD_THREADS) * CHILD_ADDS ||
	    percpu_free(fresh)) {
		tap_diag("child %d: new object's sum wrong", (int)getpid());
		good = 0;
	}
	return good ? 0 : 1;
}

/* fork NR_FORKS children a few ms apart; returns how many passed. */
static int fork_children(void)
{
	int passed = 0, status;
	pid_t pid;

	for (int i = 0; i < NR_FORKS; i++) {
		sleep_ms(2);
		pid = fork();
		if (pid == 0)
			_exit(child_main());
		if (pid > 0 && waitpid(pid, &status, 0) == pid &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			passed++;
	}
	return passed;
}

/* vfork, then exec path with its stdout on out. Returns the child or -1. */
static pid_t vfork_exec(const char *path, int out)
{
	pid_t pid = vfork();

	if (pid == 0) {
		dup2(out, STDOUT_FILENO);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Run path through vfork_exec, its output into buf. 0 if it exited 0. */
static int run_vforked(const char *path, char *buf, size_t size)
{
	int fd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC))
		return -1;
	pid = vfork_exec(path, fd[1]);
	close(fd[1]);
	while (len + 1 < size && (n = read(fd[0], buf + len, size - len - 1)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd[0]);
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* percpu-info, vforked NR_VFORKS times, reports the parent's mode. */
static int vfork_infos(const char *path)
{
	char buf[4096], want[256];
	int passed = 0;

	snprintf(want, sizeof(want), "mode: %s\nreason: %s\n",
		 parent_mode == PERCPU_MODE_RSEQ ? "rseq" : "lock",
		 parent_reason);
	for (int i = 0; i < NR_VFORKS; i++) {
		sleep_ms(2);
		if (run_vforked(path, buf, sizeof(buf)) == 0 &&
		    !strncmp(buf, want, strlen(want)))
			passed++;
		else
			tap_diag("percpu-info said:\n%s", buf);
	}
	return passed;
}

/* ---- forks while other threads hold the library's locks ---- */

#define NR_LOCK_FORKS 100
#define LOCKER_THREADS 2
/* A child that has not exited by then hung: it takes a few ms. */
#define LOCK_CHILD_SECONDS 10

/* What a lock child does, in order; its exit status says where it hung. */
enum lock_step {
	STEP_ALLOC, STEP_OP, STEP_FREE, STEP_COUNTER, STEP_REGISTRY,
	STEP_KILL_SWITCH, NR_STEPS
};

static const char *const step_names[NR_STEPS] = {
	"percpu_alloc", "an operation", "percpu_free",
	"percpu_counter_read", "percpu_registry_counter", "percpu_disable_rseq",
};

#define HUNG_EXIT 100	/* + the step */

static struct percpu_counter lock_counter;
static struct percpu_registry *registry;
static int stop_lockers;
static volatile int child_step;

/* percpu_alloc and percpu_free without pause: the pool lock. */
static void *allocator_run(void *arg)
{
	static const size_t sizes[] = { 8, 64, 4096, 65536 };
	void *held[8] = { NULL };
	unsigned int i = 0;

	test_thread_setup((int)(intptr_t)arg);
	while (!__atomic_load_n(&stop_lockers, __ATOMIC_RELAXED)) {
		percpu_free(held[i % 8]);
		held[i % 8] = percpu_alloc(sizes[i % 4]);
		i++;
	}
	for (i = 0; i < 8; i++)
		percpu_free(held[i]);
	return NULL;
}

/* The statistics' locks, and in lock mode the kill switch's (in rseq mode
 * it would change the mode). */
static void *stats_run(void *arg)
{
	int kill_switch = test_mode() == TEST_LOCK;

	test_thread_setup((int)(intptr_t)arg);
	while (!__atomic_load_n(&stop_lockers, __ATOMIC_RELAXED)) {
		percpu_counter_read(&lock_counter, 0);
		percpu_registry_counter(registry, "forks_total", NULL, NULL);
		if (kill_switch)
			percpu_disable_rseq();
	}
	return NULL;
}

static void on_child_alarm(int sig)
{
	(void)sig;
	_exit(HUNG_EXIT + child_step);
}

/* The child: every step must return. */
static int lock_child(void)
{
	intptr_t *p;
	int good;

	signal(SIGALRM, on_child_alarm);
	alarm(LOCK_CHILD_SECONDS);
	child_step = STEP_ALLOC;
	p = percpu_alloc(sizeof(*p));
	child_step = STEP_OP;
	good = p && percpu_add(p, 1) >= 0 && test_sum(p) == 1;
	child_step = STEP_FREE;
	good &= p && percpu_free(p) == 0;
	child_step = STEP_COUNTER;
	percpu_counter_read(&lock_counter, 0);
	child_step = STEP_REGISTRY;
	good &= percpu_registry_counter(registry, "forks_total", NULL,
					NULL) != NULL;
	child_step = STEP_KILL_SWITCH;
	percpu_disable_rseq();
	return good ? 0 : 1;
}

struct lock_results {
	int passed, failed;
	int hung[NR_STEPS];
};

static void reap(pid_t pid, struct lock_results *r)
{
	int status, code;

	if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		r->failed++;
		return;
	}
	code = WEXITSTATUS(status);
	if (code == 0)
		r->passed++;
	else if (code >= HUNG_EXIT && code < HUNG_EXIT + NR_STEPS)
		r->hung[code - HUNG_EXIT]++;
	else
		r->failed++;
}

/* NR_LOCK_FORKS children, a millisecond apart, all running at once; then
 * every one reaped. */
static void fork_amid_locks(struct lock_results *r)
{
	static pid_t pids[NR_LOCK_FORKS];

	for (int i = 0; i < NR_LOCK_FORKS; i++) {
		sleep_ms(1);
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(lock_child());
	}
	for (int i = 0; i < NR_LOCK_FORKS; i++)
		reap(pids[i], r);
}

static void report_locks(const struct lock_results *r)
{
	int hung = 0;

	for (int k = 0; k < NR_STEPS; k++) {
		hung += r->hung[k];
		if (r->hung[k])
			tap_diag("%d children hung in %s", r->hung[k],
				 step_names[k]);
	}
	ok(r->passed == NR_LOCK_FORKS, "%d of %d children forked amid "
	   "allocations, refills, lookups%s took every lock again (%d hung, "
	   "%d failed)", r->passed, NR_LOCK_FORKS,
	   test_mode() == TEST_LOCK ? " and kill switches" : "", hung,
	   r->failed);
}

static void test_fork_amid_locks(void)
{
	pthread_t tid[LOCKER_THREADS + 1];
	struct lock_results r = { 0 };

	percpu_counter_init(&lock_counter);
	registry = percpu_registry_new();
	for (int i = 0; i < LOCKER_THREADS; i++)
		pthread_create(&tid[i], NULL, allocator_run, (void *)(intptr_t)i);
	pthread_create(&tid[LOCKER_THREADS], NULL, stats_run,
		       (void *)(intptr_t)LOCKER_THREADS);
	fork_amid_locks(&r);
	__atomic_store_n(&stop_lockers, 1, __ATOMIC_RELAXED);
	for (int i = 0; i <= LOCKER_THREADS; i++)
		pthread_join(tid[i], NULL);
	report_locks(&r);
	percpu_registry_free(registry);
	percpu_counter_destroy(&lock_counter);
}

static intptr_t stop_workers(struct worker *w)
{
	intptr_t added = 0;

	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NR_WORKERS; i++) {
		pthread_join(w[i].tid, NULL);
		added += w[i].added;
	}
	return added;
}

int main(int argc, char **argv)
{
	struct worker w[NR_WORKERS] = { 0 };
	intptr_t added;
	int forked, vforked;

	if (argc != 2) {
		fprintf(stderr, "usage: env_fork PATH-TO-PERCPU-INFO\n");
		return 2;
	}
	tap_check_mode();
	parent_mode = percpu_mode_get(&parent_reason);
	counter = percpu_alloc(sizeof(*counter));
	for (int i = 0; i < NR_WORKERS; i++) {
		w[i].index = i;
		pthread_create(&w[i].tid, NULL, worker_run, &w[i]);
	}
	forked = fork_children();
	vforked = vfork_infos(argv[1]);
	added = stop_workers(w);
	ok(forked == NR_FORKS, "%d of %d children forked amid operations kept "
	   "the mode and summed exactly", forked, NR_FORKS);
	ok(vforked == NR_VFORKS, "%d of %d vfork+exec of percpu-info amid "
	   "operations reported the parent's mode", vforked, NR_VFORKS);
	ok(test_sum(counter) == added, "parent's threads: sum %ld, added %ld",
	   (long)test_sum(counter), (long)added);
	ok(same_mode(), "parent still in its mode after the forks");
	test_fork_amid_locks();
	return tap_done();
}
