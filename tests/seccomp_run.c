// SPDX-License-Identifier: MIT
/*
 * tests/seccomp_run.c: run a command with the rseq, membarrier and/or
 * sched_setaffinity system calls failing with a chosen errno, as a sandbox
 * would make them fail.
 *
 *	seccomp_run [--rseq ERRNO] [--membarrier ERRNO] [--affinity ERRNO]
 *		-- command args...
 *
 * The filter is installed before exec, so it also covers the dynamic
 * loader's and libc's own start-up registration, and every thread and child
 * of the command. Every other system call is allowed. x86-64 and aarch64 only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "seccomp_filter.h"

struct options {
	int rseq_errno;		/* 0: leave the call alone */
	int membarrier_errno;
	int affinity_errno;	/* sched_setaffinity */
	char **command;
};

static void usage(const char *why)
{
	fprintf(stderr,
		"seccomp_run: %s\n"
		"usage: seccomp_run [--rseq ERRNO] [--membarrier ERRNO] "
		"[--affinity ERRNO] -- "
		"command [args...]\n"
		"  ERRNO is a name such as ENOSYS, EPERM or EINVAL\n",
		why);
	exit(2);
}

/* The kernel returns at most 4095 as an errno from a system call. */
static int errno_from_name(const char *name)
{
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	return 0;
}

static int option_errno(const char *option, const char *value)
{
	int e = value ? errno_from_name(value) : 0;

	if (!e) {
		fprintf(stderr, "seccomp_run: %s: not an errno name: %s\n",
			option, value ? value : "(missing)");
		usage("bad arguments");
	}
	return e;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	int i = 1;

	for (; i < argc && strcmp(argv[i], "--"); i += 2) {
		const char *value = argv[i + 1];

		if (!strcmp(argv[i], "--rseq"))
			o->rseq_errno = option_errno(argv[i], value);
		else if (!strcmp(argv[i], "--membarrier"))
			o->membarrier_errno = option_errno(argv[i], value);
		else if (!strcmp(argv[i], "--affinity"))
			o->affinity_errno = option_errno(argv[i], value);
		else
			usage("unknown option or missing --");
	}
	if (i >= argc)
		usage("missing --");
	if (i + 1 >= argc)
		usage("no command after --");
	o->command = &argv[i + 1];
}

int main(int argc, char **argv)
{
	struct options o = { 0, 0, 0, NULL };

	parse_args(argc, argv, &o);
	if (seccomp_refuse(o.rseq_errno, o.membarrier_errno,
			   o.affinity_errno)) {
		fprintf(stderr, "seccomp_run: cannot install the filter: %s\n",
			errno == ENOTSUP ? "only x86-64 and aarch64 are supported" :
					   strerror(errno));
		return 1;
	}
	execvp(o.command[0], o.command);
	fprintf(stderr, "seccomp_run: cannot run %s: %s\n", o.command[0],
		strerror(errno));
	return 127;
}
