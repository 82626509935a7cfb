// SPDX-License-Identifier: MIT
/*
 * src/numa.c: place each shard's stride on its CPU's NUMA node, with the
 * kernel's mbind() (no libnuma needed). On one node, the default, there is
 * nothing to place and nothing is done. PERCPU_NUMA=0 turns placement off;
 * PERCPU_NUMA=1 places even on one node (so the path can be tested).
 */
#include <dirent.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "internal.h"

static struct {
	int *node_of;		/* by CPU id; -1 unknown */
	unsigned int nr_cpus;
	int nodes;
	int enabled;
} numa;

/* The node directory /sys/devices/system/cpu/cpuN holds a link nodeM. */
static int node_of_cpu(unsigned int cpu)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int node = -1;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u", cpu);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "node", 4) &&
		    e->d_name[4] >= '0' && e->d_name[4] <= '9')
			node = atoi(e->d_name + 4);
	closedir(d);
	return node;
}

static int count_nodes(void)
{
	int highest = -1;

	for (unsigned int c = 0; c < numa.nr_cpus; c++)
		if (numa.node_of[c] > highest)
			highest = numa.node_of[c];
	return highest + 1;
}

/* Returns whether strides will be placed. */
int percpu_numa_init(unsigned int nr_cpus, int cid_indexing)
{
	const char *v = secure_getenv("PERCPU_NUMA");
	int forced = v && !strcmp(v, "1");

	if ((v && !strcmp(v, "0")) || cid_indexing)
		return 0;
	numa.node_of = malloc(nr_cpus * sizeof(*numa.node_of));
	if (!numa.node_of)
		return 0;
	numa.nr_cpus = nr_cpus;
	for (unsigned int c = 0; c < nr_cpus; c++)
		numa.node_of[c] = node_of_cpu(c);
	numa.nodes = count_nodes();
	numa.enabled = numa.nodes > 1 || (forced && numa.nodes == 1);
	return numa.enabled;
}

/* Prefer each shard's CPU's node for that shard's stride of a new chunk. */
void percpu_numa_place(char *base)
{
	unsigned long mask[16];

	if (!numa.enabled)
		return;
	for (unsigned int c = 0; c < numa.nr_cpus; c++) {
		int node = numa.node_of[c];

		if (node < 0 || node >= (int)(sizeof(mask) * 8))
			continue;
		memset(mask, 0, sizeof(mask));
		mask[node / 64] = 1ul << (node % 64);
		syscall(SYS_mbind, base + percpu_shard_offset(c), PERCPU_STRIDE,
			MPOL_PREFERRED, mask, sizeof(mask) * 8, 0);
	}
}
