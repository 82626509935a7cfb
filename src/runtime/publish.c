// SPDX-License-Identifier: MIT
/*
 * src/runtime/publish.c: each process's status file, <dir>/<pid>, which
 * percpu-info --pid reads: its mode and why, and its settings and where
 * they came from. Written at start, after fork in the child, and when the
 * process mode changes; never by an operation. Underneath malloc like the
 * rest of initialization: static buffers and system calls only.
 *
 * The directory is sticky and writable by all, like /tmp (a tmpfiles.d
 * line, `d /run/percpu 1777 root root`, makes it at boot), so that every
 * user's processes can publish; each file is mode 0600, created under a
 * temporary name with O_EXCL and O_NOFOLLOW, then renamed into place, so
 * a reader never sees half a file. In a sticky directory nobody can
 * replace another user's file; a reader still trusts a file only if it
 * belongs to the process's own user.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "internal.h"
#include "runtime/sys.h"
#include "runtime/text.h"

#ifndef PERCPU_RUNSTATEDIR
#define PERCPU_RUNSTATEDIR "/run"
#endif
#define STATUS_MAX 2048
#define PATH_LEN 256

static struct {
	char text[STATUS_MAX];
	char path[PATH_LEN];	/* the file written, if pid is not 0 */
	char tmp[PATH_LEN];
	pid_t pid;		/* the process it was written for */
} pub;

const char *percpu_status_dir(unsigned int i)
{
	static const char *const dirs[] = {
		PERCPU_RUNSTATEDIR "/percpu", "/dev/shm/percpu",
	};
	const char *env = secure_getenv("PERCPU_STATUS_DIR");

	if (env && *env)
		return i == 0 ? env : NULL;
	return i < sizeof(dirs) / sizeof(dirs[0]) ? dirs[i] : NULL;
}

/*
 * Field 22 of /proc/self/stat, the start time in clock ticks since boot:
 * with the pid it names this process, so a reader can tell a file left by
 * a killed process from one of a new process given the same pid.
 */
static void add_start_time(struct text *t)
{
	char buf[1024], *p, *end;
	int fd = sys_open("/proc/self/stat", O_RDONLY | O_CLOEXEC, 0);
	ssize_t n = fd < 0 ? -1 : sys_read(fd, buf, sizeof(buf) - 1);
	int field = 2;

	if (fd >= 0)
		sys_close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* The command name, field 2, may hold blanks: start after its ')'. */
	for (p = strrchr(buf, ')'); p && *p && field < 22; p++)
		field += *p == ' ';
	if (!p || field != 22)
		return;
	text_add(t, "start: ");
	/* A loop, not strcspn(): see runtime/sys.h. */
	for (end = p; *end && *end != ' '; end++)
		;
	*end = '\0';
	text_add(t, p);
	text_add(t, "\n");
}

/*
 * The executable's device and inode: after fork and exec into another
 * program, the pid and start time stay, but the file no longer describes
 * the process, and a reader can tell by this.
 */
static void add_exe(struct text *t)
{
	struct stat st;

	if (sys_stat("/proc/self/exe", &st))
		return;
	text_add(t, "exe: ");
	text_add_uint(t, (unsigned long)st.st_dev);
	text_add(t, ":");
	text_add_uint(t, (unsigned long)st.st_ino);
	text_add(t, "\n");
}

/* `key: a (b)`; a may come from the environment or the settings file. */
static void add_line(struct text *t, const char *key, const char *a,
		     const char *b)
{
	text_add(t, key);
	text_add(t, ": ");
	text_add_escaped(t, a);
	if (b) {
		text_add(t, " (");
		text_add(t, b);
		text_add(t, ")");
	}
	text_add(t, "\n");
}

static void compose(const char *mode, const char *reason)
{
	struct text t = { pub.text, sizeof(pub.text), 0 };
	struct percpu_setting s;
	const char *state, *path = percpu_settings_file(&state), *n;

	text_add(&t, "pid: ");
	text_add_uint(&t, (unsigned long)sys_getpid());
	text_add(&t, "\n");
	add_start_time(&t);
	add_exe(&t);
	add_line(&t, "mode", mode, NULL);
	add_line(&t, "reason", reason, NULL);
	for (unsigned int i = 0; percpu_setting_get(i, &s) == 0; i++) {
		text_add(&t, "setting_");
		add_line(&t, s.name, s.value, s.source);
	}
	add_line(&t, "settings_file", path, state);
	for (unsigned int i = 0; (n = percpu_settings_note(i)); i++)
		add_line(&t, "settings_note", n, NULL);
}

/* <dir>/<pid>, and <dir>/.<pid> to write it under; -1 if too long. */
static int make_paths(const char *dir)
{
	struct text p = { pub.path, sizeof(pub.path), 0 };
	struct text t = { pub.tmp, sizeof(pub.tmp), 0 };

	text_add(&p, dir);
	text_add(&p, "/");
	text_add(&t, pub.path);
	text_add(&t, ".");
	text_add_uint(&p, (unsigned long)sys_getpid());
	text_add_uint(&t, (unsigned long)sys_getpid());
	return t.len + 1 < t.cap ? 0 : -1;
}

/* The pid a status file (or its temporary, with a leading '.') names. */
static long named_pid(const char *name)
{
	long pid = 0;

	name += *name == '.';
	if (!*name)
		return 0;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || pid > 1 << 22)
			return 0;
		pid = pid * 10 + (*name - '0');
	}
	return pid;
}

static void sweep_records(int dir, const char *buf, long len)
{
	for (long off = 0; off < len;) {
		const struct dir_record *r = (const void *)(buf + off);
		long pid = named_pid(r->name);

		if (pid > 0 && sys_kill((pid_t)pid, 0) && errno == ESRCH)
			sys_unlinkat(dir, r->name);
		off += r->len;
	}
}

/*
 * Remove the files of processes that are gone: a process killed, or one
 * that left by _exit (as children of fork often do), runs no destructor.
 * Once per process start, so the directory holds about as many files as
 * there are live processes; only the caller's own files can go (sticky).
 */
static void sweep(const char *path)
{
	char buf[4096] __attribute__((aligned(8)));
	int dir = sys_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	long n;

	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0)
		sweep_records(dir, buf, n);
	sys_close(dir);
}

/* mkdir honours the umask: the mode is set again if this call made it. */
static int write_in(const char *dir)
{
	int fd;

	if (sys_mkdir(dir, 01777) == 0)
		sys_chmod(dir, 01777);
	if (make_paths(dir))
		return -1;
	fd = sys_open(pub.tmp,
		      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* Left by a process of the same pid that died while writing. */
	if (fd < 0 && errno == EEXIST && sys_unlinkat(AT_FDCWD, pub.tmp) == 0)
		fd = sys_open(pub.tmp, O_WRONLY | O_CREAT | O_EXCL |
				       O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (text_write_all(fd, pub.text, strlen(pub.text)) || sys_close(fd) ||
	    sys_rename(pub.tmp, pub.path)) {
		sys_unlinkat(AT_FDCWD, pub.tmp);
		return -1;
	}
	return 0;
}

/*
 * Best effort: a process that can write none of the directories runs
 * unlisted. at_start: the process is starting (not a mode change, nor
 * the child of a fork), the time to sweep. Callers serialize (initialization, the fork child, the kill
 * switch's lock).
 */
void percpu_publish(const char *mode, const char *reason, int at_start)
{
	const char *dir;

	compose(mode, reason);
	pub.pid = 0;
	for (unsigned int i = 0; (dir = percpu_status_dir(i)); i++)
		if (write_in(dir) == 0) {
			pub.pid = sys_getpid();
			if (at_start)
				sweep(dir);
			return;
		}
}

/* A child of fork that did not publish must not remove its parent's. */
__attribute__((destructor)) static void unpublish(void)
{
	if (pub.pid && pub.pid == sys_getpid())
		sys_unlinkat(AT_FDCWD, pub.path);
}
