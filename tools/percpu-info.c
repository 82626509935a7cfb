// SPDX-License-Identifier: MIT
/*
 * percpu-info: how percpu runs on this machine, one `key: value` a line;
 * with --pid PID or --ps, what running processes publish (their status
 * files, percpu_status_dir(3)).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <percpu.h>

static const char *yes_no(int b)
{
	return b ? "yes" : "no";
}

/* The environment options the library reads, as it read them at start. */
static void print_options(void)
{
	static const char *const names[] = {
		"PERCPU_DISABLE_RSEQ", "PERCPU_INDEX", "PERCPU_NUMA",
		"PERCPU_LEASE",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = secure_getenv(names[i]);

		printf("option_%s: %s\n", names[i], v ? v : "(unset)");
	}
}

/* Each setting in effect and where it came from; then the file's notes. */
static void print_settings(void)
{
	struct percpu_setting s;
	const char *state, *path = percpu_settings_file(&state), *note;

	for (unsigned int i = 0; percpu_setting_get(i, &s) == 0; i++)
		printf("setting_%s: %s (%s)\n", s.name, s.value, s.source);
	printf("settings_file: %s (%s)\n", path, state);
	for (unsigned int i = 0; (note = percpu_settings_note(i)); i++)
		printf("settings_note: %s\n", note);
}

static int print_self(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	percpu_runtime_info_get(&info);
	printf("mode: %s\n", info.mode == PERCPU_MODE_RSEQ ? "rseq" : "lock");
	printf("reason: %s\n", info.reason);
	printf("registered_by: %s\n", info.registered_by);
	printf("arch: %s\n", info.arch);
	printf("rseq_feature_size: %u\n", info.rseq_feature_size);
	printf("rseq_registered_size: %u\n", info.rseq_registered_size);
	printf("node_id_usable: %s\n", yes_no(info.node_id_usable));
	printf("mm_cid_usable: %s\n", yes_no(info.mm_cid_usable));
	printf("membarrier_rseq: %s\n", yes_no(info.membarrier_rseq));
	printf("possible_cpus: %d\n", info.nr_possible_cpus);
	printf("shards: %d\n", info.nr_shards);
	printf("stride: %zu\n", (size_t)PERCPU_STRIDE);
	print_options();
	print_settings();
	printf("index: %s\n", info.index == PERCPU_INDEX_CID ? "cid" : "cpu");
	printf("numa_placement: %s\n", yes_no(info.numa_placement));
	printf("lock_leases: %s\n", yes_no(info.lock_leases));
	if (info.index_note)
		printf("index_note: %s\n", info.index_note);
	return 0;
}

/* Field 22 of /proc/PID/stat, the start time: "" if unreadable. */
static void start_time(const char *pid, char *out, size_t len)
{
	char path[64], buf[1024], *p;
	FILE *f;
	int field = 2;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (!(f = fopen(path, "r")))
		return;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	for (p = p ? strrchr(buf, ')') : NULL; p && *p && field < 22; p++)
		field += *p == ' ';
	if (p && field == 22)
		snprintf(out, len, "%.*s", (int)strcspn(p, " \n"), p);
}

/* Whether buf has the start time and the executable of process pid. */
static int same_process(const char *buf, const char *pid)
{
	char path[64], start[32], want[96];
	struct stat exe;

	start_time(pid, start, sizeof(start));
	snprintf(want, sizeof(want), "\nstart: %s\n", start);
	if (!*start || !strstr(buf, want))
		return 0;
	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	if (stat(path, &exe))
		return 0;
	snprintf(want, sizeof(want), "\nexe: %lu:%lu\n",
		 (unsigned long)exe.st_dev, (unsigned long)exe.st_ino);
	return strstr(buf, want) != NULL;
}

/*
 * The status file of PID in dir, if it is that process's: owned by the
 * process's user (nobody else can write there under that name), written
 * since it started (not left by a dead process of the same pid), by the
 * program it runs (not before an exec). Returns the text read, or NULL.
 */
static char *read_status(const char *dir, const char *pid, char *buf,
			 size_t len)
{
	char path[4096];
	struct stat proc, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s", pid);
	if (stat(path, &proc))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, pid);
	/* O_NONBLOCK: a FIFO planted there must not hang the reader. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = fstat(fd, &st) || !S_ISREG(st.st_mode) ||
			    st.st_uid != proc.st_uid ? -1 :
		read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return same_process(buf, pid) ? buf : NULL;
}

static int print_pid(const char *pid)
{
	char buf[4096];
	const char *dir;

	for (unsigned int i = 0; (dir = percpu_status_dir(i)); i++)
		if (read_status(dir, pid, buf, sizeof(buf))) {
			fputs(buf, stdout);
			return 0;
		}
	fprintf(stderr, "percpu-info: no status for process %s (not using "
		"percpu, or not this user's)\n", pid);
	return 1;
}

static int is_pid(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* Every other process's status, a blank line between two. */
static int print_all(void)
{
	char buf[4096];
	const char *dir;
	struct dirent *e;
	DIR *d;
	int first = 1;
	char self[24];

	snprintf(self, sizeof(self), "%d", (int)getpid());
	for (unsigned int i = 0; (dir = percpu_status_dir(i)); i++) {
		if (!(d = opendir(dir)))
			continue;
		while ((e = readdir(d)))
			if (is_pid(e->d_name) && strcmp(e->d_name, self) &&
			    read_status(dir, e->d_name, buf, sizeof(buf))) {
				printf("%s%s", first ? "" : "\n", buf);
				first = 0;
			}
		closedir(d);
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: percpu-info [--pid PID | --ps]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 1)
		return print_self();
	if (argc == 2 && !strcmp(argv[1], "--ps"))
		return print_all();
	if (argc == 3 && !strcmp(argv[1], "--pid") && is_pid(argv[2]))
		return print_pid(argv[2]);
	return usage();
}
