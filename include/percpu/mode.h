/* SPDX-License-Identifier: MIT */
/*
 * percpu/mode.h: which path operations take, why, and the kill switch.
 *
 * rseq mode: operations run as restartable sequences on the thread's CPU.
 * lock mode: they hold a per-shard lock word; a thread keeps its CPU's
 * word as a lease and then works without atomic instructions until another
 * thread needs the shard (PERCPU_LEASE=0: single-word operations are one
 * atomic instruction instead). Both give the same results. The process is
 * in lock mode when PERCPU_DISABLE_RSEQ=1 was set at start (or
 * disable_rseq = 1 in the settings file, below), after
 * percpu_disable_rseq() or a percpu_reload_settings() that found
 * disable_rseq = 1, when the kernel refused rseq to the first thread
 * that asked, when nothing could fence a CPU at start (membarrier and
 * sched_setaffinity both refused), when no memory could be had for the
 * shard words, or on an architecture without critical sections; a single
 * thread is in lock mode when its own registration failed.
 *
 * Fences: a lock-path operation beside rseq threads, a remote operation and
 * the kill switch fence CPUs, by membarrier or, where it is refused, by
 * running once on the CPU. If a seccomp filter installed after start
 * refuses both, such an operation waits until one is allowed again rather
 * than go on unfenced; it holds no shard word meanwhile (unless, in a
 * signal handler, the operation it interrupted had taken one), so other
 * threads' operations on the shard go on. A lease can then only be given
 * back by its holder's next operation: an operation on the current shard
 * asks every leaseholder, and waits only while every shard is held, or
 * leased by a thread that runs no operation.
 *
 * Leaving an operation by siglongjmp from a signal handler that
 * interrupted it is allowed in rseq mode only: on the lock path it would
 * leave its shard held, and that shard's remote operations would wait for
 * ever.
 */
#ifndef PERCPU_MODE_H
#define PERCPU_MODE_H

#include "common.h"

PERCPU_EXTERN_C_BEGIN

enum percpu_mode {
	PERCPU_MODE_RSEQ = 1,
	PERCPU_MODE_LOCK = 2,
};

/*
 * percpu_mode_get: the calling thread's mode (registering it if it has not
 * run an operation yet). If `reason` is not NULL, a static string saying why is
 * stored there: "registered by libc", "registered by percpu",
 * "rseq: ENOSYS" (or another errno name), "disabled by PERCPU_DISABLE_RSEQ",
 * "disabled by disable_rseq in the settings file", "disabled at run time",
 * "disabled by percpu_reload_settings(): disable_rseq in the settings file", "no fence: membarrier and sched_setaffinity
 * refused", "no memory for the shard words", "no rseq critical sections
 * for this architecture".
 * Thread-safe; not async-signal-safe on a thread's first call.
 */
PERCPU_API enum percpu_mode percpu_mode_get(const char **reason);
/*
 * The 0.1.0 name, for C sources: a function-like macro, so that in C++ the
 * name still denotes the enum (a function would hide it). It also takes
 * "enum percpu_mode (" for a call: declare a function pointer through a
 * typedef.
 */
#define percpu_mode(reason) percpu_mode_get(reason)

/*
 * percpu_disable_rseq: put the whole process in lock mode, for good.
 * Safe at any moment, while other threads are inside operations: when it
 * returns, no rseq section can commit any more. Idempotent. Thread-safe; not
 * async-signal-safe (it may wait for a concurrent call). Returns 0.
 */
PERCPU_API int percpu_disable_rseq(void);

/*
 * Shards are indexed by CPU id (the default), or by concurrency id (mm_cid,
 * Linux 6.3+: dense ids below the number of threads that run at once, so
 * memory follows the threads, not the CPUs) with PERCPU_INDEX=cid in the
 * environment at start. Where mm_cid is not usable, CPU ids are used and
 * percpu_runtime_info_get() says why in index_note.
 */
enum percpu_index {
	PERCPU_INDEX_CPU = 1,
	PERCPU_INDEX_CID = 2,
};

/*
 * What percpu-info prints. Fields are only ever appended: the caller sets
 * `size` to sizeof(struct percpu_runtime_info) as its header has it, and
 * the library fills that much (sched_setattr()'s and perf_event_open()'s
 * pattern), so a program built against an older header stays correct.
 */
struct percpu_runtime_info {
	size_t size;			/* set by the caller; the library
					   stores how much it filled */
	enum percpu_mode mode;		/* the calling thread's */
	const char *reason;
	const char *registered_by;	/* "libc", "percpu" or "none" */
	const char *arch;
	unsigned int rseq_feature_size;	/* AT_RSEQ_FEATURE_SIZE, 0 if absent */
	unsigned int rseq_registered_size; /* registered area's length; 0 if
					      this thread is in lock mode */
	int node_id_usable;
	int mm_cid_usable;
	int membarrier_rseq;		/* per-CPU fence by membarrier */
	int nr_possible_cpus;
	int nr_shards;
	enum percpu_index index;
	const char *index_note;		/* why not as asked, or NULL */
	int numa_placement;		/* strides placed on their CPU's node */
	int lock_leases;		/* lock mode may lease shards to threads
					   (a barrier by membarrier or by
					   running on each CPU;
					   PERCPU_LEASE=0: off) */
};

/*
 * percpu_runtime_info_get: fill *info up to info->size bytes (fields past
 * the library's own struct are zeroed) and set info->size to the bytes
 * filled. Returns 0, or -1 with EINVAL if info is NULL or info->size does
 * not reach past lock_leases (the first version's fields). Thread-safe.
 */
PERCPU_API int percpu_runtime_info_get(struct percpu_runtime_info *info);

/*
 * percpu_runtime_info_fill: as percpu_runtime_info_get with info->size set
 * to `size` first. For the 0.1.0 spelling below, whose callers do not set
 * the size.
 */
PERCPU_API int percpu_runtime_info_fill(struct percpu_runtime_info *info,
					size_t size);
/* The 0.1.0 name, for C sources (a macro: see percpu_mode). */
#define percpu_runtime_info(info) \
	percpu_runtime_info_fill(info, sizeof(struct percpu_runtime_info))

/*
 * What the library itself did in this process since it started (a fork
 * child inherits its parent's counts), as malloc_stats_print(3) tells of
 * an allocator. Versioned like struct percpu_runtime_info: the caller
 * sets `size`; fields are only ever appended.
 *
 * Counting costs nothing on the rseq path: an operation whose section
 * commits counts nowhere (rseq aborts are not counted). A lock-path
 * operation counts with a plain increment where it already writes: on the
 * line of the shard word it holds, or, under a lease, in its thread's
 * lease slot; with PERCPU_LEASE=0, a single-word operation in lock mode
 * holds no word and counts in a slot of its thread's. Remote operations,
 * fences and barriers count by an atomic add beside a system call.
 * The sums are read at the call: exact once no thread runs an operation
 * (the counts of exited threads included), and otherwise a moment's view
 * that may miss operations under way.
 */
struct percpu_runtime_stats {
	size_t size;			/* set by the caller; the library
					   stores how much it filled */
	uint64_t lock_path_ops;		/* operations that ran on the lock
					   path (lock mode, a thread without
					   rseq, or after 32 aborts in a
					   row) */
	uint64_t lease_grants;		/* shard leases granted (lock mode) */
	uint64_t lease_revocations;	/* leases asked back and taken */
	uint64_t remote_ops;		/* percpu_remote() and the drains
					   and exchanges built on it */
	uint64_t fences;		/* CPU fences: of one CPU, for a
					   lock-path operation beside rseq
					   threads or a remote operation, or
					   of all, for the kill switch */
	uint64_t thread_barriers;	/* barriers in every thread, for
					   lease revocations */
	uint64_t fences_by_affinity;	/* of fences and thread_barriers,
					   those made by running on each CPU
					   (membarrier refused) */
};

/*
 * percpu_runtime_stats_get: fill *stats up to stats->size bytes (fields
 * past the library's own struct are zeroed) and set stats->size to the
 * bytes filled. Returns 0, or -1 with EINVAL if stats is NULL or
 * stats->size does not reach past fences_by_affinity (the first version's
 * fields). Thread-safe and async-signal-safe; allocates nothing.
 */
PERCPU_API int percpu_runtime_stats_get(struct percpu_runtime_stats *stats);

/*
 * percpu_runtime_stats_print: write the counts to file descriptor fd, one
 * `name: value` line each (names as the fields above), by write(2), with
 * no memory allocated (so from inside a malloc too). Returns 0, or -1 with
 * errno from write(2). Thread-safe; async-signal-safe.
 */
PERCPU_API int percpu_runtime_stats_print(int fd);

/*
 * Settings. Each is read once, at start: from its environment variable
 * (secure_getenv(3): not in a set-user-ID program), else from the
 * host-wide settings file, else its default. The file is /etc/percpu.conf
 * (SYSCONFDIR at build time), or the path in PERCPU_CONF; lines
 * `key = value`, `#` comments:
 *
 *	disable_rseq = 0 | 1	PERCPU_DISABLE_RSEQ	default 0
 *	index = cpu | cid	PERCPU_INDEX		default cpu
 *	leases = 0 | 1		PERCPU_LEASE		default 1
 *	numa = 0 | 1		PERCPU_NUMA		default auto
 *
 * The file is ignored if it is not a regular file, if it is writable by
 * group or others, or if it is not root's (a PERCPU_CONF file may also be
 * the process's own user's); a line is ignored if it does not parse. Each
 * ignored part leaves a note; the library starts whatever the file holds.
 */
struct percpu_setting {
	const char *name;	/* the file's key: "disable_rseq", ... */
	const char *env;	/* its environment variable */
	const char *value;	/* in effect, spelt as given */
	const char *source;	/* "default", "file" or "environment" */
};

/*
 * percpu_setting_get: fill *s with setting i (0 to 3, in the order
 * above). Returns 0, or -1 with ENOENT past the last, EINVAL if s is
 * NULL. Thread-safe.
 */
PERCPU_API int percpu_setting_get(unsigned int i, struct percpu_setting *s);

/*
 * percpu_settings_file: the settings file's path; if state is not NULL,
 * it gets "read", "absent" or "ignored", as of the last reading.
 * percpu_settings_note: the i-th note of the last reading (why the file
 * or a line was ignored: "line 3: index: not cpu or cid: line ignored"),
 * NULL past the last. The strings are static; a concurrent
 * percpu_reload_settings() may rewrite a note being read.
 */
PERCPU_API const char *percpu_settings_file(const char **state);
PERCPU_API const char *percpu_settings_note(unsigned int i);

/*
 * percpu_reload_settings: read the settings file again and, if it now
 * says disable_rseq = 1 and PERCPU_DISABLE_RSEQ did not set it, put the
 * process in lock mode as percpu_disable_rseq() does, with the reason
 * "disabled by percpu_reload_settings(): disable_rseq in the settings
 * file". The other settings keep the values they had at start.
 *
 * It never turns rseq back on: in lock mode an operation need not hold
 * the shard word that excludes rseq sections (with a lease, a thread
 * works on its shard without any atomic instruction), so rseq could come
 * back only after every operation begun in lock mode had ended, which
 * nothing tracks without a cost on every operation; and the shard words
 * keep, for good, the disabled bit every section checks. A restart is
 * how a process returns to rseq.
 *
 * Call it where the program can afford the switch (a fence on every CPU):
 * from an admin request, or from the thread that handles SIGHUP by
 * sigwait(2), not from the signal handler itself. Returns 0. Thread-safe;
 * not async-signal-safe.
 */
PERCPU_API int percpu_reload_settings(void);

/*
 * percpu_status_dir: the i-th directory in which each process using the
 * library keeps a status file, <dir>/<pid> (what percpu-info --pid
 * reads): $PERCPU_STATUS_DIR if set (not in a set-user-ID program), else
 * /run/percpu (RUNSTATEDIR at build time), then /dev/shm/percpu where
 * /run/percpu cannot be written. NULL past the last. The file is written
 * at start and when the process changes mode, never by an operation;
 * mode 0600; removed at exit.
 */
PERCPU_API const char *percpu_status_dir(unsigned int i);

PERCPU_EXTERN_C_END

#endif
