// SPDX-License-Identifier: MIT
/*
 * tools/bench/output.c: percpu-bench's output: the medians as a table or
 * as CSV rows on stdout, each row's mode as its threads really ran, and on
 * stderr the figures that a busy machine, a mode other than the one asked
 * for, or many empty list or stack pairs may have distorted.
 */
#include <gnu/libc-version.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "bench.h"

/* Shards are concurrency ids (PERCPU_INDEX=cid): rows say so. */
static int cid;

void check_index(void)
{
	struct percpu_runtime_info info = { .size = sizeof(info) };

	percpu_runtime_info_get(&info);
	cid = info.index == PERCPU_INDEX_CID;
}

int cid_indexed(void)
{
	return cid;
}

/* What the threads really ran in, never what the row hoped for; add_cid's
 * samples come from children indexed by concurrency id. */
const char *mode_label(const struct impl *im, unsigned int modes)
{
	int cid_row = cid || im->path == PATH_RSEQ_CID;

	static const char *const names[2][3] = {
		{ "rseq", "lock", "mixed" },
		{ "rseq_cid", "lock_cid", "mixed_cid" },
	};

	if (im->path == PATH_NONE)
		return "-";
	if (modes == 1u << PERCPU_MODE_RSEQ)
		return names[cid_row][0];
	if (modes == 1u << PERCPU_MODE_LOCK)
		return names[cid_row][1];
	return names[cid_row][2];
}

static const char *row_mode(unsigned int i)
{
	unsigned int modes = 0;

	for (int t = 0; t < nr_thread_counts; t++)
		modes |= figures[i][t].modes;
	return mode_label(&impls[i], modes);
}

/* A row that could not run here (no rseq from glibc) says n/a. */
void print_csv(void)
{
	printf("benchmark,mode,threads,ns_per_op\n");
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++) {
			const struct figure *f = &figures[i][t];

			printf("%s,%s,%d,", impls[i].name,
			       mode_label(&impls[i], f->modes),
			       thread_counts[t]);
			if (f->na)
				printf("n/a\n");
			else
				printf("%.2f\n", f->median);
		}
}

/* The first line of `path` that starts with `key`, after the key and any
 * ": ", into buf; "?" if there is none. */
static const char *file_line(const char *path, const char *key, char *buf,
			     size_t size)
{
	FILE *f = fopen(path, "r");
	size_t klen = strlen(key);

	snprintf(buf, size, "?");
	while (f && fgets(buf, (int)size, f)) {
		if (!strncmp(buf, key, klen)) {
			char *v = buf + klen;

			v += strspn(v, " \t:");
			memmove(buf, v, strlen(v) + 1);
			buf[strcspn(buf, "\n")] = 0;
			fclose(f);
			return buf;
		}
	}
	if (f)
		fclose(f);
	snprintf(buf, size, "?");
	return buf;
}

/* Keeps the first n space-separated fields of s. */
static void cut_fields(char *s, int n)
{
	for (char *p = s; *p; p++)
		if (*p == ' ' && --n == 0) {
			*p = 0;
			return;
		}
}

/* What the figures depend on: the CPU, kernel, C library, CPUs, load. */
static void print_machine(void)
{
	struct utsname u;
	char cpu[256], load[64];

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	file_line("/proc/loadavg", "", load, sizeof(load));
	cut_fields(load, 3);
	printf("machine: %s; Linux %s; glibc %s; %ld CPUs online; load "
	       "average %s\n",
	       file_line("/proc/cpuinfo", "model name", cpu, sizeof(cpu)),
	       u.release, gnu_get_libc_version(),
	       sysconf(_SC_NPROCESSORS_ONLN),
	       load);
}

/* Over half of a figure's samples: its median is what they measured. */
static int most(unsigned int flagged)
{
	return flagged * 2 > nr_samples();
}

static unsigned int name_width(void)
{
	size_t w = strlen("benchmark");

	for (unsigned int i = 0; i < NR_IMPLS; i++)
		if (!skipped[i] && strlen(impls[i].name) > w)
			w = strlen(impls[i].name);
	return (unsigned int)w;
}

static int row_selected(const char *name)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		if (!skipped[i] && !strcmp(impls[i].name, name))
			return 1;
	return 0;
}

static void print_cell(const struct figure *f)
{
	if (f->na) {
		printf(" %13s ", "n/a");
		return;
	}
	printf(" %13.2f%c", f->median,
	       most(f->busy) ? '*' : most(f->empty) ? '~' : ' ');
}

void print_table(void)
{
	int w = (int)name_width();

	print_machine();
	printf("ns per operation per thread, median of %u repetitions x %u "
	       "placements x %u ms\n\n", opt.reps, opt.placements, opt.ms);
	printf("%-*s %-9s", w, "benchmark", "mode");
	for (int t = 0; t < nr_thread_counts; t++)
		printf(" %7d thread%s", thread_counts[t],
		       thread_counts[t] > 1 ? "s" : " ");
	printf("\n");
	for (unsigned int i = 0; i < NR_IMPLS; i++) {
		if (skipped[i])
			continue;
		printf("%-*s %-9s", w, impls[i].name, row_mode(i));
		for (int t = 0; t < nr_thread_counts; t++)
			print_cell(&figures[i][t]);
		printf("\n");
	}
	printf("\n* over half the samples had threads off a CPU (machine "
	       "busy, or blocked in a mutex)\n~ over half the samples had "
	       "over 1%% of their pairs pop nothing\n");
	if (row_selected("fence_remote"))
		printf("fence_remote: one percpu_remote() on each shard in "
		       "turn, holding it and fencing its CPU: microseconds\n");
}

/* A row meant for rseq that ran otherwise is said so, on stderr. */
void warn_modes(void)
{
	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++) {
			const char *m = mode_label(&impls[i],
						   figures[i][t].modes);

			if ((impls[i].path == PATH_RSEQ ||
			     impls[i].path == PATH_RSEQ_CID) &&
			    !figures[i][t].na && strncmp(m, "rseq", 4))
				fprintf(stderr, "percpu-bench: %s, %d "
					"thread(s): ran in %s mode, not rseq\n",
					impls[i].name, thread_counts[t], m);
		}
}

/* One line on stderr: how many figures `flagged` marks, and how many more
 * it touched. */
static void warn_reps(const char *what, char mark,
		      unsigned int (*flagged)(const struct figure *))
{
	unsigned int marked = 0, touched = 0;

	for (unsigned int i = 0; i < NR_IMPLS; i++)
		for (int t = 0; t < nr_thread_counts && !skipped[i]; t++) {
			unsigned int n = flagged(&figures[i][t]);

			marked += most(n);
			touched += n && !most(n);
		}
	if (marked || touched)
		fprintf(stderr, "percpu-bench: %u figures marked %c (%s in over "
			"half their samples), %u more in some\n", marked,
			mark, what, touched);
}

static unsigned int busy_reps(const struct figure *f)
{
	return f->busy;
}

static unsigned int empty_reps(const struct figure *f)
{
	return f->empty;
}

/* Wall time includes waiting for a CPU: say which figures other load may
 * have hit; a median is inflated only if more than half its samples
 * were. Contended mutex threads also sleep, so theirs may be legitimate.
 * Pairs that popped nothing are cheaper: say which figures have many. */
void warn_reps_all(void)
{
	warn_reps("threads off a CPU over 10% of the time", '*', busy_reps);
	warn_reps("over 1% of the list or stack pairs popping nothing", '~',
		  empty_reps);
}
