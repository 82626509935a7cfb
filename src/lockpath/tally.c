// SPDX-License-Identifier: MIT
/*
 * src/lockpath/tally.c: the library's own statistics (percpu/mode.h,
 * percpu_runtime_stats_get), summed when read.
 *
 * A lock-path operation counts where it already writes, with a plain
 * increment: holding a shard word, on the word's line (struct shard_ban);
 * under a lease, in its thread's lease slot (lease.c). With PERCPU_LEASE=0
 * a single-word operation in lock mode holds nothing (one atomic
 * instruction): it counts in a slot of its thread's here, claimed at its
 * first such operation. A slot keeps its count when its thread exits and
 * the next owner adds to it, so nothing is moved. A signal handler whose
 * thread was counting (the holding it interrupted, or the slot's busy
 * flag) adds to percpu_tally_spilled instead, with an atomic
 * (percpu_tally_spill, internal.h), as does a thread that found no free
 * slot. Fences count in fence.c, beside their system call.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include "lockpath/lease.h"
#include "runtime/text.h"

#define TALLY_SLOTS 256

struct tally_slot {
	int claimed;
	int busy;		/* counting: a handler spills instead */
	uintptr_t ops;
} __attribute__((aligned(64)));

static struct tally_slot slots[TALLY_SLOTS];
/* Never claimed: a thread that found no free slot points here. */
static struct tally_slot no_slot = { 1, 1, 0 };
static __thread struct tally_slot *mine
	__attribute__((tls_model("initial-exec")));
uint64_t percpu_tally_spilled;
static uint64_t remote_ops;

static struct tally_slot *claim(void)
{
	unsigned int i = 0;

	for (int free = 0; i < TALLY_SLOTS; i++, free = 0)
		if (__atomic_compare_exchange_n(&slots[i].claimed, &free, 1, 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
	mine = i < TALLY_SLOTS ? &slots[i] : &no_slot;
	percpu_exit_arm();
	return mine;
}

void percpu_tally_remote(void)
{
	__atomic_fetch_add(&remote_ops, 1, __ATOMIC_RELAXED);
}

void percpu_tally_unlocked_op(void)
{
	struct tally_slot *sl = mine ? mine : claim();

	if (__atomic_load_n(&sl->busy, __ATOMIC_RELAXED)) {
		percpu_tally_spill();
		return;
	}
	__atomic_store_n(&sl->busy, 1, __ATOMIC_RELAXED);
	LEASE_COMPILER_BARRIER();
	percpu_tally_held(&sl->ops);
	LEASE_COMPILER_BARRIER();
	__atomic_store_n(&sl->busy, 0, __ATOMIC_RELAXED);
}

/* Free the slot; its count stays, for the next owner to add to. */
void percpu_tally_thread_exit(void)
{
	struct tally_slot *sl = mine;

	if (!sl || sl == &no_slot)
		return;
	mine = NULL;
	LEASE_COMPILER_BARRIER();
	__atomic_store_n(&sl->claimed, 0, __ATOMIC_RELEASE);
}

/* The child of fork() has only this thread: the others' slots are free. */
void percpu_tally_after_fork(void)
{
	for (unsigned int i = 0; i < TALLY_SLOTS; i++)
		if (&slots[i] != mine)
			slots[i].claimed = 0;
}

static uint64_t load(const uint64_t *n)
{
	return __atomic_load_n(n, __ATOMIC_RELAXED);
}

/* Shards beyond a static table of words share them: count each once. */
static unsigned int distinct_words(void)
{
	unsigned int n = __atomic_load_n(&percpu_rt.nr_shards,
					 __ATOMIC_ACQUIRE);

	return n && n - 1 > percpu_words.mask ? percpu_words.mask + 1 : n;
}

static void sum_shards(struct percpu_runtime_stats *st)
{
	for (unsigned int s = 0, n = distinct_words(); s < n; s++) {
		const struct shard_ban *b = percpu_shard_ban(s);

		st->lock_path_ops += load(&b->lock_ops);
		st->lease_grants += load(&b->grants);
		st->lease_revocations += load(&b->revocations);
	}
}

static void sum_all(struct percpu_runtime_stats *st)
{
	struct fence_counts f;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	sum_shards(st);
	for (unsigned int i = 0; i < TALLY_SLOTS; i++)
		st->lock_path_ops += load(&slots[i].ops);
	st->lock_path_ops += percpu_lease_ops() + load(&percpu_tally_spilled);
	st->remote_ops = load(&remote_ops);
	percpu_fence_counts(&f);
	st->fences = f.fences;
	st->thread_barriers = f.barriers;
	st->fences_by_affinity = f.by_affinity;
}

#define STATS_V0_END (offsetof(struct percpu_runtime_stats, \
			       fences_by_affinity) + sizeof(uint64_t))

int percpu_runtime_stats_get(struct percpu_runtime_stats *stats)
{
	struct percpu_runtime_stats all;

	if (percpu_sized_check(stats, STATS_V0_END))
		return -1;
	sum_all(&all);
	percpu_sized_copy(stats, &all, sizeof(all));
	return 0;
}

static void line(struct text *t, const char *name, uint64_t v)
{
	text_add(t, name);
	text_add(t, ": ");
	text_add_uint(t, (unsigned long)v);
	text_add(t, "\n");
}

int percpu_runtime_stats_print(int fd)
{
	struct percpu_runtime_stats st;
	char buf[512];
	struct text t = { buf, sizeof(buf), 0 };

	sum_all(&st);
	line(&t, "lock_path_ops", st.lock_path_ops);
	line(&t, "lease_grants", st.lease_grants);
	line(&t, "lease_revocations", st.lease_revocations);
	line(&t, "remote_ops", st.remote_ops);
	line(&t, "fences", st.fences);
	line(&t, "thread_barriers", st.thread_barriers);
	line(&t, "fences_by_affinity", st.fences_by_affinity);
	return text_write_all(fd, buf, t.len);
}
