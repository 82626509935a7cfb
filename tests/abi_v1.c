// SPDX-License-Identifier: MIT
/*
 * tests/abi_v1.c: the runtime state a program built against the 0.1
 * headers reads, percpu_rt@PERCPU_0.1, agrees with the state the 0.2
 * headers read (percpu_rt_v2) once initialized and after
 * percpu_disable_rseq(), in whatever mode the environment gives. Exits 0
 * if both agree each time, and the x86-64 fast paths' constants are as the
 * mode says. tests/install.t builds it position-dependent, so that the
 * program holds copies of the state (copy relocations) and the library's
 * writes must reach them; it is built against the library
 * alone, without the test suite's hooks.
 */
#include <stdio.h>
#include <string.h>
#include <percpu.h>

/* The 0.1 headers declared percpu_rt under this name. */
extern struct percpu_rt percpu_rt_v1 __asm__("percpu_rt");

/* Every field the 0.1 headers had; 1 if they agree. */
static int same_state(const char *when)
{
	const struct percpu_rt *a = &percpu_rt_v1, *b = &percpu_rt;
	int same = a->rseq_offset == b->rseq_offset &&
		   a->shard_offset == b->shard_offset &&
		   a->shard_words == b->shard_words &&
		   a->nr_shards == b->nr_shards &&
		   a->rseq_shards == b->rseq_shards &&
		   a->id_offset == b->id_offset;

	printf("%s: %s (shards %u/%u, rseq shards %u/%u, words %#lx/%#lx)\n",
	       when, same ? "the same" : "DIFFERENT", a->nr_shards,
	       b->nr_shards, a->rseq_shards, b->rseq_shards,
	       (unsigned long)a->shard_words, (unsigned long)b->shard_words);
	return same;
}

/*
 * The x86-64 fast paths' constants (percpu/common.h), in the program's
 * copies: the delta leads to the shard-id field where glibc registered
 * rseq (else it stays 0), and the shards' gates are open or closed as the
 * mode says. 1 if so.
 */
static int fast_constants(const char *when, int libc_rseq, int open)
{
#if PERCPU_FAST_CONSTANTS
	long dead = (long)((char *)&percpu_dead_id -
			   (char *)__builtin_thread_pointer());
	int delta_ok = libc_rseq ?
		dead + percpu_fast_delta == percpu_rt.shard_offset :
		percpu_fast_delta == 0;
	unsigned int wrong = 0;

	for (unsigned int s = 0; s < percpu_rt.nr_shards; s++)
		wrong += (percpu_gate_table[s + 2] == s) != open;
	printf("%s: delta %ld %s, %u gates not %s\n", when, percpu_fast_delta,
	       delta_ok ? "as expected" : "WRONG", wrong,
	       open ? "open" : "closed");
	return delta_ok && !wrong;
#else
	(void)when;
	(void)libc_rseq;
	(void)open;
	return 1;
#endif
}

int main(void)
{
	intptr_t *p = percpu_alloc(sizeof(*p));
	const char *reason;
	int ok, rseq, libc_rseq;

	if (!p || percpu_rt.nr_shards == 0) {
		printf("not initialized\n");
		return 1;
	}
	rseq = percpu_mode_get(&reason) == PERCPU_MODE_RSEQ;
	libc_rseq = rseq && !strcmp(reason, "registered by libc");
	ok = same_state("initialized") &&
	     fast_constants("initialized", libc_rseq, rseq);
	percpu_disable_rseq();
	ok &= same_state("after percpu_disable_rseq()") &&
	      percpu_rt_v1.rseq_shards == 0 &&
	      fast_constants("after percpu_disable_rseq()", libc_rseq, 0);
	percpu_free(p);
	return ok ? 0 : 1;
}
