// SPDX-License-Identifier: MIT
/*
 * tests/unit.c: every public operation and its documented errors, in the
 * mode PERCPU_TEST_MODE names. In mixed mode the main thread takes the lock
 * path while a background thread keeps adding with rseq on the same shards.
 * The last group switches rseq off at run time and checks again.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"

static int nr;

static intptr_t *slot(intptr_t *p, int shard)
{
	return percpu_ptr(p, shard);
}

static int all_zero(void *p, size_t size)
{
	for (int s = 0; s < nr; s++) {
		const unsigned char *c = percpu_ptr(p, s);

		for (size_t i = 0; i < size; i++)
			if (c[i])
				return 0;
	}
	return 1;
}

static void test_alloc(void)
{
	void *small = percpu_alloc(8), *line = percpu_alloc(64);
	void *big = percpu_alloc(PERCPU_ALLOC_MAX);

	ok(small && line && big, "alloc 8, 64 and PERCPU_ALLOC_MAX bytes");
	ok(all_zero(small, 8) && all_zero(line, 64) &&
	   all_zero(big, PERCPU_ALLOC_MAX), "zeroed in every shard");
	ok((uintptr_t)small % 8 == 0 && (uintptr_t)line % 64 == 0 &&
	   (uintptr_t)big % 4096 == 0, "naturally aligned");
	memset(percpu_ptr(line, nr - 1), 0xab, 64);
	memset(percpu_ptr(big, 0), 0xcd, 100);
	ok(percpu_free(line) == 0 && percpu_free(big) == 0, "free");
	line = percpu_alloc(64);
	big = percpu_alloc(PERCPU_ALLOC_MAX);
	ok(line && big && all_zero(line, 64) && all_zero(big, 100),
	   "reused memory is zeroed again");
	percpu_free(small);
	percpu_free(line);
	percpu_free(big);
}

static void test_alloc_init(void)
{
	intptr_t init[3] = { 7, -1, 42 };
	intptr_t *p = percpu_alloc_init(sizeof(init), init);
	int same = p != NULL;

	for (int s = 0; same && s < nr; s++)
		same = !memcmp(percpu_ptr(p, s), init, sizeof(init));
	ok(same, "alloc_init copies the initial value into every shard");
	errno = 0;
	ok(!percpu_alloc_init(8, NULL) && errno == EINVAL,
	   "alloc_init(NULL): NULL, EINVAL");
	percpu_free(p);
}

static void test_alloc_errors(void)
{
	char local[16];
	void *p;

	errno = 0;
	ok(!percpu_alloc(0) && errno == EINVAL, "alloc(0): NULL, EINVAL");
	errno = 0;
	ok(!percpu_alloc(PERCPU_ALLOC_MAX + 1) && errno == EINVAL,
	   "alloc above PERCPU_ALLOC_MAX: NULL, EINVAL");
	errno = 0;
	ok(!percpu_alloc((size_t)-1) && errno == EINVAL, "alloc(SIZE_MAX): EINVAL");
	p = percpu_alloc(32);
	ok(percpu_free((char *)p + 8) == -1 && errno == EINVAL,
	   "free of an interior pointer: -1, EINVAL");
	ok(percpu_free(p) == 0, "free");
	errno = 0;
	ok(percpu_free(p) == -1 && errno == EINVAL, "double free: -1, EINVAL");
	ok(percpu_free(local) == -1 && errno == EINVAL,
	   "free of foreign memory: -1, EINVAL");
	ok(percpu_free(NULL) == 0, "free(NULL) is a no-op");
}

static void test_ptr(void)
{
	char *p = percpu_alloc(8);

	ok(nr >= 1 && nr == percpu_nr_shards(), "nr_shards %d", nr);
	ok(percpu_ptr(p, 0) == p &&
	   percpu_ptr(p, nr - 1) == p + (size_t)(nr - 1) * PERCPU_STRIDE,
	   "percpu_ptr is p + shard * stride");
	errno = 0;
	ok(!percpu_ptr(p, -1) && errno == EINVAL, "percpu_ptr(-1): NULL, EINVAL");
	errno = 0;
	ok(!percpu_ptr(p, nr) && errno == EINVAL, "percpu_ptr(nr): NULL, EINVAL");
	percpu_free(p);
}

static void test_add(void)
{
	intptr_t *c = percpu_alloc(sizeof(*c));
	int s1 = percpu_add(c, 5), s2 = percpu_add(c, -2), shard = -1;
	intptr_t old;

	ok(s1 >= 0 && s1 < nr && s2 >= 0 && s2 < nr, "add returns a shard");
	ok(test_sum(c) == 3, "add: sum over shards is exact");
	old = percpu_fetch_add(c, 10, &shard);
	ok(shard >= 0 && shard < nr && *slot(c, shard) == old + 10,
	   "fetch_add returns the old value of the shard it reports");
	ok(test_sum(c) == 13, "fetch_add adds");
	old = percpu_fetch_add(c, 1, NULL);
	ok(test_sum(c) == 14, "fetch_add with a NULL shard");
	percpu_free(c);
}

static int index_is_cid(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	percpu_runtime_info_get(&info);
	return info.index == PERCPU_INDEX_CID;
}

static void test_load_store(void)
{
	intptr_t *c = percpu_alloc(sizeof(*c));
	int shard = -1, s = percpu_store(c, 42), pinned;
	intptr_t v;

	ok(s >= 0 && s < nr && *slot(c, s) == 42, "store into the shard returned");
	*slot(c, 0) = 7;
	if (nr > 1)
		*slot(c, 1) = 8;
	v = percpu_load(c, &shard);
	ok(shard >= 0 && shard < nr && v == *slot(c, shard),
	   "load returns the value of the shard it reports");
	for (int k = 0; k < nr; k++)
		*slot(c, k) = 1000 + k;
	/* Pinned to the last CPU, so that shard 0's value is a wrong one. */
	pinned = !index_is_cid() && !test_pin_to(nr - 1);
	v = percpu_load(c, NULL);
	ok(pinned ? v == 1000 + nr - 1 : v >= 1000 && v < 1000 + nr,
	   "load with a NULL shard: %s (%ld)", pinned ? "the pinned CPU's value"
	   : "some shard's value", (long)v);
	test_unpin();
	percpu_free(c);
}

static void test_cas(void)
{
	intptr_t *c = percpu_alloc(sizeof(*c));
	int shard, r;
	intptr_t v;

	test_pin_to(0);
	v = percpu_load(c, &shard);
	r = percpu_cas(c, shard, v, v + 100);
	ok(r == PERCPU_OK && *slot(c, shard) == v + 100, "cas stores on a match");
	r = percpu_cas(c, shard, v, 1);
	ok(r == PERCPU_CHANGED && *slot(c, shard) == v + 100,
	   "cas on a mismatch: PERCPU_CHANGED, nothing stored");
	errno = 0;
	ok(percpu_cas(c, nr, 0, 1) == -1 && errno == EINVAL,
	   "cas on a shard out of range: -1, EINVAL");
	ok(percpu_cas(c, -1, 0, 1) == -1 && errno == EINVAL,
	   "cas on shard -1: -1, EINVAL");
	if (nr > 1) {
		int other = (shard + 1) % nr;
		int rseq = percpu_mode_get(NULL) == PERCPU_MODE_RSEQ;

		r = percpu_cas(c, other, 0, 9);
		ok((r == PERCPU_MOVED && *slot(c, other) == 0) ||
		   (r == PERCPU_OK && *slot(c, other) == 9),
		   "cas on another shard: moved, or applied there (%d)", r);
		ok(r == (rseq ? PERCPU_MOVED : PERCPU_OK),
		   "rseq says moved, lock path applies it");
	}
	test_unpin();
	percpu_free(c);
}

/*
 * A pinned thread's shard is its CPU. A concurrency id is tied to no CPU
 * and may change whenever threads come and go: there it must be in range.
 */
static void test_shard_id(void)
{
	int ok_all = 1, cid = index_is_cid();

	for (int cpu = 0; cpu < nr && cpu < CPU_SETSIZE; cpu++) {
		int s;

		if (test_pin_to(cpu))
			continue;
		s = percpu_shard_id();
		if (s < 0 || s >= nr || (!cid && s != cpu))
			ok_all = 0;
	}
	test_unpin();
	ok(ok_all, "shard_id is %s", cid ? "in range" :
		   "the CPU a pinned thread runs on");
}

struct contender {
	intptr_t *lock;
	int cpu;
	int shard;
	int *released;
	int saw_released;
};

static void *contend(void *arg)
{
	struct contender *c = arg;

	test_thread_setup(0);
	test_pin_to(c->cpu);
	c->shard = percpu_lock(c->lock);
	c->saw_released = __atomic_load_n(c->released, __ATOMIC_ACQUIRE);
	return NULL;
}

/* A second thread on the same CPU must not get the same shard's lock. */
static void test_lock_contended(intptr_t *lock)
{
	int released = 0;
	struct contender c = { lock, 0, -1, &released, 0 };
	pthread_t t;
	int s;

	test_pin_to(0);
	s = percpu_lock(lock);
	pthread_create(&t, NULL, contend, &c);
	usleep(50000);
	__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	ok(percpu_unlock(lock, s) == 0, "holder unlocks beside a contender");
	pthread_join(t, NULL);
	ok(c.shard >= 0 && (c.shard != s || c.saw_released),
	   "a held shard lock is not granted twice (got %d, held %d)",
	   c.shard, s);
	ok(percpu_unlock(lock, c.shard) == 0, "contender unlocks");
	test_unpin();
}

static void test_lock(void)
{
	intptr_t *lock = percpu_alloc(sizeof(*lock));
	int s = percpu_lock(lock);

	ok(s >= 0 && s < nr && *slot(lock, s) == 1, "lock takes a shard");
	ok(percpu_unlock(lock, s) == 0 && *slot(lock, s) == 0, "unlock");
	errno = 0;
	ok(percpu_unlock(lock, s) == -1 && errno == EINVAL,
	   "unlock of a free shard: -1, EINVAL");
	errno = 0;
	ok(percpu_unlock(lock, nr) == -1 && errno == EINVAL,
	   "unlock of a shard out of range: -1, EINVAL");
	test_lock_contended(lock);
	test_all_unlocked(lock);
	percpu_free(lock);
}

static void test_info(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };
	const char *reason = NULL;

	percpu_mode_get(&reason);
	ok(reason && *reason, "mode has a reason: %s", reason ? reason : "");
	errno = 0;
	ok(percpu_runtime_info_get(NULL) == -1 && errno == EINVAL,
	   "runtime_info(NULL): -1, EINVAL");
	ok(percpu_runtime_info_get(&info) == 0 && info.nr_shards == nr &&
	   info.nr_possible_cpus == nr, "runtime_info");
}

/* A caller's struct larger than the library's: the rest zeroed, size cut. */
struct info_grown {
	struct percpu_runtime_info info;
	int later;
};

/* The symbol a program linked against 0.1.0 calls: its struct had no size
 * field, so its fields lie where ours do less sizeof(size_t). */
extern int runtime_info_0_1(void *info) __asm__("percpu_runtime_info");

static void test_info_abi_0_1(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };
	char old[sizeof(info)];
	int shards;

	memset(old, 0xff, sizeof(old));
	percpu_runtime_info_get(&info);
	ok(runtime_info_0_1(old) == 0, "the 0.1.0 percpu_runtime_info symbol");
	memcpy(&shards, old + offsetof(struct percpu_runtime_info, nr_shards) -
	       sizeof(size_t), sizeof(shards));
	ok(shards == nr && !memcmp(old, &info.mode, sizeof(info.mode)),
	   "it fills the 0.1.0 layout");
}

/* The size field, and the 0.1.0 spellings that C sources may still use. */
static void test_info_compat(void)
{
	struct percpu_runtime_info info = { .size = 8 };
	struct info_grown grown = { .info.size = sizeof(grown), .later = -1 };
	const char *reason = NULL;

	errno = 0;
	ok(percpu_runtime_info_get(&info) == -1 && errno == EINVAL,
	   "runtime_info_get, size too small: -1, EINVAL");
	ok(percpu_runtime_info_get(&grown.info) == 0 && grown.later == 0 &&
	   grown.info.size == sizeof(info) && grown.info.nr_shards == nr,
	   "runtime_info_get, size larger: filled, the rest zeroed");
	ok(percpu_mode(&reason) == percpu_mode_get(NULL) && reason,
	   "percpu_mode() still works");
	ok(percpu_runtime_info(&info) == 0 && info.size == sizeof(info) &&
	   info.nr_shards == nr, "percpu_runtime_info() still works");
}

static void run_all(void)
{
	test_alloc();
	test_alloc_init();
	test_alloc_errors();
	test_ptr();
	test_add();
	test_load_store();
	test_cas();
	test_shard_id();
	test_lock();
	test_info();
	test_info_compat();
	test_info_abi_0_1();
}

int main(void)
{
	const char *reason;
	enum percpu_mode m;

	nr = percpu_nr_shards();
	tap_check_mode();
	test_background_start();
	test_thread_setup(1);
	run_all();
	test_background_stop();
	test_shards_free();
	percpu_disable_rseq();
	m = percpu_mode_get(&reason);
	ok(m == PERCPU_MODE_LOCK &&
	   (!strcmp(reason, "disabled at run time") || test_mode() == TEST_LOCK),
	   "disabled at run time: %s", reason);
	tap_diag("again after percpu_disable_rseq()");
	run_all();
	test_shards_free();
	return tap_done();
}
