// SPDX-License-Identifier: MIT
/*
 * fuzz/registry.c: libFuzzer harness for the registry and its exposition.
 * The input is a sequence of operations, an opcode byte each followed by
 * its operands, on two registries: register counters, gauges, updowns and
 * histograms with fuzzed names, help and labels (any bytes: quotes,
 * backslashes, newlines, text that is not UTF-8, empty, long), update them
 * with fuzzed values (negative, huge), histograms with fuzzed ranges and
 * scales (0, negative, NaN, inf, denormal, huge), set fuzzed limits, and
 * export.
 *
 * Every export is read back by a strict parser of the exposition written
 * here, independent of the library's checks: each line a # HELP, a # TYPE
 * or a sample of the family last typed, valid names, label values with
 * only the three escapes, UTF-8 throughout, numbers for values, finite
 * `le` but "+Inf", no series twice. Each series registered must appear,
 * with the value the harness expects. percpu_registry_format() must agree
 * with percpu_registry_write() and keep its contract at every buffer size
 * around the length. percpu_registry_write_openmetrics() must give the
 * same lines one for one, each sample with the same value, then # EOF,
 * and no family typed twice (a counter's family is its name without
 * _total there, so the registry must keep name and name_total apart when
 * one is a counter). A failed registration must return NULL with a
 * documented errno and leave the exposition as it was; one that succeeds
 * must have been given a valid name, help and labels. A broken invariant
 * aborts: libFuzzer keeps the input.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <percpu.h>
#include "lib/exposition.h"

#define REGISTRIES 2
#define MAX_OPS 64
#define MAX_TRACKED 64
/* Above this length an export checks the edges and a few sizes between,
 * not every one: each call builds the whole text, so a sweep is quadratic,
 * and the call only tells size 0, too small and enough apart. */
#define SWEEP_MAX 128


struct input {
	const uint8_t *p;
	size_t n;
};

/* Operands past the end of the input read as 0. */
static unsigned int take8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static unsigned int take16(struct input *in)
{
	return take8(in) | take8(in) << 8;
}

static uint64_t take64(struct input *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)take8(in) << (8 * i);
	return v;
}

enum kind { COUNTER, GAUGE, UPDOWN, HISTOGRAM };

/* A series the harness registered, and what its exposition must say. */
struct tracked {
	int reg;
	enum kind kind;
	char *key;		/* name{canonical labels} */
	char *count_key;	/* histograms: name_count{labels} */
	void *metric;
	uint64_t value;		/* counter (mod 2^64), gauge, updown; count */
};

static struct {
	struct percpu_registry *r[REGISTRIES];
	struct tracked t[MAX_TRACKED];
	int nr;
} st;

/* ---- strings ---- */

static const char *const names[] = {
	"a", "a_total", "a_bucket", "a_sum", "a_count", "b", "b_sum",
	":c:", "_", "__x", "a1", "le", "9a", "a-b", "",
};

/* Raw bytes from the input, a name from the table, or a long run. */
static void fuzz_text(struct input *in, struct buf *b)
{
	unsigned int c = take8(in), n;

	switch (c % 4) {
	case 0:
		puts_(b, names[c / 4 % (sizeof(names) / sizeof(names[0]))]);
		return;
	case 1:
		n = take16(in) % 5000;
		for (unsigned int i = 0; i < n; i++)
			put(b, (const char[]){ (char)(c / 4 % 2 ? 'x' : 0xe9) }, 1);
		return;
	default:
		n = take8(in) % 32;
		for (unsigned int i = 0; i < n && in->n; i++)
			put(b, (const char[]){ (char)take8(in) }, 1);
		return;
	}
}

/* NULL sometimes; otherwise fuzz_text (a NUL byte ends it early). */
static char *fuzz_string(struct input *in, struct buf *b)
{
	b->len = 0;
	put(b, "", 0);
	if (take8(in) % 8 == 0)
		return NULL;
	fuzz_text(in, b);
	return b->p;
}

/* Pairs key="value", the value escaped or raw, spaces after commas or not;
 * or NULL, or raw text. */
static char *fuzz_labels(struct input *in, struct buf *b)
{
	unsigned int c = take8(in), n = c / 4 % 6;
	static const char *const esc[] = { "\\\\", "\\\"", "\\n", "\\t", "\"",
					   "\n", "\\" };

	b->len = 0;
	put(b, "", 0);
	if (c % 4 == 0)
		return NULL;
	if (c % 4 == 1) {
		fuzz_text(in, b);
		return b->p;
	}
	for (unsigned int i = 0; i < n; i++) {
		unsigned int v = take8(in);

		if (i)
			puts_(b, v % 5 == 0 ? ",  " : v % 5 == 1 ? ", " : ",");
		fuzz_text(in, b);
		puts_(b, "=\"");
		if (v / 8 % 4 == 0)
			puts_(b, esc[v / 32 % 7]);
		fuzz_text(in, b);
		puts_(b, "\"");
	}
	return b->p;
}

static double fuzz_scale(struct input *in)
{
	static const double special[] = {
		1, 1e-9, 1e-3, 0, -1, 1e269, 1e270, 1.7976931348623157e308,
		4.9406564584124654e-324, 2.2250738585072014e-308,
	};
	unsigned int c = take8(in);
	uint64_t bits;
	double d;

	if (c % 4 == 0) {
		bits = take64(in);
		memcpy(&d, &bits, sizeof(d));
		return d;	/* NaN and inf among them */
	}
	if (c % 4 == 1)
		return c % 8 == 1 ? INFINITY : NAN;
	return special[c / 4 % (sizeof(special) / sizeof(special[0]))];
}

/* Each series registered in registry i is there with its value. */
static void check_tracked(const struct exposition *e, int reg)
{
	char want[32];
	const char *v;

	for (int i = 0; i < st.nr; i++) {
		const struct tracked *t = &st.t[i];

		if (t->reg != reg)
			continue;
		v = find_value(e, t->kind == HISTOGRAM ? t->count_key : t->key);
		CHECK(v, "series %s missing", t->key);
		if (t->kind == COUNTER || t->kind == HISTOGRAM)
			snprintf(want, sizeof(want), "%" PRIu64, t->value);
		else
			snprintf(want, sizeof(want), "%" PRId64,
				 (int64_t)t->value);
		CHECK(!strcmp(v, want), "%s is %s, not %s", t->key, v, want);
	}
}

/* ---- exports ---- */

static char *write_text(struct percpu_registry *r, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	CHECK(f, "open_memstream");
	CHECK(percpu_registry_write(r, f) == 0, "write: errno %d", errno);
	CHECK(fclose(f) == 0, "fclose");
	return text;
}

/* percpu_registry_format into exactly `size` bytes (ASan sees a write
 * past them): the text if it fits, else ERANGE and "" with the length. */
static void check_format(struct percpu_registry *r, const char *text,
			 size_t len, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	size_t got = SIZE_MAX;
	int rc;

	CHECK(!size || buf, "out of memory");
	errno = 0;
	rc = percpu_registry_format(r, buf, size, &got);
	CHECK(got == len, "format(%zu): length %zu, not %zu", size, got, len);
	if (size > len)
		CHECK(rc == 0 && !memcmp(buf, text, len + 1),
		      "format(%zu) differs from write", size);
	else
		CHECK(rc == -1 && errno == ERANGE && (!size || !buf[0]),
		      "format(%zu) of %zu: %d, errno %d", size, len, rc, errno);
	free(buf);
}

/* Every size 0..len+2 for a short text; the edges and a few between for a
 * long one (each call builds the whole text). */
static void check_formats(struct percpu_registry *r, const char *text,
			  size_t len)
{
	size_t got;

	errno = 0;
	CHECK(percpu_registry_format(r, NULL, 1, &got) == -1 && errno == EINVAL,
	      "format into NULL, size 1");
	if (len <= SWEEP_MAX) {
		for (size_t size = 0; size <= len + 2; size++)
			check_format(r, text, len, size);
		return;
	}
	for (size_t size = 0; size <= 2; size++) {
		check_format(r, text, len, size);
		check_format(r, text, len, len + size);
	}
	for (size_t k = 1; k < 8; k++)
		check_format(r, text, len, len * k / 8);
}

/* The name a # TYPE line types, as a string to free(). */
static char *typed_name(const char *line, const char *end)
{
	const char *name = line + strlen("# TYPE ");
	const char *space = memchr(name, ' ', (size_t)(end - name));

	CHECK(space, "a # TYPE line without a type");
	return strndup(name, (size_t)(space - name));
}

/* The value of a sample line: what follows its last space. */
static const char *sample_value(const char *line, const char *end,
				size_t *n)
{
	const char *v = end;

	while (v > line && v[-1] != ' ')
		v--;
	*n = (size_t)(end - v);
	return v;
}

static void check_typed_once(char **typed, int nr, const char *name)
{
	for (int i = 0; i < nr; i++)
		CHECK(strcmp(typed[i], name), "OpenMetrics: %s typed twice", name);
}

/* OpenMetrics against the 0.0.4 text: line for line, then # EOF. */
static void check_openmetrics(int reg, const char *text, size_t len)
{
	char *om = NULL, *typed[MAX_TRACKED + 1];
	size_t om_len, n, m;
	FILE *f = open_memstream(&om, &om_len);
	const char *p = text, *o, *pe, *oe, *om_end;
	int nr = 0;

	CHECK(f, "open_memstream");
	CHECK(percpu_registry_write_openmetrics(st.r[reg], f) == 0,
	      "write_openmetrics: errno %d", errno);
	CHECK(fclose(f) == 0, "fclose");
	CHECK(om_len >= 6 && !strcmp(om + om_len - 6, "# EOF\n"),
	      "OpenMetrics does not end with # EOF");
	om_end = om + om_len - 6;
	for (o = om; p < text + len; p = pe + 1, o = oe + 1) {
		pe = strchr(p, '\n');
		CHECK(o < om_end, "OpenMetrics has fewer lines");
		oe = strchr(o, '\n');
		if (!strncmp(o, "# TYPE ", 7)) {
			CHECK(nr <= MAX_TRACKED, "more families than series");
			typed[nr] = typed_name(o, oe);
			check_typed_once(typed, nr, typed[nr]);
			nr++;
		} else if (*p != '#') {
			const char *pv = sample_value(p, pe, &n);
			const char *ov = sample_value(o, oe, &m);

			CHECK(n == m && !memcmp(pv, ov, n),
			      "OpenMetrics: another value, %.*s", (int)m, ov);
		}
	}
	CHECK(o == om_end, "OpenMetrics has more lines");
	while (nr)
		free(typed[--nr]);
	free(om);
}

static void export_and_check(int reg)
{
	struct exposition e = { 0 };
	size_t len;
	char *text = write_text(st.r[reg], &len);

	read_exposition(&e, text, len);
	check_tracked(&e, reg);
	check_formats(st.r[reg], text, len);
	check_openmetrics(reg, text, len);
	exposition_free(&e);
	free(text);
}

/* ---- operations ---- */

/* The series key the harness expects for labels given to a registration,
 * or NULL if they are malformed (then it must fail). */
static char *expected_key(const char *name, const char *suffix,
			  const char *labels)
{
	struct pair prs[MAX_PAIRS];
	const char *rest;
	struct buf b = { 0 };
	char *key;
	int n = labels ? parse_pairs(labels, '\0', 1, prs, &rest) : 0;

	if (n < 0)
		return NULL;
	puts_(&b, name);
	puts_(&b, suffix);
	key = series_key(b.p, b.len, prs, n);
	free(b.p);
	return key;
}

static int name_valid(const char *name)
{
	return name && name_len(name, 1) == strlen(name);
}

/* NULL, or UTF-8 that says something: not "" nor only blanks. */
static int help_valid(const char *help)
{
	return !help ||
	       (help[strspn(help, " \t")] && utf8_valid(help, strlen(help)));
}

static int errno_documented(int err)
{
	return err == EINVAL || err == E2BIG || err == ENOSPC ||
	       err == EEXIST || err == ENOMEM || err == ENOTSUP;
}

static void *do_register(int reg, enum kind kind, const char *name,
			 const char *help, const char *labels,
			 uint64_t highest, double scale)
{
	struct percpu_registry *r = st.r[reg];

	switch (kind) {
	case COUNTER:
		return percpu_registry_counter(r, name, help, labels);
	case GAUGE:
		return percpu_registry_gauge(r, name, help, labels);
	case UPDOWN:
		return percpu_registry_updown(r, name, help, labels);
	case HISTOGRAM:
		return percpu_registry_histogram(r, name, help, labels, highest,
						 scale);
	}
	return NULL;
}

static struct tracked *find_tracked(int reg, const char *key)
{
	for (int i = 0; i < st.nr; i++)
		if (st.t[i].reg == reg && !strcmp(st.t[i].key, key))
			return &st.t[i];
	return NULL;
}

/* A registration that succeeded: the same metric as before for a series
 * known, else a new one to track. Takes key. */
static void registered(int reg, enum kind kind, char *key, const char *name,
		       const char *labels, void *m)
{
	struct tracked *t = find_tracked(reg, key);

	if (t) {
		CHECK(t->metric == m && t->kind == kind,
		      "%s registered again: another metric", key);
		free(key);
		return;
	}
	CHECK(st.nr < MAX_TRACKED, "too many series");
	t = &st.t[st.nr++];
	*t = (struct tracked){ reg, kind, key, NULL, m, 0 };
	if (kind == HISTOGRAM)
		t->count_key = expected_key(name, "_count", labels);
}

static void op_register(struct input *in)
{
	struct buf nb = { 0 }, hb = { 0 }, lb = { 0 };
	unsigned int c = take8(in);
	int reg = (int)(c / 4 % REGISTRIES);
	enum kind kind = (enum kind)(c % 4);
	char *name = fuzz_string(in, &nb), *help = fuzz_string(in, &hb);
	char *labels = fuzz_labels(in, &lb), *key, *before, *after;
	uint64_t highest = take64(in) >> (take8(in) % 64);
	double scale = kind == HISTOGRAM ? fuzz_scale(in) : 1;
	size_t len;
	void *m;

	if (st.nr == MAX_TRACKED)
		goto out;
	before = write_text(st.r[reg], &len);
	errno = 0;
	m = do_register(reg, kind, name, help, labels, highest, scale);
	key = name ? expected_key(name, "", labels) : NULL;
	if (m) {
		CHECK(name_valid(name) && help_valid(help) && key &&
		      scale > 0 && scale <= PERCPU_REGISTRY_MAX_SCALE,
		      "accepted: name %s, labels %s", name, labels);
		registered(reg, kind, key, name, labels, m);
	} else {
		CHECK(errno_documented(errno), "refused: errno %d", errno);
		after = write_text(st.r[reg], &len);
		CHECK(!strcmp(before, after), "a refused registration changed "
		      "the exposition");
		free(after);
		free(key);
	}
	free(before);
out:
	free(nb.p);
	free(hb.p);
	free(lb.p);
}

/* A fuzzed value to a tracked series, the model updated alike. */
static void op_update(struct input *in)
{
	unsigned int c = take8(in);
	uint64_t v = take64(in) >> (take8(in) % 64);
	struct tracked *t;

	if (!st.nr)
		return;
	t = &st.t[c % (unsigned int)st.nr];
	if (c / 64 % 2)
		v = -v;
	switch (t->kind) {
	case COUNTER:
		errno = 0;
		CHECK(percpu_counter_add(t->metric, (intptr_t)v) ==
			      ((intptr_t)v < 0 ? -1 : 0),
		      "counter add %" PRId64, (int64_t)v);
		t->value += (intptr_t)v < 0 ? 0 : v;
		return;
	case GAUGE:
		if (c / 128) {
			percpu_gauge_set(t->metric, (int64_t)v);
			t->value = v;
		} else {
			percpu_gauge_add(t->metric, (int64_t)v);
			t->value += v;
		}
		return;
	case UPDOWN:
		percpu_updown_add(t->metric, (intptr_t)v);
		t->value += v;
		return;
	case HISTOGRAM:
		percpu_histogram_record(t->metric, v);
		t->value++;
		return;
	}
}

/* Small limits often, so that each is reached; read back as set. */
static void op_limits(struct input *in)
{
	static const size_t big[] = { 0, 1, 64, 1024, 100000, SIZE_MAX };
	struct percpu_registry_limits l, got;
	unsigned int c = take8(in);
	size_t *f[] = { &l.max_labels, &l.max_name_bytes, &l.max_value_bytes,
			&l.max_help_bytes, &l.max_series };

	for (int i = 0; i < 5; i++) {
		unsigned int v = take8(in);

		*f[i] = v % 2 ? v / 2 % 16 : big[v / 2 % 6];
	}
	CHECK(percpu_registry_set_limits(st.r[c % REGISTRIES], &l) == 0,
	      "set_limits");
	CHECK(percpu_registry_get_limits(st.r[c % REGISTRIES], &got) == 0 &&
		      !memcmp(&l, &got, sizeof(l)),
	      "get_limits differs from set_limits");
}

static void op_export(struct input *in)
{
	export_and_check((int)(take8(in) % REGISTRIES));
}

static void (*const ops[])(struct input *) = {
	op_register, op_register, op_register, op_update, op_update,
	op_limits, op_export,
};

static void setup(void)
{
	for (int i = 0; i < REGISTRIES; i++) {
		st.r[i] = percpu_registry_new();
		CHECK(st.r[i], "registry_new");
	}
}

/* A last export of each: what every series ended with. */
static void teardown(void)
{
	for (int i = 0; i < REGISTRIES; i++) {
		export_and_check(i);
		percpu_registry_free(st.r[i]);
	}
	for (int i = 0; i < st.nr; i++) {
		free(st.t[i].key);
		free(st.t[i].count_key);
	}
	memset(&st, 0, sizeof(st));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	setup();
	for (int k = 0; k < MAX_OPS && in.n; k++)
		ops[take8(&in) % (sizeof(ops) / sizeof(ops[0]))](&in);
	teardown();
	return 0;
}
