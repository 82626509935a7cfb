// SPDX-License-Identifier: MIT
/* percpu-info: how percpu runs on this machine, one `key: value` a line. */
#include <stdio.h>
#include <stdlib.h>
#include <percpu.h>

static const char *yes_no(int b)
{
	return b ? "yes" : "no";
}

/* The environment options the library reads, as it read them at start. */
static void print_options(void)
{
	static const char *const names[] = {
		"PERCPU_DISABLE_RSEQ", "PERCPU_INDEX", "PERCPU_NUMA",
		"PERCPU_LEASE",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = secure_getenv(names[i]);

		printf("option_%s: %s\n", names[i], v ? v : "(unset)");
	}
}

int main(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	percpu_runtime_info_get(&info);
	printf("mode: %s\n", info.mode == PERCPU_MODE_RSEQ ? "rseq" : "lock");
	printf("reason: %s\n", info.reason);
	printf("registered_by: %s\n", info.registered_by);
	printf("arch: %s\n", info.arch);
	printf("rseq_feature_size: %u\n", info.rseq_feature_size);
	printf("rseq_registered_size: %u\n", info.rseq_registered_size);
	printf("node_id_usable: %s\n", yes_no(info.node_id_usable));
	printf("mm_cid_usable: %s\n", yes_no(info.mm_cid_usable));
	printf("membarrier_rseq: %s\n", yes_no(info.membarrier_rseq));
	printf("possible_cpus: %d\n", info.nr_possible_cpus);
	printf("shards: %d\n", info.nr_shards);
	printf("stride: %zu\n", (size_t)PERCPU_STRIDE);
	print_options();
	printf("index: %s\n", info.index == PERCPU_INDEX_CID ? "cid" : "cpu");
	printf("numa_placement: %s\n", yes_no(info.numa_placement));
	printf("lock_leases: %s\n", yes_no(info.lock_leases));
	if (info.index_note)
		printf("index_note: %s\n", info.index_note);
	return 0;
}
