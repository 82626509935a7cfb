// SPDX-License-Identifier: MIT
/*
 * src/runtime/settings.c: the settings the library reads at start, each from the
 * environment, else from the host-wide settings file, else its built-in
 * default, and where each came from. The file lets an operator turn the
 * fast path off for every process that starts on a host without touching
 * how each is started.
 *
 * This runs underneath malloc (libpercpu-malloc initializes the library on
 * its first allocation), so the file is read with open and read into a
 * static buffer, and every string kept is in static storage.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"
#include "runtime/settings.h"
#include "runtime/sys.h"
#include "runtime/text.h"

#ifndef PERCPU_SYSCONFDIR
#define PERCPU_SYSCONFDIR "/etc"
#endif
#define DEFAULT_PATH PERCPU_SYSCONFDIR "/percpu.conf"
/* Far more than the four lines it needs: a longer file is ignored whole,
 * not read in part, so that what is applied is what the operator wrote. */
#define FILE_MAX 4096
#define VALUE_MAX 8
#define NOTES 8
#define NOTE_MAX 96

static const char *const zero_one[] = { "0", "1", NULL };
static const char *const cpu_cid[] = { "cpu", "cid", NULL };

static struct setting {
	const char *name, *env, *fallback;
	const char *const *accepted;	/* the values the file may give */
	const char *value;		/* NULL: the default */
	const char *source;
} table[SETTINGS] = {
	[SETTING_DISABLE_RSEQ] = { "disable_rseq", "PERCPU_DISABLE_RSEQ", "0",
				   zero_one, NULL, "default" },
	[SETTING_INDEX] = { "index", "PERCPU_INDEX", "cpu", cpu_cid, NULL,
			    "default" },
	[SETTING_LEASES] = { "leases", "PERCPU_LEASE", "1", zero_one, NULL,
			     "default" },
	[SETTING_NUMA] = { "numa", "PERCPU_NUMA", "auto", zero_one, NULL,
			   "default" },
};

/* What one reading of the file set. */
struct file_values {
	char text[SETTINGS][VALUE_MAX];
	int set[SETTINGS];
};

static struct {
	pthread_mutex_t lock;	/* one reload at a time */
	const char *path;
	int path_from_env;
	const char *state;	/* "absent", "read" or "ignored" */
	char buf[FILE_MAX + 1];
	struct file_values at_start, reloaded;
	char notes[NOTES][NOTE_MAX];
	unsigned int nr_notes;
} file = { .lock = PTHREAD_MUTEX_INITIALIZER, .state = "absent" };

/* "line N: subject: what", or "subject: what" for the file as a whole. */
static void note(unsigned int line, const char *subject, const char *what)
{
	struct text t;

	if (file.nr_notes == NOTES)
		return;
	t = (struct text){ file.notes[file.nr_notes], NOTE_MAX, 0 };
	if (line) {
		text_add(&t, "line ");
		text_add_uint(&t, line);
		text_add(&t, ": ");
	}
	text_add(&t, subject);
	text_add(&t, ": ");
	text_add(&t, what);
	__atomic_store_n(&file.nr_notes, file.nr_notes + 1, __ATOMIC_RELEASE);
}

/*
 * Whoever may write the file decides for every process that reads it. The
 * default path must be root's. A path given by PERCPU_CONF may also be the
 * process's own user's: secure_getenv() gives no PERCPU_CONF to a
 * set-user-ID program, and any other program's user could as well set the
 * variables the file stands for. Either way, nobody else may write it.
 */
static const char *refusal(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file: ignored";
	if (st->st_uid != 0 &&
	    !(file.path_from_env && st->st_uid == sys_geteuid()))
		return file.path_from_env ?
			"owned by neither root nor this user: ignored" :
			"not owned by root: ignored";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others: ignored";
	return NULL;
}

/* O_NONBLOCK: a FIFO put there must not hang the program's start. */
static int open_checked(void)
{
	int fd = sys_open(file.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
			  0);
	struct stat st;
	const char *why;

	if (fd < 0) {
		file.state = errno == ENOENT ? "absent" : "ignored";
		if (errno != ENOENT)
			note(0, file.path, "cannot be opened: ignored");
		return -1;
	}
	why = sys_fstat(fd, &st) ? "cannot be examined: ignored" : refusal(&st);
	if (why) {
		file.state = "ignored";
		note(0, file.path, why);
		sys_close(fd);
		return -1;
	}
	return fd;
}

/* The file's bytes, NUL-terminated in file.buf; -1 if too long or unread. */
static int read_all(int fd)
{
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(file.buf) &&
	       ((n = sys_read(fd, file.buf + len, sizeof(file.buf) - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	if (len > FILE_MAX || n < 0) {
		note(0, file.path, n < 0 ? "cannot be read: ignored" :
					   "longer than 4096 bytes: ignored");
		return -1;
	}
	file.buf[len] = '\0';
	return 0;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Cut the blanks at s's end and return s past those at its start. */
static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (end > s && blank(end[-1]))
		*--end = '\0';
	while (blank(*s))
		s++;
	return s;
}

static int lookup(const char *key)
{
	for (int i = 0; i < SETTINGS; i++)
		if (!strcmp(table[i].name, key))
			return i;
	return -1;
}

static int accepted(const char *const *list, const char *value)
{
	for (; *list; list++)
		if (!strcmp(*list, value))
			return 1;
	return 0;
}

/* `key = value`, blanks around either, `#` to the end of a line. */
static void parse_line(char *line, unsigned int n, struct file_values *fv)
{
	char *hash = strchr(line, '#'), *eq, *key, *value;
	int id;

	if (hash)
		*hash = '\0';
	key = trim(line);
	if (!*key)
		return;
	if (!(eq = strchr(key, '='))) {
		note(n, key, "no '=': line ignored");
		return;
	}
	*eq = '\0';
	key = trim(key);
	value = trim(eq + 1);
	id = lookup(key);
	if (id < 0) {
		note(n, key, "unknown key: line ignored");
	} else if (!accepted(table[id].accepted, value)) {
		note(n, key, id == SETTING_INDEX ? "not cpu or cid: line ignored" :
						   "not 0 or 1: line ignored");
	} else {
		strcpy(fv->text[id], value);
		fv->set[id] = 1;
	}
}

static void read_file(struct file_values *fv)
{
	int fd, unread;
	unsigned int n = 1;

	memset(fv, 0, sizeof(*fv));
	__atomic_store_n(&file.nr_notes, 0, __ATOMIC_RELEASE);
	if ((fd = open_checked()) < 0)
		return;
	unread = read_all(fd);
	sys_close(fd);
	file.state = unread ? "ignored" : "read";
	for (char *line = file.buf, *nl; !unread && line; line = nl, n++) {
		if ((nl = strchr(line, '\n')))
			*nl++ = '\0';
		parse_line(line, n, fv);
	}
}

/* An empty variable counts as unset: `PERCPU_INDEX= prog` asks nothing. */
static void choose(enum setting_id id)
{
	struct setting *s = &table[id];
	const char *v = secure_getenv(s->env);

	if (v && *v) {
		s->value = v;
		s->source = "environment";
	} else if (file.at_start.set[id]) {
		s->value = file.at_start.text[id];
		s->source = "file";
	}
}

void percpu_settings_load(void)
{
	const char *env_path = secure_getenv("PERCPU_CONF");

	file.path_from_env = env_path && *env_path;
	file.path = file.path_from_env ? env_path : DEFAULT_PATH;
	read_file(&file.at_start);
	for (int id = 0; id < SETTINGS; id++)
		choose((enum setting_id)id);
}

/* A reload nests the kill switch's lock in this one (runtime.c's fork
 * handlers take them in that order). */
void percpu_settings_fork_prepare(void)
{
	pthread_mutex_lock(&file.lock);
}

void percpu_settings_fork_parent(void)
{
	pthread_mutex_unlock(&file.lock);
}

void percpu_settings_fork_child(void)
{
	pthread_mutex_init(&file.lock, NULL);
}

const char *percpu_setting_value(enum setting_id id)
{
	return __atomic_load_n(&table[id].value, __ATOMIC_ACQUIRE);
}

int percpu_setting_from_file(enum setting_id id)
{
	return !strcmp(__atomic_load_n(&table[id].source, __ATOMIC_ACQUIRE),
		       "file");
}

int percpu_setting_disables(const char *value)
{
	return value && *value && strcmp(value, "0") != 0;
}

/*
 * Only disable_rseq takes effect in a running process: the indexing and
 * the NUMA placement shaped memory already handed out, and leases are
 * decided with the mode. The environment still wins over the file.
 */
int percpu_reload_settings(void)
{
	struct setting *s = &table[SETTING_DISABLE_RSEQ];
	const struct file_values *fv = &file.reloaded;

	percpu_init();
	pthread_mutex_lock(&file.lock);
	read_file(&file.reloaded);
	if (strcmp(s->source, "environment") && fv->set[SETTING_DISABLE_RSEQ] &&
	    percpu_setting_disables(fv->text[SETTING_DISABLE_RSEQ])) {
		__atomic_store_n(&s->value, "1", __ATOMIC_RELEASE);
		__atomic_store_n(&s->source, "file", __ATOMIC_RELEASE);
		percpu_process_disable("disabled by percpu_reload_settings(): "
				       "disable_rseq in the settings file");
	}
	pthread_mutex_unlock(&file.lock);
	return 0;
}

int percpu_setting_get(unsigned int i, struct percpu_setting *out)
{
	const struct setting *s;

	if (i >= SETTINGS || !out) {
		errno = i >= SETTINGS ? ENOENT : EINVAL;
		return -1;
	}
	percpu_init();
	s = &table[i];
	out->name = s->name;
	out->env = s->env;
	out->value = percpu_setting_value((enum setting_id)i);
	if (!out->value)
		out->value = s->fallback;
	out->source = __atomic_load_n(&s->source, __ATOMIC_ACQUIRE);
	return 0;
}

const char *percpu_settings_file(const char **state)
{
	percpu_init();
	if (state)
		*state = file.state;
	return file.path;
}

const char *percpu_settings_note(unsigned int i)
{
	percpu_init();
	return i < __atomic_load_n(&file.nr_notes, __ATOMIC_ACQUIRE) ?
		       file.notes[i] : NULL;
}
