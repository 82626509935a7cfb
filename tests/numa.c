// SPDX-License-Identifier: MIT
/*
 * tests/numa.c: each shard's stride prefers its CPU's node when placement
 * is on (PERCPU_NUMA=1 forces it on a one-node machine), and is left at the
 * default policy otherwise. Reads /proc/self/numa_maps, where the kernel
 * prints each mapping's policy (the pool's strides split the mapping).
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "tap.h"

/*
 * The policy word numa_maps prints for the mapping holding addr: the last
 * one starting at or below it (lines are sorted; neighbours with the same
 * policy are merged into one mapping).
 */
static int policy_at(void *addr, char policy[64])
{
	FILE *f = fopen("/proc/self/numa_maps", "r");
	char line[512], word[64];
	unsigned long start;
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %63s", &start, word) == 2 &&
		    start <= (unsigned long)addr) {
			memcpy(policy, word, sizeof(word));
			found = 1;
		}
	fclose(f);
	return found;
}

int main(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };
	char *p = percpu_alloc(4096);
	const char *want_env = getenv("PERCPU_NUMA");
	int want = want_env && !strcmp(want_env, "1");
	int all = 1;

	percpu_runtime_info_get(&info);
	ok(info.numa_placement == want, "placement %s", want ? "on" : "off");
	for (int s = 0; s < percpu_nr_shards(); s++) {
		char policy[64] = "";
		char *stride = (char *)((uintptr_t)percpu_ptr(p, s) &
					~(uintptr_t)(PERCPU_STRIDE - 1));

		memset(percpu_ptr(p, s), 1, 4096);
		if (!policy_at(stride, policy) ||
		    (want ? strncmp(policy, "prefer:", 7) :
			    strcmp(policy, "default")))
			all = 0;
		tap_diag("shard %d stride %p: %s", s, (void *)stride, policy);
	}
	ok(all, "every stride's policy is %s", want ? "prefer:<node>" : "default");
	return tap_done();
}
