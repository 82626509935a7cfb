// SPDX-License-Identifier: MIT
// The public API from C++ (tests/cxx_api.t): every public type declared
// without `struct`/`enum` (a function of the same name would hide it) and
// every public function called once, with -Wpedantic. TAP output; its own
// few lines of TAP, as tests/tap.h is C.
#include <percpu.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <type_traits>

static int tap_n, tap_failed;

static void ok(bool cond, const char *what)
{
	std::printf("%s %d - %s\n", cond ? "ok" : "not ok", ++tap_n, what);
	tap_failed += !cond;
}

// Each multi-word operation on the calling thread's shard, retried while
// the thread moves (PERCPU_MOVED).
static bool multi_ops(intptr_t *p, intptr_t *q)
{
	char src[16] = "percpu", dst[16] = "";
	int shard, r;

	do {
		intptr_t v = percpu_load(p, &shard);
		r = percpu_cmp2_store(p, shard, v, q, *(intptr_t *)
				      percpu_ptr(q, shard), v + 1);
	} while (r == PERCPU_MOVED);
	if (r != PERCPU_OK)
		return false;
	do {
		intptr_t v = percpu_load(p, &shard);
		r = percpu_cas_store2(p, shard, v, v + 1, q, 7);
		if (r == PERCPU_MOVED)
			continue;
		v = percpu_load(p, &shard);
		r = percpu_cas_store2_release(p, shard, v, v + 1, q, 8);
	} while (r == PERCPU_MOVED);
	if (r != PERCPU_OK)
		return false;
	do {
		intptr_t v = percpu_load(p, &shard);
		r = percpu_memcpy_store(p, shard, v, v + 1, dst, src, 7);
		if (r == PERCPU_MOVED)
			continue;
		v = percpu_load(p, &shard);
		r = percpu_memcpy_store_release(p, shard, v, v + 1, dst, src,
						7);
	} while (r == PERCPU_MOVED);
	return r == PERCPU_OK && !std::strcmp(dst, "percpu");
}

static intptr_t sum(intptr_t *p)
{
	intptr_t total = 0;

	for (int k = 0; k < percpu_nr_shards(); k++)
		total += *(intptr_t *)percpu_ptr(p, k);
	return total;
}

static void remote_fn(void *arg, int shard)
{
	*(int *)arg += shard >= 0;
}

static void test_mode_and_version()
{
	percpu_mode mode = percpu_mode_get(nullptr);
	percpu_runtime_info info;
	percpu_index index;

	std::memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ok(percpu_runtime_info_get(&info) == 0 && info.mode == mode &&
	   info.nr_shards == percpu_nr_shards(), "percpu_runtime_info_get");
	index = info.index;
	ok(index == PERCPU_INDEX_CPU || index == PERCPU_INDEX_CID, "index");
	ok(percpu_runtime_info_fill(&info, sizeof(info)) == 0 &&
	   info.size == sizeof(info), "percpu_runtime_info_fill");
	ok(percpu_version() == PERCPU_VERSION, "percpu_version");
}

static void test_words()
{
	intptr_t *p = (intptr_t *)percpu_alloc(sizeof(intptr_t));
	intptr_t zero[2] = { 0, 0 };
	intptr_t *q = (intptr_t *)percpu_alloc_init(sizeof(zero), zero);
	percpu_cas_result r = PERCPU_CHANGED;
	int shard;

	ok(p && q, "percpu_alloc, percpu_alloc_init");
	ok(percpu_add(p, 2) >= 0 && percpu_fetch_add(p, 3, &shard) >= 0 &&
	   sum(p) == 5, "percpu_add, percpu_fetch_add");
	ok(percpu_shard_id() >= 0 && percpu_store(p, 1) >= 0,
	   "percpu_shard_id, percpu_store");
	percpu_xchg(p, 0, nullptr);
	do {
		intptr_t v = percpu_load(p, &shard);
		r = (percpu_cas_result)percpu_cas(p, shard, v, 4);
	} while (r == PERCPU_MOVED);
	ok(r == PERCPU_OK && sum(p) == 4,
	   "percpu_xchg, percpu_load, percpu_cas");
	ok(multi_ops(p, q), "the multi-word operations");
	ok(percpu_remote_xchg(p, 0, 0) >= 0, "percpu_remote_xchg");
	intptr_t old = -1;
	ok(percpu_remote_xchg2(p, 0, 0, &old) == 0 && old == 0,
	   "percpu_remote_xchg2");
	int seen = 0;
	ok(percpu_remote(0, remote_fn, &seen) == 0 && seen == 1,
	   "percpu_remote");
	/* q's second word: multi_ops left 8 in the first, a held lock */
	shard = percpu_lock(q + 1);
	ok(percpu_unlock(q + 1, shard) == 0, "percpu_lock, percpu_unlock");
	ok(percpu_free(p) == 0 && percpu_free(q) == 0, "percpu_free");
}

// percpu_ptr keeps the type in C++ too; the _u64 operations, percpu_sum.
static void test_typed()
{
	uint64_t *p = (uint64_t *)percpu_alloc(sizeof(uint64_t));
	const uint64_t top = UINT64_MAX;
	uint64_t total = 0;
	int shard = percpu_store_u64(p, top - 1), r;

	static_assert(std::is_same<decltype(percpu_ptr(p, 0)), uint64_t *>::value,
		      "percpu_ptr keeps uint64_t *");
	PERCPU_FOR_EACH_SHARD(s)
		total += *percpu_ptr(p, s);
	ok(total == top - 1 && percpu_sum_u64(p) == top - 1 &&
	   percpu_sum((intptr_t *)p) == -2,
	   "percpu_store_u64, percpu_ptr, PERCPU_FOR_EACH_SHARD, percpu_sum*");
	percpu_add_u64(p, 1);
	percpu_fetch_add_u64(p, 0, nullptr);
	percpu_xchg_u64(p, 0, nullptr);
	total = percpu_sum_u64(p);
	do {
		uint64_t v = percpu_load_u64(p, &shard);
		r = percpu_cas_u64(p, shard, v, v + 3);
	} while (r == PERCPU_MOVED);
	ok(r == PERCPU_OK && percpu_sum_u64(p) == total + 3,
	   "percpu_add_u64, _fetch_add_u64, _xchg_u64, _load_u64, _cas_u64");
	percpu_free(p);
}

static void test_list_and_stack()
{
	percpu_list *list = (percpu_list *)percpu_alloc(sizeof(percpu_list));
	percpu_list_node a, *got;
	percpu_stack *s = percpu_stack_alloc(4);
	void *ptrs[2] = { &a, &a }, *out[4], *one = nullptr;
	int shard = -1;

	percpu_list_push(list, &a);
	got = percpu_list_pop(list, nullptr);
	for (int k = 0; !got && k < percpu_nr_shards(); k++)
		got = percpu_list_drain(list, k);	/* it moved */
	ok(got == &a, "percpu_list_push, _pop, _drain");
	ok(percpu_stack_push1(s, &a, &shard) == 1 &&
	   percpu_stack_push(s, ptrs, 2, nullptr) <= 2,
	   "percpu_stack_push1, percpu_stack_push");
	percpu_stack_pop1_into(s, &one, nullptr);
	percpu_stack_pop1(s, nullptr);
	percpu_stack_pop(s, out, 1, nullptr);
	for (int k = 0; k < percpu_nr_shards(); k++)
		percpu_stack_drain(s, k, out, 4);
	ok(percpu_stack_pop1(s, nullptr) == nullptr,
	   "percpu_stack_pop1_into, _pop1, _pop, _drain");
	percpu_free(s);
	percpu_free(list);
}

static void test_metrics()
{
	percpu_counter c;
	percpu_updown u;
	percpu_gauge g;
	intptr_t taken = 0;

	ok(percpu_counter_init(&c) == 0 && percpu_counter_add(&c, 3) >= 0 &&
	   percpu_counter_sum(&c) == 3 && percpu_counter_read(&c, 0) == 3 &&
	   percpu_counter_reset(&c, &taken) == 0 && taken == 3,
	   "percpu_counter_*");
	percpu_counter_destroy(&c);
	std::memset(&g, 0, sizeof(g));
	percpu_gauge_set(&g, 5);
	percpu_gauge_add(&g, -2);
	ok(percpu_gauge_read(&g) == 3, "percpu_gauge_*");
	ok(percpu_updown_init(&u) == 0, "percpu_updown_init");
	percpu_updown_add(&u, -4);
	ok(percpu_updown_sum(&u) == -4, "percpu_updown_add, _sum");
	percpu_updown_destroy(&u);
}

static void test_histogram()
{
	percpu_histogram h;
	percpu_histogram_snapshot s, all;
	uint64_t low, high;

	ok(percpu_histogram_init(&h, 1000) == 0, "percpu_histogram_init");
	percpu_histogram_record(&h, 10);
	percpu_histogram_record(&h, 30);
	ok(percpu_histogram_snapshot_take(&h, &s) == 0 && s.count == 2,
	   "percpu_histogram_snapshot_take");
	ok(percpu_histogram_snapshot_init(&all, 1000) == 0,
	   "percpu_histogram_snapshot_init");
	percpu_histogram_merge(&all, &s);
	ok(all.count == 2 && percpu_histogram_sum(&all) == 40 &&
	   percpu_histogram_mean(&all) == 20 &&
	   percpu_histogram_quantile(&all, 1) >= 30,
	   "percpu_histogram_merge, _sum, _mean, _quantile");
	ok(percpu_histogram_bucket_range(percpu_histogram_index(10), &low,
					 &high) == 0 && low <= 10 && 10 <= high,
	   "percpu_histogram_index, _bucket_range");
	percpu_histogram_snapshot_destroy(&s);
	percpu_histogram_snapshot_destroy(&all);
	percpu_histogram_destroy(&h);
}

static void test_registry()
{
	percpu_registry *r = percpu_registry_new();
	percpu_registry_limits l;
	char buf[4096];
	size_t len = 0;

	ok(r && percpu_registry_get_limits(r, &l) == 0 &&
	   percpu_registry_set_limits(r, &l) == 0, "percpu_registry_*_limits");
	percpu_counter_add(percpu_registry_counter(r, "c_total", "h", ""), 1);
	percpu_gauge_set(percpu_registry_gauge(r, "g", "h", ""), 1);
	percpu_updown_add(percpu_registry_updown(r, "u", "h", ""), 1);
	percpu_histogram_record(percpu_registry_histogram(r, "t", "h", "",
							  100, 1), 1);
	double le[3], lin[2];
	ok(percpu_buckets_exponential(le, 3, 1, 10) == 0 &&
	   percpu_buckets_linear(lin, 2, 0, 5) == 0,
	   "percpu_buckets_exponential, _linear");
	percpu_histogram_record(percpu_registry_histogram_le(r, "b", "h", "",
							     1, le, 3), 7);
	ok(percpu_registry_format(r, buf, sizeof(buf), &len) == 0 &&
	   std::strstr(buf, "c_total 1") &&
	   std::strstr(buf, "b_bucket{le=\"10\"} 1"),
	   "percpu_registry_* metrics, format");
	std::FILE *f = std::fopen("/dev/null", "w");
	ok(f && percpu_registry_write(r, f) == 0, "percpu_registry_write");
	ok(f && percpu_registry_write_openmetrics(r, f) == 0,
	   "percpu_registry_write_openmetrics");
	if (f)
		std::fclose(f);
	percpu_registry_free(r);
}

int main()
{
	test_mode_and_version();
	test_words();
	test_typed();
	test_list_and_stack();
	test_metrics();
	test_histogram();
	test_registry();
	ok(percpu_disable_rseq() == 0 && percpu_mode_get(nullptr) ==
	   PERCPU_MODE_LOCK, "percpu_disable_rseq");
	std::printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
