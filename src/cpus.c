// SPDX-License-Identifier: MIT
/* src/cpus.c: how many CPU ids the kernel can ever report. */
#include <stdio.h>
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
 * The possible CPUs, not the online ones: ids of CPUs brought online later
 * stay below this. Ids need not be contiguous, so count up to the highest.
 */
int percpu_possible_cpus(void)
{
	char buf[4096];
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	int highest = -1;
	long conf;

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			highest = highest_in_list(buf);
		fclose(f);
	}
	if (highest >= 0)
		return highest + 1;
	conf = sysconf(_SC_NPROCESSORS_CONF);
	return conf > 0 ? (int)conf : 1;
}
