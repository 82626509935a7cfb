// SPDX-License-Identifier: MIT
/*
 * tests/holders.c: who may work beside a shard word's holder, and who may
 * wait for it (found by an adversarial review).
 *  - A thread pinned to a CPU whose shard another thread holds (inside
 *    percpu_remote's fn) still completes its add, on another shard, and is
 *    told which (in lock mode with PERCPU_LEASE=0, on its own: remote.h).
 *  - A signal handler on the thread running percpu_remote's fn: its adds
 *    and compare-and-stores on fn's shard are not lost when fn reads and
 *    resets the shard with plain instructions.
 *  - Lock mode with leases, membarrier and sched_setaffinity refused after
 *    start: an add on a CPU whose shard is leased by a sleeping thread
 *    completes, by asking another leaseholder (one still at work) to give
 *    its shard back.
 *  - rseq mode, the same refusal to a thread inside percpu_remote: while
 *    its fence is refused, other threads' compare-and-stores on that shard
 *    (rseq and lock path) complete; it finishes once no fence is needed.
 * Each case runs against a deadline: a hang is a failure.
 */
#include <errno.h>
#include <signal.h>
#include "seccomp_filter.h"
#include "tap.h"

#define ROUNDS 1000
#define DEADLINE_SECONDS 10

static void on_alarm(int sig)
{
	static const char msg[] = "not ok - a case still runs after 120 s\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* Whether *flag was set within DEADLINE_SECONDS. */
static int wait_for(const int *flag)
{
	for (int ms = 0; ms < DEADLINE_SECONDS * 1000; ms += 5) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			return 1;
		usleep(5000);
	}
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

static void set_flag(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

static int lock_mode_no_leases(void)
{
	const char *off = getenv("PERCPU_LEASE");

	return test_mode() == TEST_LOCK && off && !strcmp(off, "0");
}

static intptr_t read_plainly(intptr_t *p, int shard)
{
	return *(volatile intptr_t *)percpu_ptr(p, shard);
}

static void reset_plainly(intptr_t *p, int shard)
{
	*(volatile intptr_t *)percpu_ptr(p, shard) = 0;
}

/* Pinned thread, shard held by another thread's fn. */
static struct {
	intptr_t *c;
	int in_fn, go, left;
} pinned;

/* Holds until told, or until the deadline: then the add hung. */
static void hold_until_go(void *arg, int shard)
{
	(void)arg;
	(void)shard;
	set_flag(&pinned.in_fn);
	wait_for(&pinned.go);
	set_flag(&pinned.left);
}

static void *hold_shard_0(void *arg)
{
	(void)arg;
	test_pin_to(1);
	percpu_remote(0, hold_until_go, NULL);
	return NULL;
}

static void test_pinned_beside_holder(void)
{
	pthread_t t;
	int s, own_ok;

	pinned.c = percpu_alloc(sizeof(intptr_t));
	test_pin_to(0);
	percpu_add(pinned.c, 0);
	pthread_create(&t, NULL, hold_shard_0, NULL);
	wait_for(&pinned.in_fn);
	s = percpu_add(pinned.c, 1);
	ok(!__atomic_load_n(&pinned.left, __ATOMIC_ACQUIRE), "pinned to CPU "
	   "0, an add completes while another thread's fn holds shard 0");
	set_flag(&pinned.go);
	pthread_join(t, NULL);
	own_ok = lock_mode_no_leases() ? s == 0 : s != 0;
	ok(own_ok && *(intptr_t *)percpu_ptr(pinned.c, s) == 1 &&
	   test_sum(pinned.c) == 1, "it went to shard %d, the one it returned "
	   "(%s)", s, lock_mode_no_leases() ? "its own: PERCPU_LEASE=0" :
					      "not fn's");
	test_unpin();
	percpu_free(pinned.c);
}

/* A signal handler interrupts fn between its read and its reset. */
static struct {
	intptr_t *added, *cased;
	intptr_t reaped_added, reaped_cased;
	unsigned long handled;
} inside;

static void add_and_cas(int sig)
{
	(void)sig;
	percpu_add(inside.added, 1);
	test_cas_increment(inside.cased);
	inside.handled++;
}

/* Reads, then resets with plain stores: only exclusion keeps it exact. */
static void reset_with_signal(void *arg, int shard)
{
	intptr_t added = read_plainly(inside.added, shard);
	intptr_t cased = read_plainly(inside.cased, shard);

	(void)arg;
	pthread_kill(pthread_self(), SIGUSR1);
	reset_plainly(inside.added, shard);
	reset_plainly(inside.cased, shard);
	inside.reaped_added += added;
	inside.reaped_cased += cased;
}

static void *signal_inside_fn(void *arg)
{
	test_thread_setup((int)(intptr_t)arg);
	test_pin_to(0);
	percpu_add(inside.added, 0);
	for (int i = 0; i < ROUNDS; i++)
		percpu_remote(0, reset_with_signal, NULL);
	return NULL;
}

static void test_signal_inside_fn(int index)
{
	pthread_t t;

	inside.added = percpu_alloc(sizeof(intptr_t));
	inside.cased = percpu_alloc(sizeof(intptr_t));
	inside.reaped_added = inside.reaped_cased = 0;
	inside.handled = 0;
	signal(SIGUSR1, add_and_cas);
	pthread_create(&t, NULL, signal_inside_fn, (void *)(intptr_t)index);
	pthread_join(t, NULL);
	ok(inside.handled == ROUNDS, "thread %d: %lu handlers ran inside fn",
	   index, inside.handled);
	ok(inside.reaped_added + test_sum(inside.added) == ROUNDS,
	   "thread %d: every handler's add counted (%ld reset by fn + %ld "
	   "left, of %d)", index, (long)inside.reaped_added,
	   (long)test_sum(inside.added), ROUNDS);
	ok(inside.reaped_cased + test_sum(inside.cased) == ROUNDS,
	   "thread %d: every handler's compare-and-store counted (%ld + %ld, "
	   "of %d)", index, (long)inside.reaped_cased,
	   (long)test_sum(inside.cased), ROUNDS);
	signal(SIGUSR1, SIG_DFL);
	percpu_free(inside.added);
	percpu_free(inside.cased);
}

/* Refuse the fences to the calling thread (and threads it creates). */
static int refuse_fences(void)
{
	return seccomp_refuse(0, EPERM, EPERM);
}

/*
 * Shard 1 leased by a sleeping thread, shard 0 by one still at work; a
 * thread on CPU 1 that may not fence adds.
 */
static struct {
	intptr_t *c;
	int sleeper_ready, wake, stop, worker_done, refused;
	long busy_adds;
} lz;

static void *lease_and_sleep(void *arg)
{
	(void)arg;
	test_pin_to(1);
	for (int i = 0; i < ROUNDS; i++)
		percpu_add(lz.c, 1);
	set_flag(&lz.sleeper_ready);
	/* No deadline: its lease would end with it. */
	while (!__atomic_load_n(&lz.wake, __ATOMIC_ACQUIRE))
		usleep(1000);
	return NULL;
}

static void *keep_adding(void *arg)
{
	(void)arg;
	test_pin_to(0);
	while (!__atomic_load_n(&lz.stop, __ATOMIC_ACQUIRE)) {
		percpu_add(lz.c, 1);
		lz.busy_adds++;
		usleep(100);
	}
	return NULL;
}

static void *add_without_fences(void *arg)
{
	(void)arg;
	test_pin_to(1);
	if (refuse_fences()) {
		lz.refused = -errno;
		set_flag(&lz.worker_done);
		return NULL;
	}
	lz.refused = 1;
	for (int i = 0; i < ROUNDS; i++)
		percpu_add(lz.c, 1);
	set_flag(&lz.worker_done);
	return NULL;
}

static void test_sleeping_leaseholder(void)
{
	pthread_t sleeper, busy, worker;
	int done;

	percpu_inject.lease_no_ban = 1;
	lz.c = percpu_alloc(sizeof(intptr_t));
	pthread_create(&sleeper, NULL, lease_and_sleep, NULL);
	pthread_create(&busy, NULL, keep_adding, NULL);
	wait_for(&lz.sleeper_ready);
	usleep(20000);
	if (test_mode() == TEST_LOCK && !lock_mode_no_leases())
		ok(test_leased(0) && test_leased(1), "the sleeper leases shard 1, the "
		   "busy thread shard 0");
	pthread_create(&worker, NULL, add_without_fences, NULL);
	done = wait_for(&lz.worker_done);
	if (lz.refused < 0) {
		ok(-lz.refused == ENOTSUP, "fences refused # SKIP %s",
		   strerror(-lz.refused));
	} else {
		ok(done, "with fences refused, %d adds beside a sleeping "
		   "leaseholder completed within %d s", ROUNDS,
		   DEADLINE_SECONDS);
	}
	/* Its next operation gives the lease back: a hung worker ends. */
	set_flag(&lz.wake);
	pthread_join(sleeper, NULL);
	pthread_join(worker, NULL);
	set_flag(&lz.stop);
	pthread_join(busy, NULL);
	percpu_inject.lease_no_ban = 0;
	ok(test_sum(lz.c) == 2 * ROUNDS + lz.busy_adds, "every add counted: "
	   "%ld of %ld", (long)test_sum(lz.c), 2 * ROUNDS + lz.busy_adds);
	test_shards_free();
	percpu_free(lz.c);
}

/*
 * A thread that may not fence runs percpu_remote on shard 0; two threads
 * compare-and-store there meanwhile, one on the lock path.
 */
static struct {
	intptr_t *c;
	intptr_t reaped;
	int remote_started, remote_done, refused, cas_done[2];
} fr;

static void reap(void *arg, int shard)
{
	(void)arg;
	fr.reaped = read_plainly(fr.c, shard);
	reset_plainly(fr.c, shard);
}

static void *remote_without_fences(void *arg)
{
	(void)arg;
	test_pin_to(1);
	if (refuse_fences()) {
		fr.refused = -errno;
	} else {
		fr.refused = 1;
		set_flag(&fr.remote_started);
		percpu_remote(0, reap, NULL);
	}
	set_flag(&fr.remote_started);
	set_flag(&fr.remote_done);
	return NULL;
}

static void *cas_on_shard_0(void *arg)
{
	int index = (int)(intptr_t)arg;

	percpu_inject_thread_lock_path = index;
	test_pin_to(0);
	for (int i = 0; i < ROUNDS; i++) {
		intptr_t *w = percpu_ptr(fr.c, 0);
		intptr_t v;

		do
			v = __atomic_load_n(w, __ATOMIC_RELAXED);
		while (percpu_cas(fr.c, 0, v, v + 1) != PERCPU_OK);
	}
	set_flag(&fr.cas_done[index]);
	return NULL;
}

static void test_fence_refused(void)
{
	pthread_t remote, cas[2];
	int done[2];

	fr.c = percpu_alloc(sizeof(intptr_t));
	pthread_create(&remote, NULL, remote_without_fences, NULL);
	wait_for(&fr.remote_started);
	if (fr.refused < 0) {
		pthread_join(remote, NULL);
		ok(-fr.refused == ENOTSUP, "fences refused # SKIP %s",
		   strerror(-fr.refused));
		return;
	}
	usleep(20000);
	for (int k = 0; k < 2; k++)
		pthread_create(&cas[k], NULL, cas_on_shard_0,
			       (void *)(intptr_t)k);
	for (int k = 0; k < 2; k++)
		done[k] = wait_for(&fr.cas_done[k]);
	ok(done[0] && done[1], "while a remote operation's fence is refused, "
	   "compare-and-stores on its shard completed (rseq %s, lock path %s)",
	   done[0] ? "yes" : "no", done[1] ? "yes" : "no");
	if (!done[0] || !done[1]) {
		fflush(stdout);
		_exit(tap_done());
	}
	/* In lock mode no fence is needed: the remote operation ends. */
	percpu_disable_rseq();
	ok(wait_for(&fr.remote_done), "and the remote operation completed "
	   "once no fence was needed");
	pthread_join(remote, NULL);
	for (int k = 0; k < 2; k++)
		pthread_join(cas[k], NULL);
	ok(fr.reaped + test_sum(fr.c) == 2 * ROUNDS, "every compare-and-store "
	   "counted: %ld reaped + %ld left, of %d", (long)fr.reaped,
	   (long)test_sum(fr.c), 2 * ROUNDS);
	test_shards_free();
	percpu_free(fr.c);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	alarm(120);
	tap_check_mode();
	if (percpu_nr_shards() < 2) {
		tap_diag("one shard: the cases need two");
		return tap_done();
	}
	test_pinned_beside_holder();
	test_signal_inside_fn(0);
	test_signal_inside_fn(1);
	test_sleeping_leaseholder();
	/* Last: it ends in lock mode, and with a thread that may not fence. */
	test_fence_refused();
	return tap_done();
}
