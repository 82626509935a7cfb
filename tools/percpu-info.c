// SPDX-License-Identifier: MIT
/*
 * percpu-info: how percpu runs on this machine, one `key: value` a line;
 * with --pid PID or --ps, what running processes publish (their status
 * files, percpu_status_dir(3)). --json turns those same lines into JSON,
 * so the two outputs cannot say different things.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

/*
 * The length of the UTF-8 character at p, of at most left bytes, or 0 if
 * it is not one (overlong forms, surrogates and code points past U+10FFFF
 * included: JSON parsers refuse them).
 */
static size_t utf8_length(const unsigned char *p, size_t left)
{
	unsigned int c = p[0], min, n;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
	if (n > left)
		return 0;
	c &= 0x3fu >> (n - 1);
	for (unsigned int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	return c < min || c > 0x10ffff || (c >= 0xd800 && c < 0xe000) ? 0 : n;
}

/*
 * A value from the environment or the settings file, with backslashes,
 * control characters and bytes that are not UTF-8 escaped as in C: a
 * newline in it must not start a line of its own (a forged `mode:` line),
 * nor an escape sequence reach the terminal; --json then has nothing
 * more to replace.
 */
static void put_value(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;

	for (; left; p += n, left -= n) {
		n = utf8_length(p, left);
		if (*p == '\\')
			fputs("\\\\", out);
		else if (!n || *p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fwrite(p, 1, n, out);
		n = n ? n : 1;
	}
}

/* The environment options the library reads, as it read them at start. */
static void print_options(FILE *out)
{
	static const char *const names[] = {
		"PERCPU_DISABLE_RSEQ", "PERCPU_INDEX", "PERCPU_NUMA",
		"PERCPU_LEASE",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = secure_getenv(names[i]);

		fprintf(out, "option_%s: ", names[i]);
		put_value(out, v ? v : "(unset)");
		putc('\n', out);
	}
}

/* Each setting in effect and where it came from; then the file's notes. */
static void print_settings(FILE *out)
{
	struct percpu_setting s;
	const char *state, *path = percpu_settings_file(&state), *note;

	for (unsigned int i = 0; percpu_setting_get(i, &s) == 0; i++) {
		fprintf(out, "setting_%s: ", s.name);
		put_value(out, s.value);
		fprintf(out, " (%s)\n", s.source);
	}
	fputs("settings_file: ", out);
	put_value(out, path);
	fprintf(out, " (%s)\n", state);
	for (unsigned int i = 0; (note = percpu_settings_note(i)); i++) {
		fputs("settings_note: ", out);
		put_value(out, note);
		putc('\n', out);
	}
}

static void print_self(FILE *out)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	percpu_runtime_info_get(&info);
	fprintf(out, "mode: %s\n",
		info.mode == PERCPU_MODE_RSEQ ? "rseq" : "lock");
	fprintf(out, "reason: %s\n", info.reason);
	fprintf(out, "registered_by: %s\n", info.registered_by);
	/* An area registered yet unused looks like a contradiction. */
	if (info.mode == PERCPU_MODE_LOCK && strcmp(info.registered_by, "none"))
		fprintf(out, "note: rseq is registered (by %s) but percpu "
			"does not use it, for the reason above: operations "
			"take the lock path\n", info.registered_by);
	fprintf(out, "arch: %s\n", info.arch);
	fprintf(out, "rseq_feature_size: %u\n", info.rseq_feature_size);
	fprintf(out, "rseq_registered_size: %u\n", info.rseq_registered_size);
	fprintf(out, "node_id_usable: %s\n", yes_no(info.node_id_usable));
	fprintf(out, "mm_cid_usable: %s\n", yes_no(info.mm_cid_usable));
	fprintf(out, "membarrier_rseq: %s\n", yes_no(info.membarrier_rseq));
	fprintf(out, "possible_cpus: %d\n", info.nr_possible_cpus);
	fprintf(out, "shards: %d\n", info.nr_shards);
	fprintf(out, "stride: %zu\n", (size_t)PERCPU_STRIDE);
	print_options(out);
	print_settings(out);
	fprintf(out, "index: %s\n",
		info.index == PERCPU_INDEX_CID ? "cid" : "cpu");
	fprintf(out, "numa_placement: %s\n", yes_no(info.numa_placement));
	fprintf(out, "lock_leases: %s\n", yes_no(info.lock_leases));
	if (info.index_note)
		fprintf(out, "index_note: %s\n", info.index_note);
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

/* One JSON string: escaped, and bytes that are not UTF-8 as U+FFFD. */
static void json_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	putc('"', out);
	while (p < end) {
		size_t n = utf8_length(p, (size_t)(end - p));

		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else if (n)
			fwrite(p, 1, n, out);
		else
			fputs("\\ufffd", out);
		p += n ? n : 1;
	}
	putc('"', out);
}

/* One `key: value` line of a record, split; the key's length, 0 if none. */
struct line {
	const char *key, *value, *next;
	size_t key_len, value_len;
};

static int line_split(struct line *l, const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	const char *sep;

	nl = nl ? nl : end;
	l->next = nl < end ? nl + 1 : end;
	l->key = s;
	sep = memmem(s, (size_t)(nl - s), ": ", 2);
	l->key_len = sep ? (size_t)(sep - s) : 0;
	l->value = sep ? sep + 2 : nl;
	l->value_len = (size_t)(nl - l->value);
	return l->key_len > 0;
}

/* The one key a record repeats, one line per note: a JSON array. */
static int is_list(const struct line *l)
{
	return l->key_len == strlen("settings_note") &&
	       !memcmp(l->key, "settings_note", l->key_len);
}

/* Every value of the list key l starts, in order, as one JSON array. */
static void json_list(FILE *out, const struct line *first, const char *end)
{
	const char *sep = "";
	struct line l;

	fputc('[', out);
	for (const char *s = first->key; s < end; s = l.next)
		if (line_split(&l, s, end) && is_list(&l)) {
			fputs(sep, out);
			json_string(out, l.value, l.value_len);
			sep = ", ";
		}
	fputc(']', out);
}

/*
 * A record of `key: value` lines as one JSON object, each value the
 * string the text shows; the list key's values in one array, put where
 * its first line was. Lines without a key are not facts: left out.
 */
static void json_object(FILE *out, const char *rec, size_t len,
			const char *indent)
{
	const char *end = rec + len, *sep = "";
	int list_done = 0;
	struct line l;

	fputc('{', out);
	for (const char *s = rec; s < end; s = l.next) {
		if (!line_split(&l, s, end) || (is_list(&l) && list_done))
			continue;
		fprintf(out, "%s\n%s  ", sep, indent);
		json_string(out, l.key, l.key_len);
		fputs(": ", out);
		if (is_list(&l)) {
			json_list(out, &l, end);
			list_done = 1;
		} else {
			json_string(out, l.value, l.value_len);
		}
		sep = ",";
	}
	fprintf(out, "\n%s}", indent);
}

/* How to print records: as text or as JSON, and how many so far. */
struct output {
	int json;
	int many;	/* --ps: a list of records, possibly empty */
	int count;
};

static void output_record(struct output *o, const char *rec)
{
	if (o->json && o->many)
		fputs(o->count ? ",\n  " : "{\n  \"processes\": [\n  ", stdout);
	else if (o->many && o->count)
		putchar('\n');
	if (o->json)
		json_object(stdout, rec, strlen(rec), o->many ? "  " : "");
	else
		fputs(rec, stdout);
	if (o->json && !o->many)
		putchar('\n');
	o->count++;
}

static void output_end(struct output *o)
{
	if (o->json && o->many)
		fputs(o->count ? "\n  ]\n}\n" : "{\n  \"processes\": []\n}\n",
		      stdout);
}

static int print_self_record(struct output *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		perror("percpu-info");
		return 1;
	}
	print_self(f);
	if (fclose(f)) {
		perror("percpu-info");
		return 1;
	}
	output_record(o, buf);
	free(buf);
	return 0;
}

static int print_pid(struct output *o, const char *pid)
{
	char buf[4096];
	const char *dir;

	for (unsigned int i = 0; (dir = percpu_status_dir(i)); i++)
		if (read_status(dir, pid, buf, sizeof(buf))) {
			output_record(o, buf);
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

/* Every other process's status. */
static int print_all(struct output *o)
{
	char buf[4096];
	const char *dir;
	struct dirent *e;
	DIR *d;
	char self[24];

	snprintf(self, sizeof(self), "%d", (int)getpid());
	for (unsigned int i = 0; (dir = percpu_status_dir(i)); i++) {
		if (!(d = opendir(dir)))
			continue;
		while ((e = readdir(d)))
			if (is_pid(e->d_name) && strcmp(e->d_name, self) &&
			    read_status(dir, e->d_name, buf, sizeof(buf)))
				output_record(o, buf);
		closedir(d);
	}
	output_end(o);
	return 0;
}

static const char usage_text[] =
	"usage: percpu-info [--json] [--pid PID | --ps]\n"
	"       percpu-info --help | --version\n"
	"How the percpu library runs here (no option), in process PID, or in\n"
	"every process of this user that uses it (--ps); see percpu-info(1).\n"
	"  --json     the same facts as one JSON object\n"
	"  --help     this text\n"
	"  --version  the version of the percpu library\n";

static int usage(FILE *out, int status)
{
	fputs(usage_text, out);
	return status;
}

/* The running library's version, which may differ from the headers'. */
static int print_version(void)
{
	unsigned int v = percpu_version();

	printf("percpu-info (percpu) %u.%u.%u\n", v >> 16, (v >> 8) & 0xff,
	       v & 0xff);
	return 0;
}

enum { OPT_JSON = 1, OPT_PID, OPT_PS, OPT_HELP, OPT_VERSION };

/* What the options ask for; its exit status. */
static int run(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "ps", no_argument, NULL, OPT_PS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct output o = { 0, 0, 0 };
	const char *pid = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1)
		switch (c) {
		case OPT_JSON: o.json = 1; break;
		case OPT_PID: pid = optarg; break;
		case OPT_PS: o.many = 1; break;
		case OPT_HELP: return usage(stdout, 0);
		case OPT_VERSION: return print_version();
		default: return usage(stderr, 2);
		}
	if (optind < argc || (pid && (o.many || !is_pid(pid))))
		return usage(stderr, 2);
	if (o.many)
		return print_all(&o);
	return pid ? print_pid(&o, pid) : print_self_record(&o);
}

/* A full disk or a closed pipe must not pass for success. */
int main(int argc, char **argv)
{
	int status = run(argc, argv);

	if (fflush(stdout) || ferror(stdout)) {
		perror("percpu-info: standard output");
		return 1;
	}
	return status;
}
