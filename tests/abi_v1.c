// SPDX-License-Identifier: MIT
/*
 * tests/abi_v1.c: the runtime state a program built against the 0.1
 * headers reads, percpu_rt@PERCPU_0.1, agrees with the state the 0.2
 * headers read (percpu_rt_v2) once initialized and after
 * percpu_disable_rseq(), in whatever mode the environment gives. Exits 0
 * if both agree each time. tests/install.t builds it position-dependent,
 * so that the program holds copies of both (copy relocations) and the
 * library's writes must reach them; it is built against the library
 * alone, without the test suite's hooks.
 */
#include <stdio.h>
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

int main(void)
{
	intptr_t *p = percpu_alloc(sizeof(*p));
	int ok;

	if (!p || percpu_rt.nr_shards == 0) {
		printf("not initialized\n");
		return 1;
	}
	ok = same_state("initialized");
	percpu_disable_rseq();
	ok &= same_state("after percpu_disable_rseq()") &&
	      percpu_rt_v1.rseq_shards == 0;
	percpu_free(p);
	return ok ? 0 : 1;
}
