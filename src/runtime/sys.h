/* SPDX-License-Identifier: MIT */
/*
 * src/runtime/sys.h: the system calls that set-up and the status file
 * make, through syscall(2) rather than libc's wrappers. Each wrapper lies
 * somewhere in libc's text, and the first call to one maps the 64 KiB
 * around it (the kernel's fault-around): in a process that preloads the
 * allocator and does little else, the wrappers that set-up called made
 * 128-192 KiB of its resident memory. syscall() sits beside mmap, which
 * every process has called. Each returns as its wrapper does: -1 with
 * errno set on failure.
 */
#ifndef PERCPU_RUNTIME_SYS_H
#define PERCPU_RUNTIME_SYS_H

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline int sys_open(const char *path, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static inline ssize_t sys_read(int fd, void *buf, size_t n)
{
	return syscall(SYS_read, fd, buf, n);
}

static inline ssize_t sys_write(int fd, const void *buf, size_t n)
{
	return syscall(SYS_write, fd, buf, n);
}

static inline int sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

/*
 * The kernel's struct stat is glibc's on x86-64 and aarch64 only, and
 * renameat is missing from newer architectures' tables: elsewhere these
 * three are libc's.
 */
#if defined(__x86_64__) || defined(__aarch64__)
static inline int sys_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

static inline int sys_stat(const char *path, struct stat *st)
{
	return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, 0);
}

static inline int sys_rename(const char *from, const char *to)
{
	return (int)syscall(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to);
}
#else
#include <stdio.h>

static inline int sys_fstat(int fd, struct stat *st)
{
	return fstat(fd, st);
}

static inline int sys_stat(const char *path, struct stat *st)
{
	return stat(path, st);
}

static inline int sys_rename(const char *from, const char *to)
{
	return rename(from, to);
}
#endif

static inline int sys_mkdir(const char *path, mode_t mode)
{
	return (int)syscall(SYS_mkdirat, AT_FDCWD, path, mode);
}

static inline int sys_chmod(const char *path, mode_t mode)
{
	return (int)syscall(SYS_fchmodat, AT_FDCWD, path, mode);
}

static inline int sys_unlinkat(int dir, const char *path)
{
	return (int)syscall(SYS_unlinkat, dir, path, 0);
}

static inline int sys_kill(pid_t pid, int sig)
{
	return (int)syscall(SYS_kill, pid, sig);
}

static inline pid_t sys_getpid(void)
{
	return (pid_t)syscall(SYS_getpid);
}

static inline uid_t sys_geteuid(void)
{
	return (uid_t)syscall(SYS_geteuid);
}

/* 0, or -1. The kernel's call returns the bytes it wrote, which may be
 * fewer than asked: the rest is cleared, as glibc's wrapper does. */
static inline int sys_getaffinity(size_t bytes, unsigned long *mask)
{
	long got = syscall(SYS_sched_getaffinity, 0, bytes, mask);

	if (got < 0)
		return -1;
	memset((char *)mask + got, 0, bytes - (size_t)got);
	return 0;
}

static inline int sys_setaffinity(size_t bytes, const unsigned long *mask)
{
	return (int)syscall(SYS_sched_setaffinity, 0, bytes, mask);
}

#endif
