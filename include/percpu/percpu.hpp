// SPDX-License-Identifier: MIT
/*
 * percpu/percpu.hpp: a header-only C++11 layer over the C API, for
 * `#include <percpu/percpu.hpp>` and the same -lpercpu:
 *
 *   percpu::var<T>          a per-CPU variable (percpu_alloc): shard access,
 *                           word operations and an exact-when-quiet sum
 *   percpu::sharded_lock    the sharded lock of percpu/lock.h, and
 *   percpu::shard_guard     holding one of its shards for a scope
 *   percpu::registry        a metrics registry (percpu/stats.h), whose
 *                           counter(), gauge(), updown() and histogram()
 *                           give *_ref views of metrics it owns
 *   percpu::counter,        metrics of one's own (no registry), each the
 *   updown, histogram       _ref view plus ownership
 *   percpu::snapshot        a histogram's snapshot
 *
 * Every call is the C call of the same name inlined, with the same
 * contract, thread and signal safety (see the C headers): no virtual call,
 * no lock, no allocation on a hot path (var<T>::add is percpu_add(), to
 * the instruction: tests/cxx_wrapper.t compares the code). The hot calls
 * (the word operations, lock, unlock, the metrics' add and record) are
 * not declared noexcept although they throw nothing: a noexcept caller of
 * the library's slow path, which C++ cannot know does not throw, would
 * have to call it instead of jumping to it. Owning types (var, sharded_lock, shard_guard,
 * registry, counter, updown, histogram, snapshot) are move-only: a moved-
 * from object owns nothing and may only be destroyed or assigned. The
 * _ref views own nothing and copy freely; a view lives as long as what it
 * refers to (a registry's metrics until the registry is destroyed).
 *
 * Errors: nothing here throws but registry::format(), through std::string
 * (std::bad_alloc). A constructor that fails (ENOMEM) leaves an empty
 * object, false in a boolean context, with errno set; calls on an empty
 * object are undefined, as the C calls on NULL are. Other calls return
 * what the C call returns, errno included.
 */
#ifndef PERCPU_PERCPU_HPP
#define PERCPU_PERCPU_HPP

#ifndef __cplusplus
#error "percpu/percpu.hpp is C++: from C, include percpu.h"
#endif

#include <cerrno>
#include <cstdio>
#include <new>
#include <string>
#include <type_traits>
#include "../percpu.h"

namespace percpu {

/* The number of shards: percpu_nr_shards(). */
inline int shards() noexcept
{
	return percpu_nr_shards();
}

namespace detail {
/* Whether T is intptr_t or uintptr_t (under whatever name: int64_t and
 * uint64_t on the 64-bit Linux ABIs), the types a word may be read as:
 * the library's operations read it through an intptr_t *, which C and C++
 * allow for the type and its unsigned counterpart only. make_signed is
 * only asked of integers, which it is defined for. */
template <typename T, bool = std::is_integral<T>::value &&
			     !std::is_same<T, bool>::value>
struct is_word : std::false_type {};
template <typename T>
struct is_word<T, true>
	: std::is_same<typename std::make_signed<T>::type, intptr_t> {};
} // namespace detail

/*
 * var<T>: one T per shard, zeroed (or copied from `init`), freed with the
 * object. T must be trivially copyable (the copies are raw memory) and at
 * most PERCPU_ALLOC_MAX bytes.
 *
 * at(shard): that shard's copy, or nullptr with errno EINVAL for a shard
 * not in [0, shards()). For integers, sum() adds every shard's copy, each
 * read atomically (exact when no update runs, as percpu_sum()); for T
 * intptr_t or uintptr_t (so int64_t and uint64_t on 64-bit ABIs), the
 * single-word operations of percpu/ops.h on this shard's copy: add,
 * fetch_add, xchg, load, store, cas, with T's values (unsigned ones wrap
 * modulo 2^N as in C).
 */
template <typename T>
class var {
	static_assert(std::is_trivially_copyable<T>::value,
		      "percpu::var<T>: T must be trivially copyable");

public:
	var() noexcept : p_(static_cast<T *>(percpu_alloc(sizeof(T)))) {}
	explicit var(const T &init) noexcept
		: p_(static_cast<T *>(percpu_alloc_init(sizeof(T), &init)))
	{
	}
	~var() { percpu_free(p_); }
	var(var &&o) noexcept : p_(o.p_) { o.p_ = nullptr; }
	var &operator=(var &&o) noexcept
	{
		if (this != &o) {
			percpu_free(p_);
			p_ = o.p_;
			o.p_ = nullptr;
		}
		return *this;
	}
	var(const var &) = delete;
	var &operator=(const var &) = delete;

	explicit operator bool() const noexcept { return p_ != nullptr; }
	/* Shard 0's address: what the C API takes. */
	T *get() const noexcept { return p_; }
	T *at(int shard) const noexcept { return percpu_ptr(p_, shard); }

	T sum() const noexcept
	{
		static_assert(std::is_integral<T>::value &&
				      !std::is_same<T, bool>::value,
			      "percpu::var<T>::sum: T must be an integer");
		typename std::make_unsigned<T>::type total = 0;

		PERCPU_FOR_EACH_SHARD(s)
			total += __atomic_load_n(at(s), __ATOMIC_RELAXED);
		return static_cast<T>(total);
	}

	/* percpu_add: returns the shard. */
	int add(T v) const
	{
		return percpu_add(word(), static_cast<intptr_t>(v));
	}
	T fetch_add(T v, int *shard = nullptr) const
	{
		return static_cast<T>(
			percpu_fetch_add(word(), static_cast<intptr_t>(v), shard));
	}
	T xchg(T v, int *shard = nullptr) const
	{
		return static_cast<T>(
			percpu_xchg(word(), static_cast<intptr_t>(v), shard));
	}
	T load(int *shard = nullptr) const
	{
		return static_cast<T>(percpu_load(word(), shard));
	}
	int store(T v) const
	{
		return percpu_store(word(), static_cast<intptr_t>(v));
	}
	/* percpu_cas: PERCPU_OK, PERCPU_CHANGED, PERCPU_MOVED, or -1. */
	int cas(int shard, T expect, T v) const
	{
		return percpu_cas(word(), shard, static_cast<intptr_t>(expect),
				  static_cast<intptr_t>(v));
	}

private:
	intptr_t *word() const noexcept
	{
		static_assert(detail::is_word<T>::value,
			      "percpu::var<T>: word operations need T intptr_t "
			      "or uintptr_t");
		return reinterpret_cast<intptr_t *>(p_);
	}

	T *p_;
};

/*
 * sharded_lock: the lock words of percpu/lock.h, one per shard, all free.
 * lock() takes one shard's lock and returns which; unlock(shard) releases
 * it (0, or -1 with errno EINVAL if that shard's lock is not held). Prefer
 * shard_guard.
 */
class sharded_lock {
public:
	sharded_lock() noexcept = default;
	explicit operator bool() const noexcept { return bool(words_); }
	intptr_t *get() const noexcept { return words_.get(); }
	int lock() const { return percpu_lock(words_.get()); }
	int unlock(int shard) const
	{
		return percpu_unlock(words_.get(), shard);
	}

private:
	var<intptr_t> words_;
};

/*
 * shard_guard: takes one shard's lock for its lifetime (percpu_lock() on
 * construction, percpu_unlock() on destruction); shard() says which, to
 * index the data it protects: `v.at(g.shard())`. Takes a sharded_lock, or
 * the shard-0 address of lock words from percpu_alloc().
 */
class shard_guard {
public:
	explicit shard_guard(intptr_t *lock) noexcept
		: lock_(lock), shard_(percpu_lock(lock))
	{
	}
	explicit shard_guard(const sharded_lock &l) noexcept
		: shard_guard(l.get())
	{
	}
	~shard_guard()
	{
		if (lock_)
			percpu_unlock(lock_, shard_);
	}
	shard_guard(shard_guard &&o) noexcept : lock_(o.lock_), shard_(o.shard_)
	{
		o.lock_ = nullptr;
	}
	shard_guard(const shard_guard &) = delete;
	shard_guard &operator=(const shard_guard &) = delete;
	shard_guard &operator=(shard_guard &&) = delete;

	int shard() const noexcept { return shard_; }

private:
	intptr_t *lock_;
	int shard_;
};

/* ---- metrics (percpu/stats.h) ---- */

/* A view of a counter: add (v >= 0), sum, the cached read, reset. */
class counter_ref {
public:
	explicit counter_ref(percpu_counter *c = nullptr) noexcept : c_(c) {}
	explicit operator bool() const noexcept { return c_ != nullptr; }
	percpu_counter *get() const noexcept { return c_; }
	int add(intptr_t v) const { return percpu_counter_add(c_, v); }
	intptr_t sum() const noexcept { return percpu_counter_sum(c_); }
	intptr_t read(uint64_t max_age_ns) const noexcept
	{
		return percpu_counter_read(c_, max_age_ns);
	}
	int reset(intptr_t *taken) const noexcept
	{
		return percpu_counter_reset(c_, taken);
	}

protected:
	percpu_counter *c_;
};

/* A view of an atomic gauge: set, add, read. */
class gauge_ref {
public:
	explicit gauge_ref(percpu_gauge *g = nullptr) noexcept : g_(g) {}
	explicit operator bool() const noexcept { return g_ != nullptr; }
	percpu_gauge *get() const noexcept { return g_; }
	void set(int64_t v) const noexcept { percpu_gauge_set(g_, v); }
	void add(int64_t v) const noexcept { percpu_gauge_add(g_, v); }
	int64_t read() const noexcept { return percpu_gauge_read(g_); }

private:
	percpu_gauge *g_;
};

/* A view of a per-CPU up-down gauge: add, sum. */
class updown_ref {
public:
	explicit updown_ref(percpu_updown *u = nullptr) noexcept : u_(u) {}
	explicit operator bool() const noexcept { return u_ != nullptr; }
	percpu_updown *get() const noexcept { return u_; }
	void add(intptr_t v) const { percpu_updown_add(u_, v); }
	intptr_t sum() const noexcept { return percpu_updown_sum(u_); }

protected:
	percpu_updown *u_;
};

/*
 * snapshot: a histogram's values, read by histogram_ref::take() (or
 * merged into one from init()), its buckets freed with it. The fields are
 * get()'s, as in C.
 */
class snapshot {
public:
	snapshot() noexcept : s_(), owns_(false) {}
	~snapshot() { clear(); }
	snapshot(snapshot &&o) noexcept : s_(o.s_), owns_(o.owns_)
	{
		o.owns_ = false;
	}
	snapshot &operator=(snapshot &&o) noexcept
	{
		if (this != &o) {
			clear();
			s_ = o.s_;
			owns_ = o.owns_;
			o.owns_ = false;
		}
		return *this;
	}
	snapshot(const snapshot &) = delete;
	snapshot &operator=(const snapshot &) = delete;

	/* An empty snapshot of the range for `highest`: 0, or -1 (ENOMEM). */
	int init(uint64_t highest) noexcept
	{
		clear();
		owns_ = percpu_histogram_snapshot_init(&s_, highest) == 0;
		return owns_ ? 0 : -1;
	}
	explicit operator bool() const noexcept { return owns_; }
	const percpu_histogram_snapshot &get() const noexcept { return s_; }
	uint64_t count() const noexcept { return s_.count; }
	uint64_t quantile(double q) const noexcept
	{
		return percpu_histogram_quantile(&s_, q);
	}
	double sum() const noexcept { return percpu_histogram_sum(&s_); }
	double mean() const noexcept { return percpu_histogram_mean(&s_); }
	void merge(const snapshot &src) noexcept
	{
		percpu_histogram_merge(&s_, &src.s_);
	}

private:
	friend class histogram_ref;
	void clear() noexcept
	{
		if (owns_)
			percpu_histogram_snapshot_destroy(&s_);
		owns_ = false;
	}

	percpu_histogram_snapshot s_;
	bool owns_;
};

/* A view of a histogram: record, and take() a snapshot. */
class histogram_ref {
public:
	explicit histogram_ref(percpu_histogram *h = nullptr) noexcept : h_(h) {}
	explicit operator bool() const noexcept { return h_ != nullptr; }
	percpu_histogram *get() const noexcept { return h_; }
	void record(uint64_t v) const { percpu_histogram_record(h_, v); }
	/* Every shard read into s (what it held is freed first): 0, or -1
	 * (ENOMEM, s then empty). */
	int take(snapshot &s) const noexcept
	{
		s.clear();
		s.owns_ = percpu_histogram_snapshot_take(h_, &s.s_) == 0;
		return s.owns_ ? 0 : -1;
	}

protected:
	percpu_histogram *h_;
};

/* A counter of one's own, zero; empty (false, errno ENOMEM) on failure. */
class counter : public counter_ref {
public:
	counter() noexcept : counter_ref(new (std::nothrow) percpu_counter)
	{
		if (c_ && percpu_counter_init(c_) != 0)
			release();
	}
	~counter() { destroy(); }
	counter(counter &&o) noexcept : counter_ref(o.c_) { o.c_ = nullptr; }
	counter &operator=(counter &&o) noexcept
	{
		if (this != &o) {
			destroy();
			c_ = o.c_;
			o.c_ = nullptr;
		}
		return *this;
	}
	counter(const counter &) = delete;
	counter &operator=(const counter &) = delete;

private:
	/* After a failed init: nothing to destroy, errno kept for the
	 * caller (operator delete does not set it). */
	void release() noexcept
	{
		delete c_;
		c_ = nullptr;
	}
	void destroy() noexcept
	{
		if (c_)
			percpu_counter_destroy(c_);
		release();
	}
};

/* An up-down gauge of one's own, zero; empty on failure (ENOMEM). */
class updown : public updown_ref {
public:
	updown() noexcept : updown_ref(new (std::nothrow) percpu_updown)
	{
		if (u_ && percpu_updown_init(u_) != 0)
			release();
	}
	~updown() { destroy(); }
	updown(updown &&o) noexcept : updown_ref(o.u_) { o.u_ = nullptr; }
	updown &operator=(updown &&o) noexcept
	{
		if (this != &o) {
			destroy();
			u_ = o.u_;
			o.u_ = nullptr;
		}
		return *this;
	}
	updown(const updown &) = delete;
	updown &operator=(const updown &) = delete;

private:
	void release() noexcept
	{
		delete u_;
		u_ = nullptr;
	}
	void destroy() noexcept
	{
		if (u_)
			percpu_updown_destroy(u_);
		release();
	}
};

/* A histogram of one's own tracking up to `highest` (percpu_histogram_init);
 * empty on failure (ENOMEM, ENOTSUP). */
class histogram : public histogram_ref {
public:
	explicit histogram(uint64_t highest) noexcept
		: histogram_ref(new (std::nothrow) percpu_histogram)
	{
		if (h_ && percpu_histogram_init(h_, highest) != 0)
			release();
	}
	~histogram() { destroy(); }
	histogram(histogram &&o) noexcept : histogram_ref(o.h_)
	{
		o.h_ = nullptr;
	}
	histogram &operator=(histogram &&o) noexcept
	{
		if (this != &o) {
			destroy();
			h_ = o.h_;
			o.h_ = nullptr;
		}
		return *this;
	}
	histogram(const histogram &) = delete;
	histogram &operator=(const histogram &) = delete;

private:
	void release() noexcept
	{
		delete h_;
		h_ = nullptr;
	}
	void destroy() noexcept
	{
		if (h_)
			percpu_histogram_destroy(h_);
		release();
	}
};

/*
 * registry: percpu_registry_new() to percpu_registry_free(). counter(),
 * gauge(), updown() and histogram() find or create a series (the C calls'
 * names, help, labels and errors) and return a view of it, empty on an
 * error with errno set; the views live until the registry is destroyed.
 * write() is percpu_registry_write(); format() the exposition as a string.
 */
class registry {
public:
	registry() noexcept : r_(percpu_registry_new()) {}
	~registry() { percpu_registry_free(r_); }
	registry(registry &&o) noexcept : r_(o.r_) { o.r_ = nullptr; }
	registry &operator=(registry &&o) noexcept
	{
		if (this != &o) {
			percpu_registry_free(r_);
			r_ = o.r_;
			o.r_ = nullptr;
		}
		return *this;
	}
	registry(const registry &) = delete;
	registry &operator=(const registry &) = delete;

	explicit operator bool() const noexcept { return r_ != nullptr; }
	percpu_registry *get() const noexcept { return r_; }

	counter_ref counter(const char *name, const char *help,
			    const char *labels = nullptr) noexcept
	{
		return counter_ref(
			percpu_registry_counter(r_, name, help, labels));
	}
	gauge_ref gauge(const char *name, const char *help,
			const char *labels = nullptr) noexcept
	{
		return gauge_ref(percpu_registry_gauge(r_, name, help, labels));
	}
	updown_ref updown(const char *name, const char *help,
			  const char *labels = nullptr) noexcept
	{
		return updown_ref(
			percpu_registry_updown(r_, name, help, labels));
	}
	histogram_ref histogram(const char *name, const char *help,
				const char *labels, uint64_t highest,
				double scale) noexcept
	{
		return histogram_ref(percpu_registry_histogram(
			r_, name, help, labels, highest, scale));
	}

	int write(std::FILE *f) const noexcept
	{
		return percpu_registry_write(r_, f);
	}

	/* The exposition into out (replaced): 0, or -1 with errno (out then
	 * empty). Throws std::bad_alloc if out cannot grow. */
	int format(std::string &out) const
	{
		size_t len = 0;

		/* The first call only measures (size 0: ERANGE); series
		 * registered meanwhile may make the text longer: again. */
		out.clear();
		while (percpu_registry_format(r_, out.empty() ? nullptr : &out[0],
					      out.size(), &len) != 0) {
			if (errno != ERANGE) {
				out.clear();
				return -1;
			}
			out.resize(len + 1);
		}
		out.resize(len);
		return 0;
	}

private:
	percpu_registry *r_;
};

} // namespace percpu

#endif
