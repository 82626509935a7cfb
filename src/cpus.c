// SPDX-License-Identifier: MIT
/* src/cpus.c: how many CPU ids the kernel can ever report. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"

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
 * NUL-terminated. open and read, not stdio: the library runs underneath
 * malloc. Returns 0, or -1 if the file cannot be read.
 */
static int read_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * Without /sys: one past the highest CPU this thread may run on, or 1.
 * Not sysconf(_SC_NPROCESSORS_CONF), which lists a directory (malloc).
 * The mask lives on the stack and covers 32768 CPUs.
 */
static int allowed_cpus(void)
{
	unsigned long mask[512];
	int bits = (int)(8 * sizeof(mask[0]));

	if (sched_getaffinity(0, sizeof(mask), (cpu_set_t *)mask))
		return 1;
	for (int i = (int)(sizeof(mask) / sizeof(mask[0])) - 1; i >= 0; i--)
		if (mask[i])
			return i * bits + bits - __builtin_clzl(mask[i]);
	return 1;
}

/*
 * The possible CPUs, not the online ones: ids of CPUs brought online later
 * stay below this. Ids need not be contiguous, so count up to the highest.
 */
int percpu_possible_cpus(void)
{
	char buf[4096];
	int highest = -1;

	if (!read_line("/sys/devices/system/cpu/possible", buf, sizeof(buf)))
		highest = highest_in_list(buf);
	return highest >= 0 ? highest + 1 : allowed_cpus();
}
