/* SPDX-License-Identifier: MIT */
/*
 * percpu/remote.h: work on another shard's data, e.g. drain the cache of a
 * CPU gone idle, or read and reset a counter exactly.
 *
 * percpu_remote() holds the shard's shard word and fences: every rseq
 * section that could still commit on that shard is restarted (membarrier
 * on that CPU; on every CPU in concurrency-id indexing; where membarrier is
 * refused, by running once on the CPU), and every later one diverts to the
 * lock path, where an operation on the current shard goes to another shard
 * and one that names this shard waits for the word. No fence is needed in
 * lock mode.
 *
 * What `fn` is excluded from: on its shard, every operation of this
 * library, except, in lock mode with PERCPU_LEASE=0, the single-word
 * operations of percpu/ops.h and percpu_list_push, which are then single
 * atomic instructions that do not take the shard word: update words they
 * also update with atomic read-modify-write instructions (as the helpers
 * below do). With shard leases (lock mode's default) nothing else runs on
 * the shard, as in rseq mode.
 *
 * From fn, an operation on the current shard runs on another shard when
 * the current one is fn's. With one shard only (a machine with one
 * possible CPU), fn must not call the multi-word operations (percpu/
 * stack.h, percpu/multi.h, percpu_list_pop): they would wait for fn's
 * shard for ever. The single-word ones run beside fn.
 *
 * Signals: fn runs with the calling thread's signals blocked, except those
 * a fault raises (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), so a
 * signal handler's operations on this thread come after fn, never between
 * fn's read and its write. A handler of a fault in fn must not run
 * operations on fn's shard: they would work beside fn. Keep fn short:
 * signals wait for it.
 *
 * Cost: a system call (the fence) in rseq mode, and in lock mode when it
 * revokes a lease, plus two to block signals around fn; meant for
 * occasional work.
 * Thread safety: safe from any thread, in every mode. Signal safety: not
 * async-signal-safe. Memory ordering: fn sees every operation that
 * committed on the shard before the call, and its effects are seen by
 * every operation that commits after it returns.
 */
#ifndef PERCPU_REMOTE_H
#define PERCPU_REMOTE_H

#include "list.h"
#include "stack.h"

PERCPU_EXTERN_C_BEGIN

/*
 * percpu_remote: run fn(arg, shard) excluded from operations on `shard`.
 * Returns 0, or -1 with errno EINVAL (shard out of range, fn NULL) or
 * EDEADLK (called while this thread holds a shard word: from fn itself,
 * whatever the state of the other shard, or from a signal handler that
 * interrupted a lock-path operation).
 */
PERCPU_API int percpu_remote(int shard, void (*fn)(void *arg, int shard),
			     void *arg);

/*
 * percpu_remote_xchg: store v into shard `shard`'s word and return its old
 * value, exactly: no update of that shard is lost or counted twice. With
 * v = 0 this reads and resets a counter. Returns the old value; on an error
 * (as percpu_remote()) returns 0 with errno set, which a caller can only
 * tell from an old value of 0 by clearing errno before: prefer
 * percpu_remote_xchg2().
 */
PERCPU_API intptr_t percpu_remote_xchg(intptr_t *p, int shard, intptr_t v);

/*
 * percpu_remote_xchg2: as percpu_remote_xchg(), the error apart from the
 * value: stores the old value in *old and returns 0; or returns -1 with
 * errno as percpu_remote() (EINVAL also for old NULL), the word and *old
 * untouched.
 */
PERCPU_API int percpu_remote_xchg2(intptr_t *p, int shard, intptr_t v,
				   intptr_t *old);

/*
 * percpu_list_drain: take every node of shard `shard`'s list, leaving it
 * empty. Returns the first node (linked through next, NULL-terminated), or
 * NULL if it was empty or on an error (errno set, as percpu_remote()).
 */
PERCPU_API struct percpu_list_node *percpu_list_drain(struct percpu_list *list,
						      int shard);

/*
 * percpu_stack_drain: pop up to n pointers from shard `shard`'s stack into
 * `out` (in the order percpu_stack_pop() gives). Returns how many; 0 if it
 * was empty or on an error (errno set, as percpu_remote()). With n = 0,
 * out may be NULL: nothing is written.
 */
PERCPU_API size_t percpu_stack_drain(struct percpu_stack *s, int shard,
				     void **out, size_t n);

PERCPU_EXTERN_C_END

#endif
