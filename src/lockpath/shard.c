// SPDX-License-Identifier: MIT
/*
 * src/lockpath/shard.c: the shard words, as lock-path locks. A lock-path operation
 * that may race with rseq sections takes the shard's word, closes the
 * shard's gate, then fences that CPU: sections that saw the word free or
 * the gate open are restarted, later ones see them held and divert. The
 * holder then works with atomic instructions, and opens the gate again
 * before it releases the word.
 */
#include <sched.h>
#include <sys/mman.h>
#include "lockpath/lease.h"

/* Room for a shard word and what lease.c keeps beside it, on its own line. */
#define WORD_SHIFT 6
/*
 * At the stride, the words have a mapping of their own: one stride per
 * shard, and two more below shard 0's for shards -2 and -1, whose words
 * read as disabled for ever: a section indexed by the cpu_id (or mm_cid)
 * of an area the kernel does not serve (-1, or -2 after glibc's
 * registration failed) diverts there. Each word is on the last line of
 * its page: not at page offset 0, where every page-aligned object starts,
 * since a section's load of the word behind a store at the same page
 * offset waits (4 KiB aliasing, measured +8% on add).
 */
#define WORD_IN_PAGE (4096u - (1u << WORD_SHIFT))
/* The gates, 4 bytes each, from the second page of shard -2's stride;
 * shards -2 and -1 first. */
#define GATES_AT 4096u
#define GATES_ROOM ((PERCPU_STRIDE - GATES_AT) / 4 - 2)
#define STATIC_WORDS 1024

static __thread char owner_anchor __attribute__((tls_model("initial-exec"),
						 aligned(8)));

struct shard_words percpu_words;
uint32_t *percpu_gates;
static char static_words[STATIC_WORDS << WORD_SHIFT]
	__attribute__((aligned(64)));

/* The value this thread stores in a word it holds. */
static uintptr_t owner_tag(void)
{
	return (uintptr_t)&owner_anchor | SHARD_LOCKED;
}

/*
 * Returns 0, or -1 if the fence is refused now (a seccomp filter installed
 * after start refuses membarrier and sched_setaffinity). A concurrency id
 * may run on any CPU: fence them all.
 */
static int fence_shard(unsigned int shard)
{
	if (percpu_lock_only() || !percpu_rseq_ever())
		return 0;
	if (percpu_index_is_cid())
		return percpu_fence_all_try();
	return percpu_fence_cpu_try(shard);
}

/*
 * The shard word this thread holds or is taking, -1 if none. A thread that
 * holds one never waits for another (a signal handler could otherwise wait
 * for a word whose holder's handler waits for ours), so no wait cycle forms.
 */
static __thread int intent __attribute__((tls_model("initial-exec"))) = -1;

/*
 * At thread exit no operation is under way. A word still held was left by
 * siglongjmp out of a lock-path operation (percpu/mode.h forbids it);
 * free it rather than leave its shard held for ever.
 */
void percpu_shard_thread_exit(void)
{
	uintptr_t me = owner_tag();

	if (intent < 0)
		return;
	for (unsigned int s = 0; s < percpu_rt.nr_shards; s++) {
		struct shard_hold h = { s, -1, 0 };
		uintptr_t w = (uintptr_t)__atomic_load_n(percpu_shard_word(s),
							 __ATOMIC_RELAXED);

		if ((w & ~SHARD_DISABLED) == me)
			percpu_shard_release(&h);
	}
	intent = -1;
}

/*
 * Close the gate of a word just taken, before the fence: sections that
 * saw it open are restarted by the fence, later ones see it closed. A
 * compare-and-swap, as is the reopening before the release: the kill
 * switch may close it for good at any moment, and that must stay. In
 * lock mode gates are closed for good and the lock path leaves them be.
 */
static int gate_close(unsigned int shard)
{
	uint32_t open = shard;

	return percpu_gates && !percpu_lock_only() &&
	       __atomic_compare_exchange_n(&percpu_gates[shard], &open,
					   GATE_HELD, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_RELAXED);
}

static void gate_open(unsigned int shard)
{
	uint32_t held = GATE_HELD;

	if (percpu_gates && !percpu_lock_only())
		__atomic_compare_exchange_n(&percpu_gates[shard], &held,
					    shard, 0, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
}

/*
 * The holding this interrupted may not have fenced yet, nor closed the
 * gate, or may have opened it already to release the word: close it
 * (percpu_shard_unnest opens it again). If the fence is refused, wait
 * here: the word stays held meanwhile, as the interrupted take cannot
 * let go of it before this returns.
 */
static int took_nested(struct shard_hold *h, unsigned int shard)
{
#ifdef PERCPU_INJECT
	__atomic_fetch_add(&percpu_inject.shard_nested, 1, __ATOMIC_RELAXED);
#endif
	intent = h->prev_intent;
	h->gate_closed = gate_close(shard);
	for (unsigned int tries = 0; fence_shard(shard); )
		percpu_backoff_sleep(&tries);
	return SHARD_NESTED;
}

static void backoff(unsigned int spins)
{
	if (spins < 64)
		percpu_cpu_relax();
	else
		sched_yield();
}

static int took_busy(const struct shard_hold *h)
{
	intent = h->prev_intent;
	return SHARD_BUSY;
}

static int claim(uintptr_t *w, uintptr_t old, uintptr_t me)
{
	return __atomic_compare_exchange_n(w, &old, (old & SHARD_DISABLED) | me,
					   0, __ATOMIC_SEQ_CST,
					   __ATOMIC_RELAXED);
}

/*
 * Once the disabled bit is set it stays, and no one else writes a held
 * word: a plain release store will do. Before, the kill switch may set the
 * bit at any moment, so only clear the owner atomically.
 */
static void unclaim(uintptr_t *w)
{
	if (__atomic_load_n(w, __ATOMIC_RELAXED) & SHARD_DISABLED)
		__atomic_store_n(w, SHARD_DISABLED, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(w, SHARD_DISABLED, __ATOMIC_RELEASE);
}

void percpu_gates_off(unsigned int nr_shards)
{
	for (unsigned int s = 0; percpu_gates && s < nr_shards; s++)
		__atomic_store_n(&percpu_gates[s], GATE_OFF, __ATOMIC_SEQ_CST);
}

/* In a child of fork(), whose words were just freed: the gates of those
 * not disabled open again. */
void percpu_gates_reopen(unsigned int nr_shards)
{
	for (unsigned int s = 0; percpu_gates && s < nr_shards; s++)
		if (!(__atomic_load_n(percpu_shard_word(s), __ATOMIC_RELAXED) &
		      (intptr_t)SHARD_DISABLED))
			__atomic_store_n(&percpu_gates[s], s,
					 __ATOMIC_RELAXED);
}

/*
 * Take `shard`'s word into *h. Returns SHARD_TAKEN (release it with
 * percpu_shard_release), SHARD_NESTED if this thread already holds it (a
 * signal handler interrupted the holder, and may work beside it because
 * every lock-path update is atomic; percpu_remote's fn, which need not
 * be, runs with signals blocked), or SHARD_BUSY if another thread holds
 * it, or the fence is refused, and the caller may not wait (wait below
 * TAKE_WAIT, or this thread holds another, or is inside a lease
 * operation).
 * A lease (lock mode, lease.c) of this thread becomes a plain holding;
 * another thread's is revoked unless wait is TAKE_NOWAIT, once its holder
 * is outside its operations (revoking never waits).
 * While the fence is refused, the word is not held: a caller that may wait
 * sleeps, then takes it again, and other threads' operations on the shard
 * go on meanwhile.
 */
int percpu_shard_take(struct shard_hold *h, unsigned int shard, int wait)
{
	uintptr_t *w = (uintptr_t *)percpu_shard_word(shard);
	uintptr_t me = owner_tag();
	int may_revoke;

	percpu_exit_arm();
	h->shard = shard;
	h->prev_intent = intent;
	h->gate_closed = 0;
	/* Revoking never waits: it stays allowed where waiting is not. */
	may_revoke = wait != TAKE_NOWAIT;
	if ((intent >= 0 && (unsigned int)intent != shard) ||
	    percpu_lease_busy())
		wait = TAKE_NOWAIT;
	intent = (int)shard;
	for (unsigned int spins = 0, tries = 0;; spins++) {
		uintptr_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
		int mine = percpu_lease_is_mine(old);

		if ((old & ~SHARD_DISABLED) == me ||
		    (mine && percpu_lease_busy()))
			return took_nested(h, shard);
		if (mine) {
			if (!claim(w, old, me))
				continue;
			percpu_lease_taken_back(shard, old);
			return SHARD_TAKEN;
		}
		if (old & SHARD_LEASED) {
			int r = may_revoke ?
				percpu_lease_revoke(shard, w, old, me) : 0;

			if (r > 0)
				return SHARD_TAKEN;
			if (r < 0)
				continue;
			if (wait != TAKE_WAIT)
				return took_busy(h);
			backoff(spins);
			continue;
		}
		if (!(old & ~SHARD_DISABLED)) {
			if (!claim(w, old, me))
				continue;
			gate_close(shard);
			if (!fence_shard(shard))
				return SHARD_TAKEN;
			gate_open(shard);
			unclaim(w);
			if (wait != TAKE_WAIT)
				return took_busy(h);
			percpu_backoff_sleep(&tries);
			continue;
		}
		if (wait != TAKE_WAIT)
			return took_busy(h);
		backoff(spins);
	}
}

/* This thread holds a shard word, or is inside a lease operation (a
 * signal handler interrupted it). */
int percpu_shard_holding(void)
{
	return intent >= 0 || percpu_lease_busy();
}

/* Keep a taken word as this thread's lease instead of releasing it. */
int percpu_shard_lease(const struct shard_hold *h)
{
	if (!percpu_lease_keep(h->shard, h->prev_intent))
		return 0;
	intent = h->prev_intent;
	return 1;
}

/* After a nested holding (SHARD_NESTED): the gate as it was. */
void percpu_shard_unnest(const struct shard_hold *h)
{
	if (h->gate_closed)
		gate_open(h->shard);
}

void percpu_shard_release(const struct shard_hold *h)
{
	gate_open(h->shard);
	unclaim((uintptr_t *)percpu_shard_word(h->shard));
	intent = h->prev_intent;
}

static void place_words(uintptr_t base, unsigned int shift, unsigned int mask)
{
	percpu_words = (struct shard_words){ base, shift, mask };
}

/* Shards -2 and -1, then every shard's, each open. */
static void place_gates(uint32_t *first, unsigned int nr_shards)
{
	first[0] = GATE_OFF;
	first[1] = GATE_OFF;
	percpu_gates = first + 2;
	for (unsigned int s = 0; s < nr_shards; s++)
		percpu_gates[s] = s;
}

static int words_fail(unsigned int level)
{
#ifdef PERCPU_INJECT
	return percpu_inject.words_fail >= level;
#else
	(void)level;
	return 0;
#endif
}

/*
 * Returns 1 if the words are at the stride, where rseq sections can read
 * them; 0 if only lock mode may run: a dense mapping, or static
 * storage if even that fails (RLIMIT_AS, a container's limit), so the lock
 * path never lacks its words.
 */
int percpu_shard_words_init(unsigned int nr_shards)
{
	size_t dense = (size_t)nr_shards << WORD_SHIFT;
	size_t strided = ((size_t)nr_shards + 2) << PERCPU_STRIDE_SHIFT;
	char *p = words_fail(1) || nr_shards > GATES_ROOM ? MAP_FAILED :
		  mmap(NULL, strided, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p != MAP_FAILED) {
		/* A huge page would commit 2 MiB for one word. */
		madvise(p, strided, MADV_NOHUGEPAGE);
		*(uintptr_t *)(p + WORD_IN_PAGE) = SHARD_DISABLED;
		*(uintptr_t *)(p + PERCPU_STRIDE + WORD_IN_PAGE) =
			SHARD_DISABLED;
		place_gates((uint32_t *)(p + GATES_AT), nr_shards);
		percpu_numa_place(p + 2 * PERCPU_STRIDE);
		place_words((uintptr_t)(p + 2 * PERCPU_STRIDE + WORD_IN_PAGE),
			    PERCPU_STRIDE_SHIFT, ~0u);
		return 1;
	}
	p = words_fail(2) ? MAP_FAILED :
	    mmap(NULL, dense, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		place_words((uintptr_t)p, WORD_SHIFT, ~0u);
	else
		place_words((uintptr_t)static_words, WORD_SHIFT,
			    STATIC_WORDS - 1);
	return 0;
}
