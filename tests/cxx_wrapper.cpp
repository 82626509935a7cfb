// SPDX-License-Identifier: MIT
// The C++ wrapper, percpu/percpu.hpp (tests/cxx_wrapper.t), in the mode
// PERCPU_TEST_MODE names (in mixed mode odd threads take the lock path):
// var<T> from threads adding at once, summed exactly (above INT64_MAX
// too); shard access and the word operations; the shard guard keeping a
// plain, non-atomic counter per shard exact; the registry's handles
// updated from threads and read back from the exposition text; metrics of
// one's own; moves. Its own few lines of TAP, as tests/tap.h is C.
#include <percpu/percpu.hpp>
#include <percpu/inject.h>	// built with PERCPU_INJECT: mixed mode
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#include <sched.h>

static int tap_n, tap_failed;

static void ok(bool cond, const std::string &what)
{
	std::printf("%s %d - %s\n", cond ? "ok" : "not ok", ++tap_n,
		    what.c_str());
	tap_failed += !cond;
}

static const int threads = 4;
static const long adds = 100000;

static bool mixed()
{
	const char *m = std::getenv("PERCPU_TEST_MODE");

	return m && !std::strcmp(m, "mixed");
}

// fn(index) on `threads` threads at once; in mixed mode the odd ones on
// the lock path.
template <typename Fn>
static void run_threads(Fn fn)
{
	std::vector<std::thread> t;

	for (int i = 0; i < threads; i++)
		t.emplace_back([fn, i] {
			percpu_inject_thread_lock_path = mixed() && (i & 1);
			fn(i);
		});
	for (auto &x : t)
		x.join();
}

static void test_mode()
{
	const char *m = std::getenv("PERCPU_TEST_MODE");
	bool want_lock = m && !std::strcmp(m, "lock");
	const char *reason = "";

	ok((percpu_mode_get(&reason) == PERCPU_MODE_LOCK) == want_lock,
	   std::string("mode is ") + (m ? m : "rseq") + " as asked (" +
		   reason + ")");
}

// Each add of `big` is above INT64_MAX, every bit pattern alike: the sum
// wraps many times and must come out exact modulo 2^64.
static const uint64_t big_step = 0x9e3779b97f4a7c15u;

static void test_var_sums()
{
	percpu::var<intptr_t> word;
	percpu::var<uint64_t> big;
	percpu::var<int64_t> down;
	uint64_t want_big = uint64_t(threads) * adds * big_step;

	ok(word && big && down, "var<intptr_t>, var<uint64_t>, var<int64_t>");
	run_threads([&](int) {
		for (long k = 0; k < adds; k++) {
			word.add(1);
			big.add(big_step);
			down.add(-2);
			if (k % 4096 == 0)
				sched_yield();
		}
	});
	ok(word.sum() == threads * adds,
	   "var<intptr_t>: " + std::to_string(word.sum()) + " after " +
		   std::to_string(threads) + " x " + std::to_string(adds) +
		   " adds");
	ok(big.sum() == want_big, "var<uint64_t>: adds above INT64_MAX, sum " +
					  std::to_string(big.sum()));
	ok(down.sum() == -2 * threads * adds,
	   "var<int64_t>: " + std::to_string(down.sum()));
	ok(word.sum() == percpu_sum(word.get()), "sum() == percpu_sum()");
}

struct pair {
	long a, b;
};

static void test_var_access()
{
	const pair init = { 3, 4 };
	percpu::var<pair> p(init);
	int last = percpu::shards() - 1;

	static_assert(std::is_same<decltype(p.at(0)), pair *>::value,
		      "at() gives a T *");
	ok(p.at(last) && p.at(last)->a == 3 && p.at(0)->b == 4,
	   "var<pair>(init): every shard's copy holds init");
	p.at(last)->b = 9;
	ok(reinterpret_cast<char *>(p.at(last)) ==
			   reinterpret_cast<char *>(p.get()) +
				   size_t(last) * PERCPU_STRIDE &&
		   p.at(0)->b == (last ? 4 : 9),
	   "at(shard) is shard 0's address + shard * PERCPU_STRIDE");
	errno = 0;
	ok(!p.at(last + 1) && errno == EINVAL && !p.at(-1),
	   "at(shards()) and at(-1): nullptr, EINVAL");

	percpu::var<pair> q(std::move(p));
	ok(!p && q && q.at(last)->b == 9, "move: the source is empty");
	p = std::move(q);
	ok(p && !q && p.at(last)->b == 9, "move assignment");
}

// The word operations, pinned to one CPU so that all work on one shard.
static void test_var_words()
{
	percpu::var<uint64_t> v;
	const uint64_t top = UINT64_MAX - 1;
	cpu_set_t one, old;
	int shard, loaded_on = -1;

	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	shard = v.store(top);
	ok(v.load(&loaded_on) == top && loaded_on == shard &&
	   *v.at(shard) == top, "store, load above INT64_MAX");
	ok(v.cas(shard, top, top - 2) == PERCPU_OK &&
	   v.cas(shard, top, 1) == PERCPU_CHANGED && v.load() == top - 2,
	   "cas: stores on a match, not on a mismatch");
	v.add(1);
	ok(v.fetch_add(1) == top - 1 && v.xchg(5) == top && v.load() == 5,
	   "add, fetch_add, xchg");
	sched_setaffinity(0, sizeof(old), &old);
}

// A plain long per shard, incremented by read, yield now and then, write:
// only the shard's lock keeps increments from being lost.
static void test_guard()
{
	percpu::sharded_lock lock;
	percpu::var<long> count;

	ok(lock && count, "sharded_lock, var<long>");
	run_threads([&](int) {
		for (long k = 0; k < adds; k++) {
			percpu::shard_guard g(lock);
			long *mine = count.at(g.shard());
			long v = *mine;

			if (k % 1024 == 0)
				sched_yield();
			*static_cast<volatile long *>(mine) = v + 1;
		}
	});
	ok(count.sum() == threads * adds,
	   "shard_guard: a non-atomic counter per shard, sum " +
		   std::to_string(count.sum()));

	int shard;
	{
		percpu::shard_guard g(lock);
		percpu::shard_guard moved(std::move(g));

		shard = moved.shard();
		ok(*percpu_ptr(lock.get(), shard) == 1, "held while in scope");
	}
	errno = 0;
	ok(lock.unlock(shard) == -1 && errno == EINVAL,
	   "released once, by the guard it was moved to");
	shard = lock.lock();
	ok(shard >= 0 && lock.unlock(shard) == 0, "lock(), unlock()");
}

// The line of `text` that starts with `start`, or "".
static std::string line(const std::string &text, const std::string &start)
{
	size_t at = text.find("\n" + start);
	size_t end;

	if (at == std::string::npos)
		return "";
	end = text.find('\n', at + 1);
	return text.substr(at + 1, end - at - 1);
}

static void test_registry()
{
	percpu::registry r;
	std::string text;

	ok(bool(r), "registry");
	percpu::counter_ref req =
		r.counter("requests_total", "Requests.", "method=\"GET\"");
	percpu::gauge_ref temp = r.gauge("temperature", "Degrees.");
	percpu::updown_ref busy = r.updown("busy", "Requests in flight.");
	percpu::histogram_ref lat =
		r.histogram("latency_seconds", "Latency.", nullptr, 1000, 1e-3);
	ok(req && temp && busy && lat, "counter, gauge, updown, histogram");
	ok(r.counter("requests_total", nullptr, "method=\"GET\"").get() ==
		   req.get(),
	   "the same series twice: the same metric");
	errno = 0;
	ok(!r.counter("1bad", "", nullptr) && errno == EINVAL,
	   "a malformed name: an empty view, EINVAL");
	run_threads([&](int i) {
		for (long k = 0; k < adds; k++) {
			req.add(1);
			busy.add(i & 1 ? 1 : -1);
		}
		lat.record(uint64_t(i));
	});
	temp.set(21);
	temp.add(-3);
	ok(r.format(text) == 0, "format: " + std::to_string(text.size()) +
					" bytes");
	text = "\n" + text;
	ok(line(text, "requests_total{") ==
		   "requests_total{method=\"GET\"} " +
			   std::to_string(threads * adds),
	   "exported: " + line(text, "requests_total{"));
	ok(line(text, "# TYPE requests_total") == "# TYPE requests_total counter",
	   "exported: " + line(text, "# TYPE requests_total"));
	ok(line(text, "temperature ") == "temperature 18",
	   "exported: " + line(text, "temperature "));
	ok(line(text, "busy ") == "busy 0", "exported: " + line(text, "busy "));
	ok(line(text, "latency_seconds_count") ==
		   "latency_seconds_count " + std::to_string(threads),
	   "exported: " + line(text, "latency_seconds_count"));

	char *buf = nullptr;
	size_t size = 0;
	std::FILE *f = open_memstream(&buf, &size);
	ok(f && r.write(f) == 0 && std::fclose(f) == 0 &&
		   "\n" + std::string(buf, size) == text,
	   "write() writes what format() gives");
	std::free(buf);

	percpu::registry moved(std::move(r));
	ok(!r && moved && moved.format(text) == 0 &&
		   text.find("requests_total{") != std::string::npos,
	   "a moved registry keeps its metrics");
}

static void test_own_metrics()
{
	percpu::counter c;
	percpu::updown u;
	percpu::histogram h(1000);
	percpu::snapshot s, all;
	intptr_t taken = 0;

	ok(c && u && h, "counter, updown, histogram of one's own");
	run_threads([&](int i) {
		for (long k = 0; k < adds; k++)
			c.add(1);
		u.add(i);
		h.record(uint64_t(10 * (i + 1)));
	});
	ok(c.sum() == threads * adds && c.read(0) == threads * adds,
	   "counter: sum, read");
	errno = 0;
	ok(c.add(-1) == -1 && errno == EINVAL, "counter: a negative add refused");
	ok(c.reset(&taken) == 0 && taken == threads * adds && c.sum() == 0,
	   "counter: reset takes everything");
	ok(u.sum() == threads * (threads - 1) / 2, "updown: sum");
	ok(h.take(s) == 0 && s && s.count() == threads &&
		   s.quantile(1) == uint64_t(10 * threads) &&
		   s.sum() == 10.0 * threads * (threads + 1) / 2,
	   "histogram: take, count, quantile, sum");
	ok(all.init(1000) == 0 && (all.merge(s), all.count() == threads) &&
		   all.mean() == 5.0 * (threads + 1),
	   "snapshot: init, merge, mean");

	percpu::counter c2(std::move(c));
	percpu::counter_ref view = c2;
	view.add(2);
	ok(!c && c2.sum() == 2, "counter: move; a view of it");
	percpu::snapshot s2(std::move(s));
	ok(!s && s2 && s2.count() == threads, "snapshot: move");
}

int main()
{
	test_mode();
	test_var_sums();
	test_var_access();
	test_var_words();
	test_guard();
	test_registry();
	test_own_metrics();
	std::printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
