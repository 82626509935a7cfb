// SPDX-License-Identifier: MIT
/* src/runtime/cpus.c: how many CPU ids the kernel can ever report. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"
#include "runtime/sys.h"

/* Highest id in a list such as "0-3,8,10-11", or -1 if it does not parse. */
static int highest_in_list(const char *s)
{
	int highest = -1;
	char *end;

	while (*s && *s != '\n') {
		long lo = strtol(s, &end, 10), hi = lo;

		if (end == s || lo < 0)
			return -1;
		if (*end == '-') {
			s = end + 1;
			hi = strtol(s, &end, 10);
			if (end == s || hi < lo)
				return -1;
		}
		if (hi > highest)
			highest = (int)hi;
		s = end;
		if (*s == ',')
			s++;
	}
	return highest;
}

/*
 * The first line of a small file (sysfs gives it in one read) into buf,
 * NUL-terminated. System calls, not stdio: the library runs underneath
 * malloc. Returns 0, or -1 if the file cannot be read.
 */
static int read_line(const char *path, char *buf, size_t size)
{
	int fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = sys_read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	sys_close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int cpus_fail(unsigned int level)
{
#ifdef PERCPU_INJECT
	return percpu_inject.cpus_fail >= level;
#else
	(void)level;
	return 0;
#endif
}

/*
 * Without /sys: the kernel's own bound. The system call (not glibc's
 * wrapper, which hides it) returns the size of the kernel's CPU mask,
 * nr_cpu_ids rounded up to a long's bits, and no CPU id reaches that: the
 * sections index shards by cpu_id_start unchecked. Not
 * sysconf(_SC_NPROCESSORS_CONF), which lists a directory (malloc). The mask
 * lives on the stack and covers 32768 CPUs. -1 if refused.
 */
static int kernel_cpu_bound(void)
{
	unsigned long mask[512];
	long r = cpus_fail(2) ? -1 :
		 syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);

	return r > 0 ? (int)(r * 8) : -1;
}

static const char *sys_says(const char *read)
{
#ifdef PERCPU_INJECT
	if (percpu_inject.sys_possible)
		return percpu_inject.sys_possible;
#endif
	return read;
}

/* One past the highest CPU this thread may run on now, or 0. */
static int allowed_bound(void)
{
	unsigned long mask[512];
	long bytes = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
	long bits = 8 * (long)sizeof(mask[0]);

	for (long i = bytes / (long)sizeof(mask[0]) - 1; i >= 0; i--)
		if (mask[i])
			return (int)((i + 1) * bits) - __builtin_clzl(mask[i]);
	return 0;
}

/*
 * The possible CPUs, not the online ones: ids of CPUs brought online later
 * stay below this. Ids need not be contiguous, so count up to the highest.
 * A /sys that lists fewer CPUs than this thread may run on (a container's
 * stale or faked copy) is not believed that far: the sections index shards
 * by CPU id unchecked. -1 if no bound can be had: then no CPU id may index
 * anything.
 */
int percpu_possible_cpus(void)
{
	char buf[4096];
	int highest = -1, allowed;

	if (!cpus_fail(1) &&
	    !read_line("/sys/devices/system/cpu/possible", buf, sizeof(buf)))
		highest = highest_in_list(sys_says(buf));
	if (highest < 0)
		return kernel_cpu_bound();
	allowed = cpus_fail(2) ? 0 : allowed_bound();
	return highest + 1 > allowed ? highest + 1 : allowed;
}
