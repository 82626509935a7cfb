// SPDX-License-Identifier: MIT
/*
 * tests/lease.c: shard leases (src/lockpath/lease.c). In lock mode a thread keeps
 * the word of its CPU's shard and then works without atomics; the tests
 * show a lease is taken, revoked when another thread or a remote operation
 * needs the shard (even while its holder sleeps), given back when its
 * thread exits, forgotten by a fork child, and that under a stress with
 * migrations, remote resets and signal handlers nothing is lost. In rseq
 * and mixed mode, and with PERCPU_LEASE=0, no word may ever be leased.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>
#include "seccomp_filter.h"
#include "tap.h"

#define STRESS_OPS 20000
#define EXCLUSION_ROUNDS 1000

static int expect_leases;
static long stress_ops = STRESS_OPS;
static int exclusion_rounds = EXCLUSION_ROUNDS;

/*
 * A count from the environment, or `dflt`. Under emulation (the aarch64
 * guest, TCG: tests/qemu/aarch64.t) the stress's adds take 20-180 s at
 * 20,000 a thread and each exclusion round 0.3-0.8 s (a fence): lease.t
 * guest runs every check with PERCPU_TEST_LEASE_OPS and
 * PERCPU_TEST_LEASE_ROUNDS smaller.
 */
static long env_count(const char *name, long dflt)
{
	const char *v = getenv(name);
	long n = v ? atol(v) : dflt;

	return n > 0 ? n : dflt;
}

static int any_leased(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		if (test_leased(s))
			return 1;
	return 0;
}

static unsigned long revocations(void)
{
	return __atomic_load_n(&percpu_inject.lease_revocations,
			       __ATOMIC_RELAXED);
}

/* A thread that adds on CPU `cpu`, then waits (holding any lease). */
static struct sleeper {
	pthread_t thread;
	int cpu, shard;
	intptr_t *counter;
	int added, wake;
} sleeper;

static void *sleeper_main(void *arg)
{
	struct sleeper *z = arg;

	test_pin_to(z->cpu);
	for (int i = 0; i < 1000; i++)
		z->shard = percpu_add(z->counter, 1);
	__atomic_store_n(&z->added, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&z->wake, __ATOMIC_ACQUIRE))
		usleep(1000);
	percpu_add(z->counter, 1);
	return NULL;
}

static void sleeper_start(int cpu, intptr_t *counter)
{
	sleeper = (struct sleeper){ .cpu = cpu, .counter = counter };
	pthread_create(&sleeper.thread, NULL, sleeper_main, &sleeper);
	while (!__atomic_load_n(&sleeper.added, __ATOMIC_ACQUIRE))
		usleep(1000);
}

static void sleeper_stop(void)
{
	__atomic_store_n(&sleeper.wake, 1, __ATOMIC_RELEASE);
	pthread_join(sleeper.thread, NULL);
}

static void test_info(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	percpu_runtime_info_get(&info);
	ok(info.lock_leases == (getenv("PERCPU_LEASE") == NULL),
	   "lock_leases: %d", info.lock_leases);
}

static void test_taken(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	int s;

	test_pin_to(0);
	s = percpu_add(c, 1);
	ok(test_leased(s) == expect_leases, "an add leaves its shard (%d) %s", s,
	   expect_leases ? "leased" : "unleased");
	percpu_free(c);
}

static void test_revoked_by_add(int cpu)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	unsigned long before;
	int s;

	sleeper_start(cpu, c);
	ok(sleeper.shard == cpu && test_leased(cpu) == expect_leases,
	   "a sleeping thread %s shard %d", expect_leases ? "leases" :
	   "does not lease", cpu);
	before = revocations();
	test_pin_to(cpu);
	s = percpu_add(c, 1);
	ok(s == cpu, "an add on its CPU goes to that shard (%d)", s);
	ok((revocations() > before) == expect_leases,
	   "the lease was revoked (%lu revocations)", revocations() - before);
	sleeper_stop();
	ok(test_sum(c) == 1002, "every add counted: %ld of 1002",
	   (long)test_sum(c));
	percpu_free(c);
}

static void test_revoked_by_remote(int cpu)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	intptr_t got;

	sleeper_start(cpu, c);
	test_pin_to(cpu ? 0 : 1);
	got = percpu_remote_xchg(c, sleeper.shard, 0);
	ok(got == 1000 && !test_leased(sleeper.shard),
	   "remote xchg on a leased shard: %ld, the lease gone", (long)got);
	sleeper_stop();
	ok(test_sum(c) == 1, "the sleeper's later add counted");
	percpu_free(c);
}

static void *add_and_exit(void *arg)
{
	test_pin_to(1);
	return (void *)(intptr_t)percpu_add(arg, 1);
}

static void test_thread_exit(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	pthread_t t;
	void *shard;

	pthread_create(&t, NULL, add_and_exit, c);
	pthread_join(t, &shard);
	ok(!test_leased((int)(intptr_t)shard) && test_sum(c) == 1,
	   "an exiting thread gives its lease back");
	percpu_free(c);
}

static void test_fork(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	int status = -1;
	pid_t pid;

	sleeper_start(1, c);
	pid = fork();
	if (pid == 0) {
		int good = !any_leased();

		percpu_add(c, 1);
		good &= percpu_remote_xchg(c, sleeper.shard, 0) >= 1000;
		_exit(good ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	sleeper_stop();
	ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a fork child uses the shard its parent's thread leased");
	percpu_free(c);
}

/* The stress: workers add, push and pop, migrate; a reaper resets the
 * counter remotely; signals make handlers add inside workers' operations. */
static struct {
	intptr_t *counter, *in_handlers;
	struct percpu_list *list;
	struct percpu_list_node nodes[64];
	struct percpu_list_node *held[64];
	int stop;
	intptr_t reaped;
	unsigned long handled;
} st;

static void on_signal(int sig)
{
	(void)sig;
	percpu_add(st.in_handlers, 1);
	__atomic_fetch_add(&st.handled, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	int index = (int)(intptr_t)arg;
	struct percpu_list_node *mine = &st.nodes[index];
	unsigned int seed = (unsigned int)index;

	test_thread_setup(index);
	for (long i = 0; i < stress_ops; i++) {
		percpu_add(st.counter, 1);
		if (mine)
			percpu_list_push(st.list, mine);
		mine = percpu_list_pop(st.list, NULL);
		if (i % 97 == 0)
			test_pin_to((int)(rand_r(&seed) % (unsigned int)
					  percpu_nr_shards()));
		if (i % 31 == 0)
			sched_yield();
	}
	st.held[index] = mine;
	return NULL;
}

static void *reaper(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&st.stop, __ATOMIC_ACQUIRE))
		for (int s = 0; s < percpu_nr_shards(); s++)
			st.reaped += percpu_remote_xchg(st.counter, s, 0);
	return NULL;
}

static void count_nodes(int nr, unsigned char *seen)
{
	for (int s = 0; s < percpu_nr_shards(); s++)
		for (struct percpu_list_node *n =
			     ((struct percpu_list *)percpu_ptr(st.list, s))->head;
		     n; n = n->next)
			seen[n - st.nodes]++;
	for (int t = 0; t < nr; t++)
		if (st.held[t])
			seen[st.held[t] - st.nodes]++;
}

static void test_stress(void)
{
	int nr = 6 * percpu_nr_shards();
	pthread_t threads[64], reap;
	unsigned char seen[64] = { 0 };
	int once = 1;

	if (nr > 64)
		nr = 64;
	st.counter = percpu_alloc(sizeof(intptr_t));
	st.in_handlers = percpu_alloc(sizeof(intptr_t));
	st.list = percpu_alloc(sizeof(struct percpu_list));
	signal(SIGUSR1, on_signal);
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = 200;
	pthread_create(&reap, NULL, reaper, NULL);
	for (int t = 0; t < nr; t++)
		pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t);
	for (int round = 0; round < 200; round++) {
		for (int t = 0; t < nr; t++)
			pthread_kill(threads[t], SIGUSR1);
		usleep(500);
	}
	for (int t = 0; t < nr; t++)
		pthread_join(threads[t], NULL);
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELEASE);
	pthread_join(reap, NULL);
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = 0;
	ok(st.reaped + test_sum(st.counter) == (intptr_t)(nr * stress_ops),
	   "stress: %ld adds reaped or left, of %ld",
	   (long)(st.reaped + test_sum(st.counter)), nr * stress_ops);
	ok(test_sum(st.in_handlers) == (intptr_t)st.handled,
	   "stress: %lu adds in signal handlers, all counted", st.handled);
	count_nodes(nr, seen);
	for (int t = 0; t < nr; t++)
		once &= seen[t] == 1;
	ok(once, "stress: every node on a list or held, once");
	tap_diag("%lu lease revocations in all", revocations());
	ok(!any_leased() || expect_leases, "no lease where there may be none");
}

/*
 * Exclusion: while a remote operation holds a shard, no lock-path update
 * may be inside it. Updates dwell there (an injected delay longer than a
 * membarrier), and revoked shards are leased again at once, so revokers
 * meet leaseholders inside their updates all the time.
 */
static struct {
	int inside[64];
	int stop, started;
	unsigned long probes, intruded;
} ex;

static void probe(void *arg, int shard)
{
	(void)arg;
	ex.probes++;
	ex.intruded += __atomic_load_n(&ex.inside[shard], __ATOMIC_SEQ_CST) != 0;
}

static void *exclusion_worker(void *arg)
{
	int index = (int)(intptr_t)arg;

	test_thread_setup(index);
	test_pin_to(index % percpu_nr_shards());
	percpu_add(st.counter, 1);
	__atomic_fetch_add(&ex.started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&ex.stop, __ATOMIC_ACQUIRE)) {
		percpu_add(st.counter, 1);
		sched_yield(); /* a window for the revoker, who retries */
	}
	return NULL;
}

static void test_exclusion(void)
{
	int nr = percpu_nr_shards() < 64 ? percpu_nr_shards() : 64;
	int rounds = exclusion_rounds;
	unsigned long before = revocations();
	pthread_t threads[64];

	percpu_inject.inside = ex.inside;
	percpu_inject.lease_no_ban = 1;
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = 20000;
	for (int t = 0; t < nr; t++)
		pthread_create(&threads[t], NULL, exclusion_worker,
			       (void *)(intptr_t)t);
	while (__atomic_load_n(&ex.started, __ATOMIC_ACQUIRE) < nr)
		usleep(1000);
	for (int round = 0; round < rounds; round++)
		percpu_remote(round % nr, probe, NULL);
	__atomic_store_n(&ex.stop, 1, __ATOMIC_RELEASE);
	for (int t = 0; t < nr; t++)
		pthread_join(threads[t], NULL);
	percpu_inject.delay[PERCPU_INJECT_HOLDING] = 0;
	percpu_inject.lease_no_ban = 0;
	percpu_inject.inside = NULL;
	ok(ex.intruded == 0 && ex.probes == (unsigned long)rounds,
	   "exclusion: %lu of %lu remote holds found an update inside "
	   "(%lu revocations)", ex.intruded, ex.probes,
	   revocations() - before);
	if (expect_leases)
		ok(revocations() > before,
		   "exclusion: leases were revoked under way");
}

/*
 * A thread whose only operation runs in the last pass of its thread-exit
 * destructors claims a lease slot that its own exit can no longer free.
 * After more such threads than slots, a new thread must still get a lease
 * (slots of dead threads are reclaimed).
 */
#define DESTRUCTOR_PASSES 4	/* glibc's PTHREAD_DESTRUCTOR_ITERATIONS */

static pthread_key_t late_key;
static intptr_t *late_counter;

static void late_op(void *arg)
{
	intptr_t pass = (intptr_t)arg;

	if (pass < DESTRUCTOR_PASSES)
		pthread_setspecific(late_key, (void *)(pass + 1));
	else
		percpu_add(late_counter, 1);
}

static void *late_thread(void *arg)
{
	(void)arg;
	test_pin_to(0);
	pthread_setspecific(late_key, (void *)1);
	return NULL;
}

static void *lease_and_report(void *arg)
{
	int *leases = arg;

	test_pin_to(0);
	*leases = test_leased(percpu_add(late_counter, 1));
	return NULL;
}

static void test_slots_of_the_dead(void)
{
	pthread_t t;
	int leases = 0;

	late_counter = percpu_alloc(sizeof(intptr_t));
	pthread_key_create(&late_key, late_op);
	percpu_inject.lease_no_ban = 1;
	for (int i = 0; i < 300; i++) {
		pthread_create(&t, NULL, late_thread, NULL);
		pthread_join(t, NULL);
	}
	pthread_create(&t, NULL, lease_and_report, &leases);
	pthread_join(t, NULL);
	percpu_inject.lease_no_ban = 0;
	ok(test_sum(late_counter) == 301, "300 adds in last-pass destructors "
	   "and one more counted: %ld", (long)test_sum(late_counter));
	ok(leases, "after 300 threads leased in their last destructor pass, "
	   "a new thread still gets a lease");
	pthread_key_delete(late_key);
	percpu_free(late_counter);
}

static void *wake_later(void *arg)
{
	(void)arg;
	usleep(50000);
	__atomic_store_n(&sleeper.wake, 1, __ATOMIC_RELEASE);
	return NULL;
}

static struct {
	intptr_t *counter;
	intptr_t got;
	int done;
} reset;

static void *reset_sleepers_shard(void *arg)
{
	(void)arg;
	reset.got = percpu_remote_xchg(reset.counter, sleeper.shard, 0);
	__atomic_store_n(&reset.done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Whether the reset returned within 10 s while the sleeper slept. */
static int reset_while_asleep(void)
{
	pthread_t t;
	int done = 0;

	pthread_create(&t, NULL, reset_sleepers_shard, NULL);
	for (int ms = 0; ms < 10000 && !done; ms += 10) {
		usleep(10000);
		done = __atomic_load_n(&reset.done, __ATOMIC_ACQUIRE);
	}
	sleeper_stop();
	pthread_join(t, NULL);
	return done;
}

/*
 * A seccomp filter installed now refuses membarrier to this thread (and
 * the threads it creates). Revoking falls back to running on every CPU,
 * so a remote operation on a sleeping leaseholder's shard completes while
 * it sleeps: the leaseholder is woken only after it returned, or after
 * 10 s if it does not.
 */
static void test_barrier_refused(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	int done;

	percpu_inject.lease_no_ban = 1;
	sleeper_start(1, c);
	ok(test_leased(sleeper.shard), "the sleeper leases its shard");
	if (seccomp_refuse(0, EPERM, 0)) {
		sleeper_stop();
		ok(errno == ENOTSUP, "membarrier refused later # SKIP %s",
		   strerror(errno));
		return;
	}
	reset.counter = c;
	done = reset_while_asleep();
	ok(done, "membarrier refused later: the remote operation completed "
	   "while the leaseholder slept");
	ok(reset.got + test_sum(c) == 1001, "and counted every add (%ld + %ld "
	   "of 1001)", (long)reset.got, (long)test_sum(c));
	percpu_free(c);
}

/*
 * Last, as filters stay: sched_setaffinity is refused too, so no barrier
 * is possible. Then (percpu(3)) a remote operation on a leased shard waits
 * for the leaseholder's next operation, which gives the lease back, and no
 * lease is granted any more.
 */
static void test_no_barrier_at_all(void)
{
	intptr_t *c = percpu_alloc(sizeof(intptr_t));
	pthread_t waker;
	intptr_t got;
	int s;

	test_pin_to(0);
	sleeper_start(1, c);
	ok(test_leased(sleeper.shard), "the sleeper leases its shard");
	if (seccomp_refuse(0, EPERM, EPERM)) {
		sleeper_stop();
		ok(errno == ENOTSUP, "no barrier at all # SKIP %s",
		   strerror(errno));
		return;
	}
	pthread_create(&waker, NULL, wake_later, NULL);
	got = percpu_remote_xchg(c, sleeper.shard, 0);
	pthread_join(waker, NULL);
	pthread_join(sleeper.thread, NULL);
	ok(got + test_sum(c) == 1001, "no barrier at all: the remote "
	   "operation waited for the leaseholder (%ld + %ld of 1001)",
	   (long)got, (long)test_sum(c));
	s = percpu_add(c, 1);
	ok(!test_leased(s) && !any_leased(), "and no lease is granted any more");
	percpu_inject.lease_no_ban = 0;
	percpu_free(c);
}

int main(void)
{
	const char *off = getenv("PERCPU_LEASE");

	tap_check_mode();
	stress_ops = env_count("PERCPU_TEST_LEASE_OPS", STRESS_OPS);
	exclusion_rounds = (int)env_count("PERCPU_TEST_LEASE_ROUNDS",
					  EXCLUSION_ROUNDS);
	expect_leases = test_mode() == TEST_LOCK && !(off && !strcmp(off, "0"));
	if (test_mode() == TEST_LOCK)
		test_info();
	test_taken();
	if (percpu_nr_shards() > 1) {
		/* A concurrency id is not the CPU: two threads never share. */
		if (!getenv("PERCPU_INDEX")) {
			test_revoked_by_add(0);
			test_revoked_by_add(1);
		}
		test_revoked_by_remote(1);
		test_thread_exit();
		test_fork();
	}
	test_unpin();
	test_stress();
	test_exclusion();
	if (expect_leases && !getenv("PERCPU_INDEX"))
		test_slots_of_the_dead();
	if (expect_leases && percpu_nr_shards() > 1 &&
	    !getenv("PERCPU_INDEX")) {
		test_barrier_refused();
		test_no_barrier_at_all();
	}
	return tap_done();
}
