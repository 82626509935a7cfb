// SPDX-License-Identifier: MIT
/*
 * tests/env_badinput.c: every documented error of every public function,
 * in one place: sizes that are zero, too large or overflow, shards out of
 * range, pointers the pool never gave out, double frees, NULL where the
 * contract allows it or names an error. Each call must return its error
 * with the errno the header names, change nothing, and not crash; the
 * library must work normally afterwards.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "env_sanitizer.h"
#include "tap.h"

static int nr, bad_shards[4];
static intptr_t *words;			/* two words: p and q of multi.h */
static char dst[64];
static const char src[64] = "source bytes";

/* The call just made returned `failed` (its error value) with EINVAL. */
static void einval(int failed, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ok(failed && err == EINVAL, "%s: error, EINVAL (errno %d)", what, err);
}

static int untouched(void)
{
	static const char zero[sizeof(dst)];

	for (int s = 0; s < nr; s++)
		if (*(intptr_t *)percpu_ptr(&words[0], s) ||
		    *(intptr_t *)percpu_ptr(&words[1], s))
			return 0;
	return !memcmp(dst, zero, sizeof(dst));
}

static void pin_here(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ok(sched_setaffinity(0, sizeof(one), &one) == 0,
	   "pinned: no PERCPU_MOVED on a valid shard");
}

static void test_alloc_sizes(void)
{
	void *p;

	errno = 0;
	einval(percpu_alloc(0) == NULL, "percpu_alloc(0)");
	errno = 0;
	einval(percpu_alloc(PERCPU_ALLOC_MAX + 1) == NULL,
	       "percpu_alloc(PERCPU_ALLOC_MAX + 1)");
	errno = 0;
	einval(percpu_alloc(SIZE_MAX) == NULL, "percpu_alloc(SIZE_MAX)");
	errno = 0;
	einval(percpu_alloc((size_t)INT_MAX + 1) == NULL,
	       "percpu_alloc(INT_MAX + 1)");
	p = percpu_alloc(PERCPU_ALLOC_MAX);
	ok(p && percpu_free(p) == 0, "percpu_alloc(PERCPU_ALLOC_MAX) works");
}

/*
 * In a child whose address space is capped just above its use, the pool
 * cannot map another chunk: allocation fails with ENOMEM, and works again
 * once something is freed. Exit status: 0 pass, 1 no ENOMEM, 2 no reuse.
 */
static int exhaust_in_child(void)
{
	struct rlimit cap = { 64 << 20, 64 << 20 };
	long vm_pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	void *last = NULL, *p = NULL;
	int n = 0;

	if (!f || fscanf(f, "%ld", &vm_pages) != 1)
		return 3;
	fclose(f);
	cap.rlim_cur = cap.rlim_max += (rlim_t)vm_pages * 4096;
	setrlimit(RLIMIT_AS, &cap);
	while (n++ < 10000 && (p = percpu_alloc(PERCPU_ALLOC_MAX)))
		last = p;
	if (p || errno != ENOMEM || !last)
		return 1;
	percpu_free(last);
	return percpu_alloc(PERCPU_ALLOC_MAX) == last ? 0 : 2;
}

static void test_alloc_enomem(void)
{
	int status = -1;
	pid_t pid;

	if (UNDER_SANITIZER) {
		ok(1, "percpu_alloc: ENOMEM # SKIP under a sanitizer");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(exhaust_in_child());
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "percpu_alloc with the address space full: NULL, ENOMEM; works "
	   "again after a free (status %#x)", status);
}

/* A two-page object: its second page is the tail of a run. */
static void test_free_foreign(void)
{
	char local[16], *heap = malloc(16), *small = percpu_alloc(32);
	char *run = percpu_alloc(8192);

	ok(percpu_free(NULL) == 0, "percpu_free(NULL): 0");
	errno = 0;
	einval(percpu_free(local) == -1, "percpu_free(a stack address)");
	errno = 0;
	einval(percpu_free(heap) == -1, "percpu_free(malloc memory)");
	errno = 0;
	einval(percpu_free((void *)1) == -1, "percpu_free((void *)1)");
	errno = 0;
	einval(percpu_free(small + 8) == -1, "percpu_free(inside an object)");
	errno = 0;
	einval(percpu_free(run + 4096) == -1, "percpu_free(a run's 2nd page)");
	if (nr > 1) {
		errno = 0;
		einval(percpu_free(small + PERCPU_STRIDE) == -1,
		       "percpu_free(shard 1's copy)");
	}
	ok(percpu_free(small) == 0 && percpu_free(run) == 0,
	   "the objects themselves are still live and free");
	free(heap);
}

static void test_double_free(void)
{
	void *small = percpu_alloc(8), *big = percpu_alloc(3 * 4096);
	void *again;

	ok(percpu_free(small) == 0 && percpu_free(big) == 0, "free");
	errno = 0;
	einval(percpu_free(small) == -1, "percpu_free twice, 8 bytes");
	errno = 0;
	einval(percpu_free(big) == -1, "percpu_free twice, 12 KiB");
	again = percpu_alloc(8);
	ok(again && *(intptr_t *)again == 0 && percpu_free(again) == 0,
	   "the pool works after bad frees");
}

static void test_ptr(void)
{
	ok(nr >= 1, "percpu_nr_shards() %d", nr);
	ok((char *)percpu_ptr(words, nr - 1) ==
	   (char *)words + (size_t)(nr - 1) * PERCPU_STRIDE,
	   "percpu_ptr(nr - 1) valid");
	for (int i = 0; i < 4; i++) {
		errno = 0;
		einval(percpu_ptr(words, bad_shards[i]) == NULL,
		       "percpu_ptr(shard %d)", bad_shards[i]);
	}
}

static int call_cas(int s)
{
	return percpu_cas(&words[0], s, 0, 1);
}

static int call_cmp2_store(int s)
{
	return percpu_cmp2_store(&words[0], s, 0, &words[1], 0, 1);
}

static int call_cas_store2(int s)
{
	return percpu_cas_store2(&words[0], s, 0, 1, &words[1], 2);
}

static int call_cas_store2_release(int s)
{
	return percpu_cas_store2_release(&words[0], s, 0, 1, &words[1], 2);
}

static int call_memcpy_store(int s)
{
	return percpu_memcpy_store(&words[0], s, 0, 1, dst, src, sizeof(src));
}

static int call_memcpy_store_release(int s)
{
	return percpu_memcpy_store_release(&words[0], s, 0, 1, dst, src,
					   sizeof(src));
}

static int call_unlock(int s)
{
	return percpu_unlock(&words[0], s);
}

static const struct on_shard {
	const char *name;
	int (*call)(int shard);
} on_shard[] = {
	{ "percpu_cas", call_cas },
	{ "percpu_cmp2_store", call_cmp2_store },
	{ "percpu_cas_store2", call_cas_store2 },
	{ "percpu_cas_store2_release", call_cas_store2_release },
	{ "percpu_memcpy_store", call_memcpy_store },
	{ "percpu_memcpy_store_release", call_memcpy_store_release },
	{ "percpu_unlock", call_unlock },
};

/* Every call that names a shard refuses one out of range, storing nothing. */
static void test_bad_shards(void)
{
	for (size_t f = 0; f < sizeof(on_shard) / sizeof(on_shard[0]); f++) {
		for (int i = 0; i < 4; i++) {
			errno = 0;
			einval(on_shard[f].call(bad_shards[i]) == -1 &&
				       untouched(),
			       "%s(shard %d), nothing stored", on_shard[f].name,
			       bad_shards[i]);
		}
	}
}

static void test_memcpy_len(int s)
{
	errno = 0;
	einval(percpu_memcpy_store(&words[0], s, 0, 1, dst, src,
				   PERCPU_MEMCPY_MAX + 1) == -1 && untouched(),
	       "percpu_memcpy_store(PERCPU_MEMCPY_MAX + 1 bytes), nothing "
	       "stored");
	errno = 0;
	einval(percpu_memcpy_store_release(&words[0], s, 0, 1, dst, src,
					   SIZE_MAX) == -1 && untouched(),
	       "percpu_memcpy_store_release(SIZE_MAX bytes), nothing stored");
	ok(percpu_memcpy_store(&words[0], s, 0, 0, dst, src, 0) == PERCPU_OK &&
	   untouched(), "percpu_memcpy_store of 0 bytes commits");
}

/* A failed compare reports CHANGED and leaves even the speculative
 * stores undone. */
static void test_changed(int s)
{
	ok(call_cas(s) == PERCPU_OK && call_cas(s) == PERCPU_CHANGED,
	   "percpu_cas on a mismatch: PERCPU_CHANGED");
	ok(call_cmp2_store(s) == PERCPU_CHANGED &&
	   call_cas_store2(s) == PERCPU_CHANGED &&
	   call_memcpy_store(s) == PERCPU_CHANGED,
	   "cmp2_store, cas_store2, memcpy_store on a mismatch: CHANGED");
	ok(*(intptr_t *)percpu_ptr(&words[0], s) == 1 &&
	   *(intptr_t *)percpu_ptr(&words[1], s) == 0 && dst[0] == 0,
	   "nothing stored by the failed compares");
	*(intptr_t *)percpu_ptr(&words[0], s) = 0;
	ok(percpu_cmp2_store(&words[0], s, 0, &words[1], 5, 1) ==
		   PERCPU_CHANGED && untouched(),
	   "percpu_cmp2_store, second word mismatched: CHANGED");
}

static void test_unlock_free(int s)
{
	int held;

	errno = 0;
	einval(percpu_unlock(&words[0], s) == -1 && untouched(),
	       "percpu_unlock of a free shard");
	held = percpu_lock(&words[0]);
	ok(percpu_unlock(&words[0], held) == 0, "lock, unlock");
	errno = 0;
	einval(percpu_unlock(&words[0], held) == -1 && untouched(),
	       "percpu_unlock twice");
}

static void test_list(void)
{
	struct percpu_list *list = percpu_alloc(sizeof(*list));
	struct percpu_list_node node = { NULL };
	int shard = -1;

	ok(list && percpu_list_pop(list, &shard) == NULL && shard >= 0 &&
	   shard < nr, "percpu_list_pop of an empty list: NULL, a shard");
	percpu_list_push(list, &node);
	ok(percpu_list_pop(list, NULL) == &node &&
	   percpu_list_pop(list, NULL) == NULL, "pop with a NULL shard");
	percpu_free(list);
}

static void test_stack_alloc(void)
{
	size_t max = (PERCPU_ALLOC_MAX - sizeof(struct percpu_stack)) /
		     sizeof(void *);
	struct percpu_stack *s;

	errno = 0;
	einval(percpu_stack_alloc(0) == NULL, "percpu_stack_alloc(0)");
	errno = 0;
	einval(percpu_stack_alloc(max + 1) == NULL,
	       "percpu_stack_alloc(largest + 1)");
	errno = 0;
	einval(percpu_stack_alloc(SIZE_MAX) == NULL,
	       "percpu_stack_alloc(SIZE_MAX)");
	errno = 0;
	einval(percpu_stack_alloc(SIZE_MAX / sizeof(void *) + 2) == NULL,
	       "percpu_stack_alloc(a size that wraps when multiplied)");
	s = percpu_stack_alloc(max);
	ok(s && ((struct percpu_stack *)percpu_ptr(s, nr - 1))->capacity ==
			(intptr_t)max && percpu_free(s) == 0,
	   "percpu_stack_alloc(largest): %zu pointers", max);
}

/* Counts at the edges: nothing, more than fits, more than one call moves. */
static void test_stack_counts(void)
{
	enum { CAP = 1000, BATCH = PERCPU_MEMCPY_MAX / sizeof(void *) };
	static void *in[CAP], *out[CAP];
	struct percpu_stack *s = percpu_stack_alloc(CAP);
	int shard = -1;

	ok(s && percpu_stack_push(s, in, 0, NULL) == 0 &&
	   percpu_stack_pop(s, out, 0, NULL) == 0 &&
	   percpu_stack_pop(s, out, 1, &shard) == 0 && shard >= 0,
	   "stack: push 0, pop 0, pop from empty: 0");
	ok(percpu_stack_push(s, in, CAP, NULL) == BATCH,
	   "stack: one push moves at most %d", (int)BATCH);
	ok(percpu_stack_push(s, in, CAP, NULL) == CAP - BATCH &&
	   percpu_stack_push(s, in, 1, NULL) == 0,
	   "stack: push beyond capacity stops at capacity, then 0");
	ok(percpu_stack_pop(s, out, CAP, NULL) == BATCH &&
	   percpu_stack_pop(s, out, CAP, NULL) == CAP - BATCH &&
	   percpu_stack_pop(s, out, CAP, NULL) == 0,
	   "stack: pops drain it in batches");
	ok(percpu_free(s) == 0, "percpu_free of a stack");
}

static void test_mode_calls(void)
{
	const char *reason = NULL;
	enum percpu_mode m = percpu_mode_get(NULL);

	ok(m == percpu_mode_get(&reason) &&
	   m == (test_mode() == TEST_RSEQ ? PERCPU_MODE_RSEQ : PERCPU_MODE_LOCK),
	   "percpu_mode_get(NULL): this thread's mode, %s", test_mode_name());
	errno = 0;
	einval(percpu_runtime_info_get(NULL) == -1,
	       "percpu_runtime_info_get(NULL)");
	ok(percpu_disable_rseq() == 0 && percpu_disable_rseq() == 0,
	   "percpu_disable_rseq twice: 0 both times");
	m = percpu_mode_get(&reason);
	ok(m == PERCPU_MODE_LOCK && reason && *reason, "then lock mode (%s)",
	   reason ? reason : "no reason");
}

/* Valid-shard checks run pinned, so the shard stays the thread's own. */
static void run_all(void)
{
	int s;

	test_alloc_sizes();
	test_alloc_enomem();
	test_free_foreign();
	test_double_free();
	test_ptr();
	test_bad_shards();
	s = percpu_shard_id();
	test_memcpy_len(s);
	test_changed(s);
	test_unlock_free(s);
	test_list();
	test_stack_alloc();
	test_stack_counts();
}

int main(void)
{
	tap_check_mode();
	nr = percpu_nr_shards();
	bad_shards[0] = -1;
	bad_shards[1] = nr;
	bad_shards[2] = INT_MAX;
	bad_shards[3] = INT_MIN;
	words = percpu_alloc(2 * sizeof(intptr_t));
	pin_here();
	test_thread_setup(1);
	run_all();
	test_mode_calls();
	tap_diag("again in lock mode, after percpu_disable_rseq()");
	run_all();
	return tap_done();
}
