// SPDX-License-Identifier: MIT
/*
 * tests/malloc_setup_fork.c: a fork in the middle of the allocator's
 * set-up. Run with PERCPU_MALLOC_TEST_FORK_AT=k (k = 1..5, the points of
 * set_up() in src/malloc/init.c; tests/malloc_setup_fork.t runs each):
 * main's first allocation sets the allocator up, and the test build forks
 * there. The child finds the set-up half done and no thread doing it, as
 * the child of another thread would. It must take the set-up over and
 * then allocate every class and large sizes with their bytes intact, run
 * threads, fork once more (its fork handlers in exactly once: twice, and
 * the prepare handler deadlocks on its own locks) and pass the
 * consistency walk. It reports by exit status, a bit per failed check; an
 * alarm ends it if it hangs. The parent then does the same.
 *
 * With PERCPU_TEST_NEWPID=1 (run as pid 1 of a pid namespace, by
 * `unshare -Urpf`), main first puts its children in a new pid namespace:
 * the child is pid 1 there, as its parent is in its own, and has the
 * thread id of the thread setting up, which it must not take for itself.
 */
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include "tap.h"
#include "percpu_malloc.h"

/* Set by the allocator's test build (src/malloc/init.c). */
extern int percpu_malloc_fork_status;

/* Called through this, malloc is a function the compiler cannot know:
 * clang assumes malloc writes no memory of the program's, and read the
 * status it sets before the call. */
static void *(*volatile first_malloc)(size_t) = malloc;

enum {
	BAD_SMALL = 1,		/* a class's objects lost their bytes */
	BAD_LARGE = 2,		/* a large object, calloc or realloc */
	BAD_THREADS = 4,	/* threads allocating at once */
	BAD_FORK = 8,		/* a fork after the take-over */
	BAD_WALK = 16,		/* the consistency walk */
	BAD_HUNG = 32,		/* still running after 30 s */
};

#define THREADS 4
#define PER_THREAD 2000

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i);
}

static int intact(const unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i))
			return 0;
	return 1;
}

/* Sizes 1 .. 32 KiB, every class, 8 objects each, all live at once. */
static int small_ok(void)
{
	enum { PER = 8, SIZES = 64 };
	unsigned char *p[SIZES][PER];
	int good = 1;

	for (int s = 0; s < SIZES; s++)
		for (int i = 0; i < PER; i++) {
			size_t n = (size_t)(s + 1) * 512 - (size_t)i * 7;

			p[s][i] = malloc(n);
			if (!p[s][i])
				return 0;
			fill(p[s][i], n, (unsigned char)(s + i));
		}
	for (int s = 0; s < SIZES; s++)
		for (int i = 0; i < PER; i++) {
			size_t n = (size_t)(s + 1) * 512 - (size_t)i * 7;

			good &= intact(p[s][i], n, (unsigned char)(s + i));
			free(p[s][i]);
		}
	return good;
}

static int large_ok(void)
{
	size_t n = (size_t)3 << 20;
	unsigned char *a = malloc(n), *z = calloc(1000, 100), *r;
	int good = a && z;

	if (good) {
		fill(a, n, 3);
		for (int i = 0; i < 100000; i++)
			good &= z[i] == 0;
		fill(z, 1000, 5);
	}
	r = good ? realloc(z, 70000) : NULL;
	good = good && r && intact(r, 1000, 5) && intact(a, n, 3);
	free(a);
	free(r ? r : z);
	return good;
}

static void *worker(void *arg)
{
	static unsigned char *objs[THREADS][PER_THREAD];
	unsigned char **mine = objs[(intptr_t)arg];
	intptr_t good = 1;

	for (int i = 0; i < PER_THREAD; i++) {
		mine[i] = malloc((size_t)(i % 300) + 1);
		if (!mine[i])
			return NULL;
		fill(mine[i], (size_t)(i % 300) + 1, (unsigned char)i);
		if (i % 8 == 0)
			sched_yield();
	}
	for (int i = 0; i < PER_THREAD; i++) {
		good &= intact(mine[i], (size_t)(i % 300) + 1, (unsigned char)i);
		free(mine[i]);
	}
	return (void *)good;
}

static int threads_ok(void)
{
	pthread_t t[THREADS];
	int good = 1;

	for (intptr_t i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			return 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		good &= r != NULL;
	}
	return good;
}

/* The grandchild allocates and exits; a deadlocked fork never returns. */
static int fork_ok(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(small_ok() ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int walk_ok(void)
{
	struct percpu_malloc_check c;

	return percpu_malloc_check(&c) == 0 && c.duplicates == 0 &&
	       c.invalid == 0 && c.bad_spans == 0;
}

/* All checks, or without threads and fork (`alone`): a process whose
 * children go to a new pid namespace can make no thread, and once its
 * first child has exited no child. */
static int run_checks(int alone)
{
	int bad = 0;

	bad |= small_ok() ? 0 : BAD_SMALL;
	bad |= large_ok() ? 0 : BAD_LARGE;
	if (!alone) {
		bad |= threads_ok() ? 0 : BAD_THREADS;
		bad |= fork_ok() ? 0 : BAD_FORK;
	}
	bad |= walk_ok() ? 0 : BAD_WALK;
	return bad;
}

/* A handler, as the alarm's default action does nothing to a pid 1. */
static void on_alarm(int sig)
{
	(void)sig;
	_exit(BAD_HUNG);
}

/* Called by the allocator in the child it forks; no stdio here: the
 * parent's first allocation may have been stdio's. */
void percpu_malloc_test_child(void)
{
	signal(SIGALRM, on_alarm);
	alarm(30);
	_exit(run_checks(0));
}

static void report(int bad, const char *who, int alone)
{
	ok(!(bad & BAD_SMALL), "%s: every class's objects intact", who);
	ok(!(bad & BAD_LARGE), "%s: large object, calloc, realloc", who);
	if (alone) {
		ok(1, "# SKIP %s: threads and a fork (new pid namespace)", who);
	} else {
		ok(!(bad & BAD_THREADS), "%s: %d threads allocating", who,
		   THREADS);
		ok(!(bad & BAD_FORK), "%s: a fork afterwards", who);
	}
	ok(!(bad & BAD_WALK), "%s: consistency walk", who);
	ok(!(bad & BAD_HUNG), "%s: no hang", who);
}

int main(void)
{
	const char *newpid = getenv("PERCPU_TEST_NEWPID");
	int unshared = newpid && *newpid == '1' ? unshare(CLONE_NEWPID) : 1;
	/* The process's first allocation: the set-up, and the fork in it. */
	void *first = first_malloc(24);
	int st = percpu_malloc_fork_status;
	const char *at = getenv("PERCPU_MALLOC_TEST_FORK_AT");

	tap_check_mode();
	if (unshared != 1)
		ok(unshared == 0 && getpid() == 1,
		   "pid %d, children in a new pid namespace", (int)getpid());
	ok(first != NULL, "the first allocation");
	free(first);
	ok(st != -1, "the test build forked at point %s", at ? at : "(unset)");
	ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != BAD_HUNG,
	   "the child finished (%s %d: a hang ends by SIGALRM)",
	   st != -1 && WIFSIGNALED(st) ? "signal" : "status",
	   st == -1 ? -1 : WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	report(st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : 0xff, "child", 0);
	report(run_checks(unshared == 0), "parent", unshared == 0);
	return tap_done();
}
