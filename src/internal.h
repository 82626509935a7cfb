/* SPDX-License-Identifier: MIT */
/* src/internal.h: what the runtime's pieces share. Not installed. */
#ifndef PERCPU_INTERNAL_H
#define PERCPU_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "percpu.h"
#include "percpu/inject.h"

/* Shard word bits; the rest of a held word is the holder's owner tag. */
#define SHARD_LOCKED ((uintptr_t)1)
#define SHARD_DISABLED ((uintptr_t)2)

/* Consecutive aborts after which an operation takes the lock path. */
#define MAX_RSEQ_ABORTS 32

/* The kernel's struct rseq, with the fields of Linux 6.3 (node_id, mm_cid). */
struct rseq_area {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
	uint32_t pad;
} __attribute__((aligned(32)));

#define RSEQ_AREA_LEN 32

enum thread_state {
	THREAD_NEW = 0,		/* no operation yet */
	THREAD_LIBC,		/* libc registered this thread's area */
	THREAD_OWN,		/* percpu registered its own area */
	THREAD_FAILED,		/* registration refused: lock path */
	THREAD_LOCK_ONLY,	/* process in lock mode when it started */
	THREAD_EXITED,		/* unregistered during thread exit */
};

struct percpu_thread {
	struct rseq_area area;	/* first: the owner tag is its aligned address */
	enum thread_state state;
	const char *reason;
};

static inline void percpu_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * memcpy with a NULL pointer is undefined even for 0 bytes, and the API
 * takes NULL arrays with n = 0 (percpu_stack_drain, percpu_memcpy_store):
 * then neither pointer is touched, in every mode, as the sections do.
 */
static inline void percpu_copy_bytes(void *dst, const void *src, size_t len)
{
	if (len)
		memcpy(dst, src, len);
}

/* After initialization, no rseq section can commit any more. */
static inline int percpu_lock_only(void)
{
	return percpu_rt_shards() && !percpu_rt_rseq_shards();
}

/* runtime.c */
void percpu_init(void);
struct percpu_thread *percpu_self(void);
int percpu_thread_uses_rseq(const struct percpu_thread *t);
int percpu_rseq_ever(void);
unsigned int percpu_cpu_hint_slow(void);
void percpu_process_disable(const char *why);
int percpu_index_is_cid(void);
void percpu_exit_arm(void);
void percpu_info_fill(struct percpu_runtime_info *info);
/* info.c: versioned structs (their first field the size the caller set). */
int percpu_sized_check(const void *dst, size_t v0_end);
void percpu_sized_copy(void *dst, const void *all, size_t len);
const char *percpu_lock_reason(void);

/*
 * The shard a lock-path operation should try first: the CPU (or the
 * concurrency id), read from the rseq area where a registration (even one
 * rseq mode no longer uses) keeps it current, else the CPU from the kernel.
 */
static inline unsigned int percpu_cpu_hint(void)
{
	unsigned int id = percpu_arch_shard_id(percpu_rt.id_offset);

	return id < percpu_rt.nr_shards ? id : percpu_cpu_hint_slow();
}

/* publish.c: the status file, written at start and on mode changes. */
void percpu_publish(const char *mode, const char *reason, int at_start);

/* cpus.c */
int percpu_possible_cpus(void);

/* fence.c */
int percpu_fence_init(unsigned int nr_cpus);
int percpu_fence_possible(void);
int percpu_barrier_possible(void);
int percpu_fence_cpu_try(unsigned int cpu);
int percpu_fence_all_try(void);
void percpu_fence_all(void);
void percpu_backoff_sleep(unsigned int *tries);
int percpu_barrier_threads(void);
struct fence_counts {
	uint64_t fences, barriers, by_affinity;
};
void percpu_fence_counts(struct fence_counts *c);

/* shard.c */
enum { SHARD_TAKEN, SHARD_NESTED, SHARD_BUSY };
/* How long percpu_shard_take may wait: not at all; only to revoke a lease
 * (lease.c), whose holder may not be inside an operation; for any holder. */
enum { TAKE_NOWAIT, TAKE_REVOKE, TAKE_WAIT };
struct shard_hold {
	unsigned int shard;
	int prev_intent;
	int gate_closed;	/* a nested take closed the gate (shard.c) */
};
/*
 * Where the shard words are: at the stride, in a mapping of their own (the
 * rseq sections read them there), or, when that memory could not be had, in a
 * dense table that only lock mode uses; shards beyond a static table's
 * size share words, which only excludes more.
 */
struct shard_words {
	uintptr_t base;
	unsigned int shift;
	unsigned int mask;
};
extern struct shard_words percpu_words __attribute__((visibility("hidden")));

static inline intptr_t *percpu_shard_word(unsigned int shard)
{
	return (intptr_t *)(percpu_words.base +
			    ((uintptr_t)(shard & percpu_words.mask)
			     << percpu_words.shift));
}

/*
 * Gates (shard.c): the sections that run on the shard the thread reads
 * itself (percpu_fast_here) check the shard's gate, not its word: open,
 * it holds the shard's id, and one compare with the live id checks both
 * the CPU and the mode. It is closed (GATE_HELD) while a lock-path
 * operation holds the word in rseq mode, and for good (GATE_OFF) once
 * the process is in lock mode; no id, -1 and -2 included, reads as
 * either. NULL where the words are not at the stride (lock mode only).
 */
#define GATE_HELD ((uint32_t)0x80000000u)
#define GATE_OFF ((uint32_t)0x80000001u)
extern uint32_t *percpu_gates __attribute__((visibility("hidden")));
void percpu_gates_off(unsigned int nr_shards);
void percpu_gates_reopen(unsigned int nr_shards);

int percpu_shard_words_init(unsigned int nr_shards);
int percpu_shard_take(struct shard_hold *h, unsigned int shard, int wait);
void percpu_shard_release(const struct shard_hold *h);
void percpu_shard_unnest(const struct shard_hold *h);
int percpu_shard_lease(const struct shard_hold *h);
int percpu_shard_holding(void);
void percpu_shard_thread_exit(void);

/* stack.c: batches over PERCPU_STACK_SMALL, a compare and a block copy. */
size_t percpu_stack_push_block(struct percpu_stack *s, void *const *ptrs,
			       size_t n, int *shard);
size_t percpu_stack_pop_block(struct percpu_stack *s, void **out, size_t n,
			      int *shard);

/* lockpath/tally.c: the library's own statistics (percpu_runtime_stats). */
void percpu_tally_unlocked_op(void);
extern uint64_t percpu_tally_spilled __attribute__((visibility("hidden")));

/* Count a lock-path operation where a plain increment could be undone
 * (a signal handler inside its thread's counting): one atomic add. */
static inline void percpu_tally_spill(void)
{
	__atomic_fetch_add(&percpu_tally_spilled, 1, __ATOMIC_RELAXED);
}

void percpu_tally_remote(void);
void percpu_tally_thread_exit(void);
void percpu_tally_after_fork(void);

/* numa.c */
int percpu_numa_init(unsigned int nr_cpus, int cid_indexing);

/* A record of getdents64, as the kernel lays it out: directories are read
 * with the system call into stack buffers (opendir allocates). */
struct dir_record {
	uint64_t ino;
	int64_t off;
	unsigned short len;
	unsigned char type;
	char name[];
};
void percpu_numa_place(char *base);

/* pool.c */
int percpu_pool_init(unsigned int nr_shards);
void *percpu_pool_alloc(size_t size);
/* For the atfork handlers: take the pool lock before fork, release after. */
void percpu_pool_fork_prepare(void);
void percpu_pool_fork_parent(void);
void percpu_pool_fork_child(void);

/* The statistics' fork gates (stats/registry.c, stats/counter.c): rwlocks
 * that prefer writers, so that readers back to back cannot keep a fork
 * waiting. */
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
#define PERCPU_FORK_GATE_INITIALIZER \
	PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
#else
#define PERCPU_FORK_GATE_INITIALIZER PTHREAD_RWLOCK_INITIALIZER
#endif

/* stats/registry.c, stats/counter.c: their fork gates (same purpose). */
void percpu_stats_registry_fork_prepare(void);
void percpu_stats_registry_fork_parent(void);
void percpu_stats_registry_fork_child(void);
void percpu_stats_counter_fork_prepare(void);
void percpu_stats_counter_fork_parent(void);
void percpu_stats_counter_fork_child(void);

#endif
