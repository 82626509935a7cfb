/* SPDX-License-Identifier: MIT */
/*
 * tests/seccomp_filter.h: make the rseq, membarrier and sched_setaffinity
 * system calls fail
 * with a chosen errno, as a sandbox would; every other call is allowed.
 * Raw prctl, no libseccomp. A filter applies to the thread that installs it
 * and to the threads and processes it creates afterwards, and survives exec.
 */
#ifndef PERCPU_TESTS_SECCOMP_FILTER_H
#define PERCPU_TESTS_SECCOMP_FILTER_H

#include <errno.h>
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* The native ABI's value of seccomp_data.arch, where the test knows it. */
#if defined(__x86_64__)
#define SECCOMP_NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SECCOMP_NATIVE_ARCH
/* Four to check the ABI and load the number, two per call, one to allow. */
#define SECCOMP_FILTER_MAX (4 + 3 * 2 + 1)

struct seccomp_filter_prog {
	struct sock_filter insn[SECCOMP_FILTER_MAX];
	unsigned short len;
};

static void seccomp_emit(struct seccomp_filter_prog *f, struct sock_filter insn)
{
	f->insn[f->len++] = insn;
}

static void seccomp_fail_call(struct seccomp_filter_prog *f, unsigned int nr,
			      int err)
{
	if (!err)
		return;
	seccomp_emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						     nr, 0, 1));
	seccomp_emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_ERRNO | ((unsigned int)err & SECCOMP_RET_DATA)));
}

/*
 * System call numbers only mean these calls for the native ABI, so
 * calls made through another one (i386 int 0x80, AArch32) are let through. x32 calls
 * carry __X32_SYSCALL_BIT in the number and so are let through as well:
 * nothing under test uses that ABI.
 */
static void seccomp_build(struct seccomp_filter_prog *f, int rseq_errno,
			  int membarrier_errno, int affinity_errno)
{
	seccomp_emit(f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, arch)));
	seccomp_emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						     SECCOMP_NATIVE_ARCH, 1, 0));
	seccomp_emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						     SECCOMP_RET_ALLOW));
	seccomp_emit(f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, nr)));
	seccomp_fail_call(f, __NR_rseq, rseq_errno);
	seccomp_fail_call(f, __NR_membarrier, membarrier_errno);
	seccomp_fail_call(f, __NR_sched_setaffinity, affinity_errno);
	seccomp_emit(f, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						     SECCOMP_RET_ALLOW));
}

/*
 * seccomp_refuse: from now on, rseq fails with rseq_errno, membarrier with
 * membarrier_errno and sched_setaffinity with affinity_errno in this
 * thread and what it creates; 0 leaves a call
 * alone. NO_NEW_PRIVS lets an unprivileged process install the filter.
 * Returns 0, or -1 with errno; ENOTSUP on an architecture other than x86-64
 * and aarch64.
 */
static int seccomp_refuse(int rseq_errno, int membarrier_errno,
			  int affinity_errno)
{
	struct seccomp_filter_prog f = { .len = 0 };
	struct sock_fprog prog;

	seccomp_build(&f, rseq_errno, membarrier_errno, affinity_errno);
	prog.len = f.len;
	prog.filter = f.insn;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) ? -1 : 0;
}
#else
/* Other architectures number their system calls differently. */
static int seccomp_refuse(int rseq_errno, int membarrier_errno,
			  int affinity_errno)
{
	(void)rseq_errno;
	(void)membarrier_errno;
	(void)affinity_errno;
	errno = ENOTSUP;
	return -1;
}
#endif

#endif
