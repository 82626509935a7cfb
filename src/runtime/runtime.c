// SPDX-License-Identifier: MIT
/*
 * src/runtime/runtime.c: detection, per-thread registration and the process mode.
 * Everything here runs off the fast path: once at start, once per thread,
 * and when the mode changes.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "lockpath/lease.h"
#include "runtime/settings.h"

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27
#endif
/* The signature before every abort handler: the architecture's own. */
#ifdef PERCPU_RSEQ_SIG
#undef RSEQ_SIG
#define RSEQ_SIG PERCPU_RSEQ_SIG
#elif !defined(RSEQ_SIG)
#define RSEQ_SIG 0x53053053
#endif
#define RSEQ_UNREGISTER 1

/*
 * glibc 2.35+ exports these when it registered rseq for every thread. Weak,
 * so the library also links and runs with an older glibc or musl, and in a
 * static binary, where dlsym() would not find them.
 */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

PERCPU_API struct percpu_rt percpu_rt;

/*
 * The runtime state under the name that programs built against the 0.1
 * headers read, percpu_rt@PERCPU_0.1 (percpu_rt itself is
 * percpu_rt_v2@PERCPU_0.2, common.h says why). Their fast paths read the
 * fields before shard_gates, and check the shard words, whose protocol is
 * unchanged. Every write goes to both objects, each through its exported
 * symbol: a program that holds a copy of one (a copy relocation) reads
 * its copy, and the writes reach it.
 */
PERCPU_API struct percpu_rt percpu_rt_v1 __asm__("percpu_rt");

/* Both objects, as the dynamic linker resolved them. */
#define EACH_RT(r)							\
	for (struct percpu_rt *const *r = (struct percpu_rt *const[]){	\
		     &percpu_rt, &percpu_rt_v1, NULL }; *r; r++)

/*
 * The own area's shard-id fields must read as out of range until the
 * kernel fills them: cpu_id starts at -1 like the kernel's, but the kernel
 * leaves mm_cid at 0, a valid concurrency id, so it starts at ~0 here.
 */
static __thread struct percpu_thread self
	__attribute__((tls_model("initial-exec"))) = {
		.area = { .cpu_id = (uint32_t)-1, .mm_cid = (uint32_t)-1 },
	};

static struct {
	pthread_once_t once;
	pthread_mutex_t disable_lock;
	pthread_key_t exit_key;
	int exit_key_ok;	/* setting it allocates nothing */
	int rseq_ever;		/* some thread may have run a section */
	const char *lock_reason;
	int libc_registered;
	long area_offset;	/* thread pointer to the rseq area in use */
	unsigned int registered_size;
	unsigned int feature_size;
	int index_cid;		/* shards are concurrency ids (mm_cid) */
	int numa_placed;
	const char *index_note;
	int membarrier_rseq;
	int leases;
	int possible_cpus;
} rt = {
	.once = PTHREAD_ONCE_INIT,
	.disable_lock = PTHREAD_MUTEX_INITIALIZER,
};

static long thread_pointer(void)
{
#if defined(__x86_64__)
	long tp;

	__asm__("movq %%fs:0, %0" : "=r"(tp));
	return tp;
#else
	return (long)__builtin_thread_pointer();
#endif
}

static const char *errno_reason(int err)
{
	switch (err) {
	case ENOSYS: return "rseq: ENOSYS";
	case EPERM: return "rseq: EPERM";
	case EINVAL: return "rseq: EINVAL";
	case EBUSY: return "rseq: EBUSY (registered by another party)";
	case EFAULT: return "rseq: EFAULT";
	case EACCES: return "rseq: EACCES";
	case ENOMEM: return "rseq: ENOMEM";
	default: return "rseq: refused";
	}
}

/* A reported 20 or 32 means glibc's 32-byte area (see RESEARCH.md). */
static void detect_libc(void)
{
	const struct rseq_area *area;

	if (!&__rseq_size || !&__rseq_offset || __rseq_size == 0)
		return;
	area = (const struct rseq_area *)(thread_pointer() + __rseq_offset);
	if ((int32_t)__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED) < 0)
		return;
	rt.libc_registered = 1;
	rt.registered_size = (__rseq_size == 20 || __rseq_size == 32) ?
				     RSEQ_AREA_LEN : __rseq_size;
}

/*
 * Unregistering resets mm_cid to 0, a valid concurrency id: until it reads
 * out of range again, a signal handler's operation would enter a section
 * the kernel no longer restarts. So signals wait for both steps.
 */
static void unregister_own(struct percpu_thread *t)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (t->state == THREAD_OWN &&
	    syscall(SYS_rseq, &t->area, RSEQ_AREA_LEN, RSEQ_UNREGISTER,
		    RSEQ_SIG) == 0) {
		percpu_inject_unregistered();
		t->area.mm_cid = (uint32_t)-1;
	}
	t->state = THREAD_EXITED;
	t->reason = "thread exiting";
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static __thread int exit_armed __attribute__((tls_model("initial-exec")));

/* What a thread leaves behind is cleared by the thread itself. */
static void thread_exit(void *arg)
{
	(void)arg;
	exit_armed = 0;
	percpu_shard_thread_exit();
	percpu_lease_thread_exit();
	percpu_tally_thread_exit();
	if (self.state == THREAD_OWN)
		unregister_own(&self);
}

/*
 * One key for all of it, made first at initialization. glibc keeps the
 * values of keys 0-31 in the thread descriptor but callocs a block per
 * thread for a later key, which the library, underneath malloc, may not
 * do. Without a cheap key nothing is cleared at exit: a thread's own rseq
 * area stays registered until the kernel lets it go (glibc reuses a stack
 * only after that), a lease slot is reclaimed from a dead thread when the
 * slots run out, and its lease is revoked by the next thread that needs
 * the shard.
 */
static void exit_key_init(void)
{
	int made = pthread_key_create(&rt.exit_key, thread_exit) == 0;

#ifdef __GLIBC__
	rt.exit_key_ok = made && rt.exit_key < 32;
#else
	rt.exit_key_ok = made;
#endif
}

/*
 * Have thread_exit run for this thread. The key is set before the flag:
 * a handler may leave by siglongjmp in between, and a flag set with no
 * key behind it would keep the thread from arming again, so what
 * siglongjmp left held would outlive the thread.
 */
void percpu_exit_arm(void)
{
	if (exit_armed || !rt.exit_key_ok)
		return;
	pthread_setspecific(rt.exit_key, &self);
	percpu_inject_arming();
	exit_armed = 1;
}

static void set_disabled_bits(unsigned int nr_shards)
{
	for (unsigned int s = 0; s < nr_shards; s++)
		__atomic_fetch_or(percpu_shard_word(s), SHARD_DISABLED,
				  __ATOMIC_SEQ_CST);
	percpu_gates_off(nr_shards);
}

/* The process mode, for its status file (percpu-info --pid). */
static void publish(int at_start)
{
	if (rt.lock_reason)
		percpu_publish("lock", rt.lock_reason, at_start);
	else
		percpu_publish("rseq", rt.libc_registered ?
			       "registered by libc" : "registered by percpu",
			       at_start);
}

/*
 * A child of fork() has only the forking thread: a lock or a shard word
 * another thread held at the fork would stay held for ever. So every
 * library lock is taken before the fork, in the order the library nests
 * them (a registration allocates from the pool; a counter reset or a
 * reload of the settings may pull the kill switch), and released after
 * it in the reverse order; in the child, shard words are freed (keeping
 * the disabled bit).
 */
static void fork_prepare(void)
{
	percpu_stats_registry_fork_prepare();
	percpu_stats_counter_fork_prepare();
	percpu_pool_fork_prepare();
	percpu_settings_fork_prepare();
	pthread_mutex_lock(&rt.disable_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&rt.disable_lock);
	percpu_settings_fork_parent();
	percpu_pool_fork_parent();
	percpu_stats_counter_fork_parent();
	percpu_stats_registry_fork_parent();
}

static void fork_child(void)
{
	pthread_mutex_init(&rt.disable_lock, NULL);
	percpu_settings_fork_child();
	percpu_pool_fork_child();
	percpu_stats_counter_fork_child();
	percpu_stats_registry_fork_child();
	for (unsigned int s = 0; s < percpu_rt.nr_shards; s++)
		__atomic_fetch_and(percpu_shard_word(s), SHARD_DISABLED,
				   __ATOMIC_RELAXED);
	percpu_gates_reopen(percpu_rt.nr_shards);
	percpu_lease_after_fork();
	percpu_tally_after_fork();
	/* A fork while another thread initializes leaves that to the child. */
	if (percpu_rt_shards())
		publish(0);
}

/* Why the settings put the process in lock mode at start, or NULL. */
static const char *settings_disable(void)
{
	if (!percpu_setting_disables(percpu_setting_value(SETTING_DISABLE_RSEQ)))
		return NULL;
	return percpu_setting_from_file(SETTING_DISABLE_RSEQ) ?
		"disabled by disable_rseq in the settings file" :
		"disabled by PERCPU_DISABLE_RSEQ";
}

/* A field is usable if the registration and the kernel both cover it. */
static unsigned int usable_size(void)
{
	return rt.registered_size < rt.feature_size ? rt.registered_size :
						      rt.feature_size;
}

/* index = cid: concurrency ids, where the kernel provides them. */
static void choose_index(void)
{
	const char *v = percpu_setting_value(SETTING_INDEX);

	if (v && !strcmp(v, "cid")) {
		if (usable_size() >= 28)
			rt.index_cid = 1;
		else
			rt.index_note = "PERCPU_INDEX=cid, but mm_cid is not usable";
	} else if (v && *v && strcmp(v, "cpu")) {
		rt.index_note = "PERCPU_INDEX not understood";
	}
	EACH_RT(r)
		(*r)->id_offset = rt.area_offset + (rt.index_cid ? 24 : 4);
}

int percpu_index_is_cid(void)
{
	return rt.index_cid;
}

/*
 * The fast path's constants, set once, before the first object exists
 * (struct percpu_rt says why they may not change after). A process that
 * starts in lock mode points its sections at a dead area: this thread's
 * own, which no thread registers in lock mode, so its cpu_id reads -1 and
 * every section diverts at shard -1's word; where no word could be placed
 * at the stride, that word is a static one that reads as disabled.
 */
static void set_section_constants(int words_strided)
{
	static const uintptr_t disabled_word = SHARD_DISABLED;
	static const uint32_t off_gates[2] = { GATE_OFF, GATE_OFF };
	long dead = (long)((char *)&self.area - (char *)thread_pointer());

	EACH_RT(r) {
		if (!rt.lock_reason) {
			(*r)->rseq_offset = rt.area_offset;
			(*r)->shard_offset = (*r)->id_offset;
			(*r)->shard_words = percpu_words.base;
			(*r)->shard_gates = (uintptr_t)percpu_gates;
			continue;
		}
		(*r)->rseq_offset = dead;
		(*r)->shard_offset = dead + 4;
		(*r)->shard_words = words_strided ? percpu_words.base :
				    (uintptr_t)&disabled_word + PERCPU_STRIDE;
		(*r)->shard_gates = words_strided ? (uintptr_t)percpu_gates :
				    (uintptr_t)&off_gates[2];
	}
}

/*
 * Decide the process mode. Never fails: without per-CPU memory for the
 * shard words the process runs in lock mode, on words kept elsewhere.
 */
static void init_once(void)
{
	int possible = percpu_possible_cpus();
	unsigned int n = possible > 0 ? (unsigned int)possible : 1;
	int words_strided;

	exit_key_init();
	percpu_settings_load();
	rt.possible_cpus = (int)n;
	rt.feature_size = (unsigned int)getauxval(AT_RSEQ_FEATURE_SIZE);
	if (PERCPU_ARCH_RSEQ)
		detect_libc();
	rt.area_offset = rt.libc_registered ?
		(long)__rseq_offset :
		(long)((char *)&self.area - (char *)thread_pointer());
	rt.rseq_ever = rt.libc_registered;
	if (!rt.libc_registered)
		rt.registered_size = RSEQ_AREA_LEN;
	choose_index();
	rt.numa_placed = percpu_numa_init(n, rt.index_cid);
	percpu_pool_init(n);
	words_strided = percpu_shard_words_init(n);
	rt.membarrier_rseq = percpu_fence_init(n);
	rt.leases = percpu_lease_init();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	if (!PERCPU_ARCH_RSEQ)
		rt.lock_reason = "no rseq critical sections for this architecture";
	else if (possible < 0)
		rt.lock_reason = "no bound on CPU ids: /sys and sched_getaffinity refused";
	else if (!words_strided)
		rt.lock_reason = "no memory for the shard words";
	else if (settings_disable())
		rt.lock_reason = settings_disable();
	else if (!percpu_fence_possible())
		rt.lock_reason = "no fence: membarrier and sched_setaffinity refused";
	if (rt.lock_reason)
		set_disabled_bits(n);
	set_section_constants(words_strided);
	EACH_RT(r) {
		__atomic_store_n(&(*r)->nr_shards, n, __ATOMIC_RELEASE);
		if (!rt.lock_reason)
			__atomic_store_n(&(*r)->rseq_shards, n, __ATOMIC_RELEASE);
	}
	publish(1);
}

__attribute__((constructor)) void percpu_init(void)
{
	if (!percpu_rt_shards())
		pthread_once(&rt.once, init_once);
}

int percpu_rseq_ever(void)
{
	return __atomic_load_n(&rt.rseq_ever, __ATOMIC_SEQ_CST);
}

/*
 * Set the disabled bit in every shard word, then fence every CPU: a section
 * that started before the bit was set is aborted, every later one sees it.
 * Only then is the process in lock mode (rseq_shards 0), where lock-path
 * operations need not hold the shard words.
 */
void percpu_process_disable(const char *why)
{
	pthread_mutex_lock(&rt.disable_lock);
	if (!percpu_lock_only()) {
		set_disabled_bits(percpu_rt.nr_shards);
		if (percpu_rseq_ever())
			percpu_fence_all();
		rt.lock_reason = why;
		EACH_RT(r)
			__atomic_store_n(&(*r)->rseq_shards, 0, __ATOMIC_RELEASE);
		publish(0);
	}
	pthread_mutex_unlock(&rt.disable_lock);
}

static void register_own(struct percpu_thread *t)
{
	long r = syscall(SYS_rseq, &t->area, RSEQ_AREA_LEN, 0, RSEQ_SIG);
	int err = r ? errno : 0;

	/* EBUSY with our area live: a signal handler registered it first. */
	if (err == EBUSY && (int32_t)t->area.cpu_id >= 0)
		err = 0;
	if (err) {
		t->state = THREAD_FAILED;
		t->reason = errno_reason(err);
		if (!percpu_rseq_ever())
			percpu_process_disable(t->reason);
		return;
	}
	__atomic_store_n(&rt.rseq_ever, 1, __ATOMIC_SEQ_CST);
	percpu_exit_arm();
	t->state = THREAD_OWN;
	t->reason = "registered by percpu";
}

static void thread_start(struct percpu_thread *t)
{
	if (percpu_lock_only()) {
		t->state = THREAD_LOCK_ONLY;
	} else if (rt.libc_registered) {
		t->state = THREAD_LIBC;
		t->reason = "registered by libc";
	} else {
		register_own(t);
	}
}

struct percpu_thread *percpu_self(void)
{
	percpu_init();
	if (self.state == THREAD_NEW)
		thread_start(&self);
	return &self;
}

int percpu_thread_uses_rseq(const struct percpu_thread *t)
{
#ifdef PERCPU_INJECT
	if (percpu_inject_thread_lock_path)
		return 0;
#endif
	return (t->state == THREAD_LIBC || t->state == THREAD_OWN) &&
	       !percpu_lock_only();
}

/* percpu_cpu_hint() when the rseq area does not know the CPU. */
unsigned int percpu_cpu_hint_slow(void)
{
	unsigned int n = percpu_rt.nr_shards;
	int c = sched_getcpu();

	if (c >= 0)
		return (unsigned int)c % n;
	return (unsigned int)(((uintptr_t)&self >> 5) % n);
}

/* Why the process is in lock mode, or NULL. */
const char *percpu_lock_reason(void)
{
	return rt.lock_reason;
}

/* What percpu_runtime_info_get reports, in the current layout. */
void percpu_info_fill(struct percpu_runtime_info *info)
{
	unsigned int usable;

	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->mode = percpu_mode_get(&info->reason);
	info->registered_by = rt.libc_registered ? "libc" :
			      self.state == THREAD_OWN ? "percpu" : "none";
	info->arch = PERCPU_ARCH_NAME;
	info->rseq_feature_size = rt.feature_size;
	info->rseq_registered_size =
		info->mode == PERCPU_MODE_RSEQ ? rt.registered_size : 0;
	usable = info->mode == PERCPU_MODE_RSEQ ? usable_size() : 0;
	info->node_id_usable = usable >= 24;
	info->mm_cid_usable = usable >= 28;
	info->membarrier_rseq = rt.membarrier_rseq;
	info->nr_possible_cpus = rt.possible_cpus;
	info->nr_shards = (int)percpu_rt.nr_shards;
	info->index = rt.index_cid ? PERCPU_INDEX_CID : PERCPU_INDEX_CPU;
	info->index_note = rt.index_note;
	info->numa_placement = rt.numa_placed;
	info->lock_leases = rt.leases;
}

#ifdef PERCPU_INJECT
PERCPU_API struct percpu_inject percpu_inject;
PERCPU_API __thread int percpu_inject_thread_lock_path;
#endif
