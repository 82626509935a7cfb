/* SPDX-License-Identifier: MIT */
/*
 * tests/proc_mem.h: a process's resident memory, in bytes, as /proc/self
 * tells it: the whole process (VmRSS in status) and the per-CPU pool's
 * mappings (in smaps, the entries whose VmFlags have "nr" and "nh": the
 * pool maps with MAP_NORESERVE and MADV_NOHUGEPAGE). Shared by the memory
 * test and the many-CPU guest's (tests/qemu/rss.c).
 */
#ifndef PERCPU_TESTS_PROC_MEM_H
#define PERCPU_TESTS_PROC_MEM_H

#include <stdio.h>
#include <string.h>

struct proc_mem {
	long pool_rss;		/* resident in the pool's mappings */
	long pool_size;		/* address space of those mappings */
	long vm_rss;		/* the whole process */
};

static __attribute__((unused)) long proc_vm_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/* VmFlags closes each mapping's entry, after its Size and Rss. */
static __attribute__((unused)) struct proc_mem proc_mem_read(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	struct proc_mem u = { 0, 0, 0 };
	long size = 0, rss = 0, kb;
	char line[512];

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Size: %ld kB", &kb) == 1)
			size = kb * 1024;
		else if (sscanf(line, "Rss: %ld kB", &kb) == 1)
			rss = kb * 1024;
		else if (!strncmp(line, "VmFlags:", 8) &&
			 strstr(line, " nr ") && strstr(line, " nh ")) {
			u.pool_size += size;
			u.pool_rss += rss;
		}
	}
	if (f)
		fclose(f);
	u.vm_rss = proc_vm_rss();
	return u;
}

#endif
