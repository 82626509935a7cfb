/* SPDX-License-Identifier: MIT */
/*
 * tests/proc_mem.h: a process's resident memory, in bytes, as /proc/self
 * tells it: the whole process (VmRSS in status) and the per-CPU pool's
 * mappings (in smaps, the entries whose VmFlags have "nr" and "nh": the
 * pool maps with MAP_NORESERVE and MADV_NOHUGEPAGE). Shared by the memory
 * test and the many-CPU guest's (tests/qemu/rss.c).
 *
 * The whole process's figure is the Rss of all its mappings in smaps, which
 * the kernel counts by walking the page tables, not VmRSS: proc(5) warns
 * that status's figures are inexact for scalability. Linux 6.1 keeps up to
 * 64 page faults per thread in a per-thread cache before adding them to
 * VmRSS; 6.2 and later read a per-CPU counter without summing it. Either
 * shows growth that did not happen, or hides growth that did: it is read
 * too, for reports only.
 *
 * The files are read with read(2) into a static buffer, never stdio: a
 * measurement must not call malloc, which under a preloaded libpercpu-malloc
 * touches that allocator's own per-CPU pool (also "nr nh") on whichever CPU
 * the reader runs, and would count in the figures it takes.
 */
#ifndef PERCPU_TESTS_PROC_MEM_H
#define PERCPU_TESTS_PROC_MEM_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct proc_mem {
	long pool_rss;		/* resident in the pool's mappings */
	long pool_size;		/* address space of those mappings */
	long rss;		/* the whole process: Rss of every mapping */
	long vm_rss;		/* VmRSS in status: inexact, printed only */
};

/* One line at a time from a /proc file; lines longer than the buffer are cut. */
struct proc_lines {
	int fd;
	size_t have, at;
	char buf[8192];
	char line[512];
};

static __attribute__((unused)) int proc_lines_open(struct proc_lines *p,
						   const char *path)
{
	p->fd = open(path, O_RDONLY | O_CLOEXEC);
	p->have = p->at = 0;
	return p->fd >= 0;
}

static __attribute__((unused)) const char *proc_lines_next(struct proc_lines *p)
{
	size_t n = 0;
	ssize_t got;
	char c;

	for (;;) {
		if (p->at == p->have) {
			got = read(p->fd, p->buf, sizeof(p->buf));
			if (got <= 0 && !n)
				return NULL;
			if (got <= 0)
				break;	/* a last line without its newline */
			p->have = (size_t)got;
			p->at = 0;
		}
		c = p->buf[p->at++];
		if (c == '\n')
			break;
		if (n < sizeof(p->line) - 1)
			p->line[n++] = c;
	}
	p->line[n] = '\0';
	return p->line;
}

static __attribute__((unused)) long proc_vm_rss(void)
{
	static struct proc_lines p;
	const char *line;
	long kb = -1;

	if (!proc_lines_open(&p, "/proc/self/status"))
		return -1;
	while ((line = proc_lines_next(&p)))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	close(p.fd);
	return kb * 1024;
}

/* VmFlags closes each mapping's entry, after its Size and Rss. */
static __attribute__((unused)) struct proc_mem proc_mem_read(void)
{
	static struct proc_lines p;
	struct proc_mem u = { 0, 0, 0, 0 };
	long size = 0, rss = 0, kb;
	const char *line;

	if (proc_lines_open(&p, "/proc/self/smaps")) {
		while ((line = proc_lines_next(&p))) {
			if (sscanf(line, "Size: %ld kB", &kb) == 1)
				size = kb * 1024;
			else if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
				rss = kb * 1024;
				u.rss += rss;
			}
			else if (!strncmp(line, "VmFlags:", 8) &&
				 strstr(line, " nr ") && strstr(line, " nh ")) {
				u.pool_size += size;
				u.pool_rss += rss;
			}
		}
		close(p.fd);
	}
	u.vm_rss = proc_vm_rss();
	return u;
}

#endif
