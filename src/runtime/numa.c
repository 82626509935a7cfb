// SPDX-License-Identifier: MIT
/*
 * src/runtime/numa.c: place each shard's stride on its CPU's NUMA node, with the
 * kernel's mbind() (no libnuma needed). On one node, the default, there is
 * nothing to place and nothing is done. PERCPU_NUMA=0 turns placement off;
 * PERCPU_NUMA=1 places even on one node (so the path can be tested).
 *
 * The library runs underneath malloc: /sys is read with open and
 * getdents64 into stack buffers (opendir would malloc), and the table of
 * nodes by CPU comes from mmap.
 */
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "internal.h"
#include "runtime/settings.h"
#include "runtime/sys.h"

static struct {
	int *node_of;		/* by CPU id; -1 unknown. mmap'd */
	unsigned int nr_cpus;
	int nodes;
	int enabled;
} numa;

/* The node M of an entry named nodeM among `len` bytes of records, or -1. */
static int node_in_records(const char *buf, long len)
{
	int node = -1;

	for (long off = 0; off < len;) {
		const struct dir_record *r = (const void *)(buf + off);

		if (!strncmp(r->name, "node", 4) && r->name[4] >= '0' &&
		    r->name[4] <= '9')
			node = atoi(r->name + 4);
		off += r->len;
	}
	return node;
}

/* The node directory /sys/devices/system/cpu/cpuN holds a link nodeM. */
static int node_of_cpu(unsigned int cpu)
{
	char path[64], buf[2048] __attribute__((aligned(8)));
	int node = -1, found, fd;
	long n;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u", cpu);
	fd = sys_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		if ((found = node_in_records(buf, n)) >= 0)
			node = found;
	sys_close(fd);
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

/* Returns whether strides will be placed; the table is kept only then. */
int percpu_numa_init(unsigned int nr_cpus, int cid_indexing)
{
	const char *v = percpu_setting_value(SETTING_NUMA);
	int forced = v && !strcmp(v, "1");
	size_t len = nr_cpus * sizeof(*numa.node_of);
	void *table;

	if ((v && !strcmp(v, "0")) || cid_indexing)
		return 0;
	table = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (table == MAP_FAILED)
		return 0;
	numa.node_of = table;
	numa.nr_cpus = nr_cpus;
	for (unsigned int c = 0; c < nr_cpus; c++)
		numa.node_of[c] = node_of_cpu(c);
	numa.nodes = count_nodes();
	numa.enabled = numa.nodes > 1 || (forced && numa.nodes == 1);
	if (!numa.enabled) {
		munmap(table, len);
		numa.node_of = NULL;
		numa.nr_cpus = 0;
	}
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
