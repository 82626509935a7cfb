// SPDX-License-Identifier: MIT
/*
 * tests/stack.c: the pointer stack's one-pointer calls (percpu_stack_push1,
 * percpu_stack_pop1, their _fast forms, and percpu_stack_push and pop of
 * n = 1), its small
 * batches (up to PERCPU_STACK_SMALL pointers, plain moves) and its block
 * copies, in the mode PERCPU_TEST_MODE names (tests/unit_multi.c has the
 * first stack tests).
 *
 * One thread runs a random sequence of every call against a model of every
 * shard: each result must be what the model says for the shard the call
 * reports, and after each call every shard's memory (count, capacity,
 * every slot) must equal the model's, so a write anywhere else in a stack,
 * a lost or doubled pointer, and a wrong full or empty answer all show.
 * The sequence is built to reach full and empty shards often. The _fast
 * calls name no shard: the one whose count changed is theirs, and a call
 * that says it did nothing must have changed nothing; with rseq they
 * must succeed where the model says they can, and in lock mode never.
 *
 * Then more threads than CPUs push and pop distinct pointers with delays
 * inside the sections (so that the kernel restarts them), half with the
 * one-pointer calls (the _fast forms among them, falling back to the
 * others as an allocator does) and half with batches of 1 to 12 (small and block
 * paths side by side); in mixed mode odd threads take the lock path.
 * Afterwards every pointer is in exactly one place, a shard's stack or a
 * thread's hands, and every count within its capacity.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include "tap.h"

#define CAP 10			/* the model test's capacity per shard */
#define ITEMS 64		/* pointers the model test pushes */
#define STEPS 4000
#define BLOCK_N 12		/* largest batch asked for: a block copy */
#define NODES 256		/* the stress's pointers */
#define HOLD_MAX NODES		/* what one stress thread may hold */
#define MAX_WORKERS 32
#define RUN_US 200000
#define MAX_WAIT_MS 20000
#define DISTURB_US 200
#define WATCHDOG_S 120
#define SECTION_DELAY 3000	/* spins at inject points 0 to 5 */

static int nr;
static char items[ITEMS];	/* the model test pushes &items[i] and NULL */
static char nodes[NODES];	/* the stress pushes &nodes[i] */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static struct percpu_stack *shard_of(struct percpu_stack *s, int shard)
{
	return percpu_ptr(s, shard);
}

/* ---- one thread against a model ---- */

/* What every shard's stack must hold: the whole object, stale slots too. */
struct model {
	intptr_t *count;	/* per shard */
	void *(*slot)[CAP];
};

static struct {
	struct percpu_stack *s;
	struct model m;
	int bad_shard, bad_result, bad_memory;
	unsigned long full, empty, calls[8];
	unsigned long fast_done, fast_could;	/* _fast: done, and possible */
} g;

static int model_matches(void)
{
	for (int k = 0; k < nr; k++) {
		struct percpu_stack *mine = shard_of(g.s, k);

		if (mine->count != g.m.count[k] || mine->capacity != CAP ||
		    memcmp(mine->slot, g.m.slot[k], sizeof(g.m.slot[k])))
			return 0;
	}
	return 1;
}

/* A push of k pointers from ptrs onto `shard`, as the model sees it. */
static size_t model_push(int shard, void *const *ptrs, size_t n)
{
	intptr_t c = g.m.count[shard];
	size_t k = n < (size_t)(CAP - c) ? n : (size_t)(CAP - c);

	memcpy(&g.m.slot[shard][c], ptrs, k * sizeof(void *));
	g.m.count[shard] = c + (intptr_t)k;
	if (k < n)
		g.full++;
	return k;
}

/* A pop of up to n from `shard`: returns k, the popped into want[]. */
static size_t model_pop(int shard, void **want, size_t n)
{
	intptr_t c = g.m.count[shard];
	size_t k = n < (size_t)c ? n : (size_t)c;

	memcpy(want, &g.m.slot[shard][c - (intptr_t)k], k * sizeof(void *));
	g.m.count[shard] = c - (intptr_t)k;
	if (k < n)
		g.empty++;
	return k;
}

static int check_shard(int shard)
{
	if (shard >= 0 && shard < nr)
		return 1;
	g.bad_shard++;
	return 0;
}

static void *pick(uint64_t *x)
{
	uint64_t i = rng_next(x) % (ITEMS + 1);

	return i == ITEMS ? NULL : &items[i];
}

/* Kinds of call: push1, pop1, push and pop of n = 1 written as a
 * constant, push and pop of 0 to BLOCK_N pointers, push1_fast, pop1_fast. */
enum { PUSH1, POP1, PUSH_ONE, POP_ONE, PUSH_N, POP_N, PUSH_FAST, POP_FAST,
       NR_KINDS };

/* The one shard whose count differs from `before`; -1 if none, -2 if
 * more than one. */
static int changed_shard(const intptr_t *before)
{
	int found = -1;

	for (int k = 0; k < nr; k++) {
		if (shard_of(g.s, k)->count == before[k])
			continue;
		if (found >= 0)
			return -2;
		found = k;
	}
	return found;
}

static void snapshot_counts(intptr_t *before)
{
	for (int k = 0; k < nr; k++)
		before[k] = shard_of(g.s, k)->count;
}

/* The thread is pinned: its CPU's shard is the one a _fast call uses. */
static int here_shard(void)
{
	return percpu_shard_id();
}

static void step_push_fast(uint64_t *x)
{
	intptr_t before[nr];
	void *ptr = pick(x);
	int here = here_shard(), done, shard;

	snapshot_counts(before);
	done = percpu_stack_push1_fast(g.s, ptr);
	shard = changed_shard(before);
	g.fast_could += g.m.count[here] < CAP;
	g.fast_done += (unsigned long)done;
	if (!done) {
		g.bad_result += shard != -1;
		return;
	}
	if (!check_shard(shard) || model_push(shard, &ptr, 1) != 1)
		g.bad_result++;
}

static void step_pop_fast(void)
{
	intptr_t before[nr];
	void *want = NULL, *got;
	int here = here_shard(), shard;

	snapshot_counts(before);
	got = percpu_stack_pop1_fast(g.s);
	shard = changed_shard(before);
	g.fast_could += g.m.count[here] > 0;
	if (shard == -1) {	/* nothing popped: it must say so */
		g.bad_result += got != NULL;
		return;
	}
	g.fast_done++;
	if (!check_shard(shard) || model_pop(shard, &want, 1) != 1 ||
	    got != want)
		g.bad_result++;
}

static void step_push(int kind, uint64_t *x)
{
	void *in[BLOCK_N] = { NULL }, *copy[BLOCK_N];
	size_t n = kind == PUSH_N ? rng_next(x) % (BLOCK_N + 1) : 1, got;
	int shard = -1;

	if (kind == PUSH_FAST) {
		step_push_fast(x);
		return;
	}
	for (size_t i = 0; i < n; i++)
		in[i] = pick(x);
	memcpy(copy, in, sizeof(in));
	if (kind == PUSH1)
		got = (size_t)percpu_stack_push1(g.s, in[0], &shard);
	else if (kind == PUSH_ONE)
		got = percpu_stack_push(g.s, in, 1, &shard);
	else
		got = percpu_stack_push(g.s, in, n, &shard);
	if (check_shard(shard) && got != model_push(shard, in, n))
		g.bad_result++;
	if (memcmp(copy, in, sizeof(in)))
		g.bad_result++;
}

static void step_pop(int kind, uint64_t *x)
{
	void *out[BLOCK_N] = { NULL }, *want[BLOCK_N] = { NULL };
	size_t n = kind == POP_N ? rng_next(x) % (BLOCK_N + 1) : 1, got, k;
	int shard = -1;

	if (kind == POP_FAST) {
		step_pop_fast();
		return;
	}
	if (kind == POP1) {
		out[0] = percpu_stack_pop1(g.s, &shard);
		got = 1;
	} else {
		got = percpu_stack_pop(g.s, out, kind == POP_ONE ? 1 : n,
				       &shard);
	}
	if (!check_shard(shard))
		return;
	k = model_pop(shard, want, n);
	if (kind == POP1 && !k)
		want[0] = NULL;	/* empty: pop1 says NULL */
	else if (got != k)
		g.bad_result++;
	if (memcmp(out, want, (kind == POP1 ? 1 : k) * sizeof(void *)))
		g.bad_result++;
}

/*
 * Pushes and pops in runs, a run of pushes long enough to fill a shard and
 * a run of pops long enough to empty it, so that both edges come often.
 */
static void test_model(const char *what, int rseq_on)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	memset(&g, 0, sizeof(g));
	g.s = percpu_stack_alloc(CAP);
	g.m.count = calloc((size_t)nr, sizeof(*g.m.count));
	g.m.slot = calloc((size_t)nr, sizeof(*g.m.slot));
	for (int step = 0; step < STEPS; step++) {
		int pushing = step / 16 % 2 == 0;
		int kind = (int)(rng_next(&x) % 4) * 2 + !pushing;

		g.calls[kind]++;
		if (pushing)
			step_push(kind, &x);
		else
			step_pop(kind, &x);
		if (!model_matches() && g.bad_memory++ < 3)
			tap_diag("step %d (kind %d): a shard differs from "
				 "the model", step, kind);
	}
	ok(!g.bad_shard && !g.bad_result && !g.bad_memory,
	   "%s: %d calls, each result as the model for the shard it "
	   "reports, every shard's memory exact (bad: %d shards, %d "
	   "results, %d memory)", what, STEPS, g.bad_shard, g.bad_result,
	   g.bad_memory);
	ok(g.full > 20 && g.empty > 20,
	   "%s: pushes onto a full shard (%lu) and pops from an empty one "
	   "(%lu) among them, each kind of call run", what, g.full, g.empty);
	for (int k = 0; k < NR_KINDS; k++)
		if (!g.calls[k])
			ok(0, "%s: call kind %d never ran", what, k);
	if (rseq_on && !percpu_inject_thread_lock_path)
		ok(g.fast_done + 10 >= g.fast_could && g.fast_could > 100,
		   "%s: the _fast calls did %lu of the %lu that the model "
		   "allowed (the rest: preempted)", what, g.fast_done,
		   g.fast_could);
	else
		ok(g.fast_done == 0 && g.fast_could > 100,
		   "%s: on the lock path: the _fast calls did none of the %lu that "
		   "the model allowed", what, g.fast_could);
	percpu_free(g.s);
	free(g.m.count);
	free(g.m.slot);
}

/* Every shard full, then every shard empty: no call moves a thing. */
static void test_edges(void)
{
	struct percpu_stack *s = percpu_stack_alloc(4);
	void *in[9] = { &items[0], &items[1], &items[2], &items[3], &items[4],
			&items[5], &items[6], &items[7], &items[8] };
	void *out[9];
	int shard = -1, good = 1;

	for (int k = 0; k < nr; k++) {
		shard_of(s, k)->count = 4;
		for (int i = 0; i < 4; i++)
			shard_of(s, k)->slot[i] = in[4 + i];
	}
	good &= percpu_stack_push1(s, in[0], &shard) == 0 && check_shard(shard);
	good &= percpu_stack_push1_fast(s, in[0]) == 0;
	good &= percpu_stack_push(s, in, 1, NULL) == 0;
	good &= percpu_stack_push(s, in, 3, NULL) == 0;
	good &= percpu_stack_push(s, in, 9, NULL) == 0;
	for (int k = 0; k < nr; k++)
		good &= shard_of(s, k)->count == 4 &&
			!memcmp(shard_of(s, k)->slot, in + 4, 4 * sizeof(void *));
	ok(good, "every shard full: push1, push1_fast, push of 1, 3 and 9 "
	   "push 0, and change nothing");
	for (int k = 0; k < nr; k++)
		shard_of(s, k)->count = 0;
	shard = -1;
	good = percpu_stack_pop1(s, &shard) == NULL && check_shard(shard);
	good &= percpu_stack_pop(s, out, 1, NULL) == 0;
	good &= percpu_stack_pop(s, out, 3, NULL) == 0;
	good &= percpu_stack_pop(s, out, 9, NULL) == 0;
	good &= percpu_stack_push(s, in, 0, &shard) == 0 && check_shard(shard);
	good &= percpu_stack_pop(s, out, 0, NULL) == 0;
	for (int k = 0; k < nr; k++)
		good &= shard_of(s, k)->count == 0;
	good &= percpu_stack_pop1_fast(s) == NULL;
	for (int k = 0; k < nr; k++)
		good &= shard_of(s, k)->count == 0;
	ok(good, "every shard empty: pop1 and pop1_fast give NULL, pop of 1, "
	   "3 and 9 give 0; n = 0 moves nothing");
	percpu_free(s);
}

/* ---- more threads than CPUs ---- */

struct worker {
	int index;
	int batches;		/* 0: one-pointer calls; 1: batches */
	unsigned long rounds, full, empty;
	int held_n;
	void *held[HOLD_MAX];
};

static struct percpu_stack *stress_stack;
static int stop;

/* One pointer, by push1 and pop1, by push and pop of n = 1, or by the
 * _fast forms falling back to push1 and pop1. */
static int push_one(void *ptr, uint64_t *x)
{
	switch (rng_next(x) % 3) {
	case 0:
		return percpu_stack_push1(stress_stack, ptr, NULL);
	case 1:
		return percpu_stack_push1_fast(stress_stack, ptr) ||
		       percpu_stack_push1(stress_stack, ptr, NULL);
	default:
		return percpu_stack_push(stress_stack, &ptr, 1, NULL) == 1;
	}
}

static int pop_one(void **ptr, uint64_t *x)
{
	switch (rng_next(x) % 3) {
	case 0:
		return (*ptr = percpu_stack_pop1(stress_stack, NULL)) != NULL;
	case 1:
		*ptr = percpu_stack_pop1_fast(stress_stack);
		if (!*ptr)
			*ptr = percpu_stack_pop1(stress_stack, NULL);
		return *ptr != NULL;
	default:
		return percpu_stack_pop(stress_stack, ptr, 1, NULL) == 1;
	}
}

static void one_pointer_round(struct worker *w, uint64_t *x)
{
	int push = w->held_n == HOLD_MAX ||
		   (w->held_n && rng_next(x) % 2);

	if (push && push_one(w->held[w->held_n - 1], x))
		w->held_n--;
	else if (push)
		w->full++;
	else if (pop_one(&w->held[w->held_n], x))
		w->held_n++;
	else
		w->empty++;
}

static void batch_round(struct worker *w, uint64_t *x)
{
	size_t n = 1 + rng_next(x) % BLOCK_N, k;
	int push = w->held_n == HOLD_MAX ||
		   (w->held_n && rng_next(x) % 2);

	if (push) {
		n = n < (size_t)w->held_n ? n : (size_t)w->held_n;
		k = percpu_stack_push(stress_stack,
				      &w->held[(size_t)w->held_n - n], n, NULL);
		/* What did not fit stays at the top of held[]. */
		memmove(&w->held[(size_t)w->held_n - n],
			&w->held[(size_t)w->held_n - n + k],
			(n - k) * sizeof(void *));
		w->held_n -= (int)k;
		w->full += k < n;
	} else {
		n = n < (size_t)(HOLD_MAX - w->held_n) ?
			    n : (size_t)(HOLD_MAX - w->held_n);
		k = percpu_stack_pop(stress_stack, &w->held[w->held_n], n,
				     NULL);
		w->held_n += (int)k;
		w->empty += k == 0;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t x = 0x2545f4914f6cdd1dull * (uint64_t)(w->index + 1);

	test_thread_setup(w->index);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (w->batches)
			batch_round(w, &x);
		else
			one_pointer_round(w, &x);
		__atomic_store_n(&w->rounds, w->rounds + 1, __ATOMIC_RELAXED);
		if (w->rounds % 128 == 0)
			sched_yield();
	}
	return NULL;
}

/* Each pointer once: in a stack below its count, or in a thread's hands. */
static int census(struct worker *w, int nw, int *total)
{
	static int seen[NODES];
	int valid = 1;

	memset(seen, 0, sizeof(seen));
	*total = 0;
	for (int k = 0; k < nr; k++) {
		struct percpu_stack *mine = shard_of(stress_stack, k);

		if (mine->count < 0 || mine->count > mine->capacity)
			return 0;
		for (intptr_t i = 0; i < mine->count; i++, (*total)++) {
			uintptr_t at = (uintptr_t)mine->slot[i] - (uintptr_t)nodes;

			valid &= at < NODES && !seen[at]++;
		}
	}
	for (int i = 0; i < nw; i++)
		for (int j = 0; j < w[i].held_n; j++, (*total)++) {
			uintptr_t at = (uintptr_t)w[i].held[j] - (uintptr_t)nodes;

			valid &= at < NODES && !seen[at]++;
		}
	return valid && *total == NODES;
}

static void on_signal(int sig)
{
	(void)sig;
}

/*
 * For RUN_US: a signal to every thread every DISTURB_US, which restarts
 * a section it is inside, and every tenth time each thread moved to
 * another CPU (a migration restarts a section too, or makes it find
 * itself on another shard).
 */
static void disturb(pthread_t *t, int nw, int online)
{
	struct sigaction sa = { .sa_handler = on_signal,
				.sa_flags = SA_RESTART };

	sigaction(SIGUSR1, &sa, NULL);
	for (int round = 0; round < RUN_US / DISTURB_US; round++) {
		for (int i = 0; i < nw; i++) {
			cpu_set_t one;

			pthread_kill(t[i], SIGUSR1);
			if (round % 10 || online < 2)
				continue;
			CPU_ZERO(&one);
			CPU_SET((i + round / 10) % online, &one);
			pthread_setaffinity_np(t[i], sizeof(one), &one);
		}
		usleep(DISTURB_US);
	}
}

/*
 * On a loaded machine a thread may not have been scheduled yet: wait for
 * every one to finish a few rounds, up to MAX_WAIT_MS. Returns the ms
 * waited.
 */
static int wait_all_ran(struct worker *w, int nw)
{
	int ms = 0;

	for (int i = 0; i < nw && ms < MAX_WAIT_MS; i++)
		while (__atomic_load_n(&w[i].rounds, __ATOMIC_RELAXED) < 16 &&
		       ms < MAX_WAIT_MS) {
			usleep(1000);
			ms++;
		}
	return ms;
}

static void test_stress(int rseq_on)
{
	static struct worker w[MAX_WORKERS];
	pthread_t t[MAX_WORKERS];
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int nw = online + 2 < 4 ? 4 : online + 2 > MAX_WORKERS ?
				  MAX_WORKERS : (int)online + 2;
	unsigned long full = 0, empty = 0, ran = ~0ul;
	/* Room for half the pointers in the stacks: shards fill up. */
	size_t cap = NODES / 2 / (size_t)nr ? NODES / 2 / (size_t)nr : 1;
	unsigned long retried = percpu_inject.rseq_retries;
	unsigned long locked = percpu_inject.lock_path_ops;
	int total, valid, waited;

	stress_stack = percpu_stack_alloc(cap);
	test_unpin();
	for (int i = 0; i < nw; i++) {
		w[i] = (struct worker){ .index = i, .batches = i / 2 % 2 };
		for (int j = i; j < NODES; j += nw)
			w[i].held[w[i].held_n++] = &nodes[j];
	}
	for (int i = 0; i <= 5; i++)
		percpu_inject.delay[i] = SECTION_DELAY;
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < nw; i++)
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	disturb(t, nw, (int)online);
	waited = wait_all_ran(w, nw);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nw; i++) {
		pthread_join(t[i], NULL);
		full += w[i].full;
		empty += w[i].empty;
		ran = w[i].rounds < ran ? w[i].rounds : ran;
	}
	for (int i = 0; i <= 5; i++)
		percpu_inject.delay[i] = 0;
	retried = percpu_inject.rseq_retries - retried;
	locked = percpu_inject.lock_path_ops - locked;
	valid = census(w, nw, &total);
	ok(ran > 0, "%d threads on %ld CPUs each ran (fewest rounds %lu; "
	   "waited %d ms more for the slowest)", nw, online, ran, waited);
	if (!ran)
		for (int i = 0; i < nw; i++)
			tap_diag("thread %d (%s): %lu rounds, holds %d", i,
				 w[i].batches ? "batches" : "one-pointer",
				 w[i].rounds, w[i].held_n);
	ok(valid, "after the stress every pointer in exactly one stack or "
	   "thread, counts within capacity %zu (%d found)", cap, total);
	ok(full > 0 && empty > 0, "the threads met full (%lu) and empty "
	   "(%lu) shards", full, empty);
	if (rseq_on && test_mode() == TEST_MIXED)
		ok(retried > 0 && locked > 0, "sections that did not commit, "
		   "retried: %lu; operations on the lock path: %lu", retried,
		   locked);
	else if (rseq_on)
		ok(retried > 0, "sections that did not commit, retried: %lu; "
		   "operations on the lock path: %lu", retried, locked);
	else
		ok(retried == 0 && locked > 0, "lock mode: no rseq retried, "
		   "%lu operations on the lock path", locked);
	percpu_free(stress_stack);
}

static void run_all(const char *when, int rseq_on)
{
	test_pin_to(0);
	test_edges();
	test_model(when, rseq_on);
	test_stress(rseq_on);
	test_unpin();
}

/* A broken stack can make a call loop for ever: fail instead of hang. */
static void on_watchdog(int sig)
{
	static const char msg[] = "not ok - watchdog: the test did not end "
				  "in time\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

int main(void)
{
	signal(SIGALRM, on_watchdog);
	alarm(WATCHDOG_S);
	nr = percpu_nr_shards();
	tap_check_mode();
	test_thread_setup(1);
	run_all("as started", test_mode() != TEST_LOCK);
	test_shards_free();
	percpu_disable_rseq();
	tap_diag("again after percpu_disable_rseq()");
	run_all("after percpu_disable_rseq()", 0);
	test_shards_free();
	return tap_done();
}
