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

#define REGISTRIES 2
#define MAX_OPS 64
#define MAX_TRACKED 64
#define MAX_PAIRS 40
/* Above this length an export checks the edges and a few sizes between,
 * not every one: each call builds the whole text, so a sweep is quadratic,
 * and the call only tells size 0, too small and enough apart. */
#define SWEEP_MAX 128

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "registry: " __VA_ARGS__);          \
			fprintf(stderr, " (%s, line %d)\n", #cond, __LINE__); \
			abort();                                            \
		}                                                           \
	} while (0)

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

/* A growable byte string, always NUL-terminated. */
struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		CHECK(b->p, "out of memory");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

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

/* ---- the strict reader ---- */

/* The length of the UTF-8 character at p (n bytes left), 0 if invalid:
 * decoded, then refused if overlong, a surrogate or above U+10FFFF. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
	static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len = p[0] < 0x80 ? 1 : p[0] >> 5 == 6 ? 2 :
				   p[0] >> 4 == 14 ? 3 : p[0] >> 3 == 30 ? 4 : 0;
	uint32_t cp;

	if (!len || len > n)
		return 0;
	cp = len == 1 ? p[0] : p[0] & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < least[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static int utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k) {
		k = utf8_char((const unsigned char *)s + i, n - i);
		if (!k)
			return 0;
	}
	return 1;
}

static int name_start(char c, int colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':');
}

static int name_char(char c, int colon)
{
	return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* The length of the name at s (colons allowed or not), 0 if none. */
static size_t name_len(const char *s, int colon)
{
	size_t n = 0;

	if (!name_start(s[0], colon))
		return 0;
	while (name_char(s[++n], colon))
		;
	return n;
}

struct pair {
	const char *key, *value;	/* value as escaped */
	size_t key_len, value_len;
};

/* A quoted value at s (after the quote): its length up to the closing
 * quote, or -1 if an escape is not \\, \" or \n or a raw newline is in it. */
static long value_len(const char *s)
{
	size_t i = 0;

	for (; s[i] != '"'; i++) {
		if (!s[i] || s[i] == '\n')
			return -1;
		if (s[i] == '\\' && s[i + 1] != '\\' && s[i + 1] != '"' &&
		    s[i + 1] != 'n')
			return -1;
		i += s[i] == '\\';
	}
	return utf8_valid(s, i) ? (long)i : -1;
}

/*
 * Labels k="v" separated by commas (and spaces if `spaces`), up to `end`
 * or a NUL: the count of pairs in prs, or -1 if malformed, with a label
 * name twice, or more than MAX_PAIRS. *rest: where the parse stopped.
 */
static int parse_pairs(const char *s, char end, int spaces, struct pair *prs,
		       const char **rest)
{
	int n = 0;
	long len;

	while (*s && *s != end) {
		if (n && *s++ != ',')
			return -1;
		if (n && spaces)
			s += strspn(s, " ");
		if (n == MAX_PAIRS)
			return -1;
		prs[n].key = s;
		prs[n].key_len = name_len(s, 0);
		s += prs[n].key_len;
		if (!prs[n].key_len || *s++ != '=' || *s++ != '"')
			return -1;
		len = value_len(s);
		if (len < 0)
			return -1;
		prs[n].value = s;
		prs[n].value_len = (size_t)len;
		s += len + 1;
		for (int i = 0; i < n; i++)
			if (prs[i].key_len == prs[n].key_len &&
			    !memcmp(prs[i].key, prs[n].key, prs[n].key_len))
				return -1;
		n++;
	}
	*rest = s;
	return n;
}

static int pair_order(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* name{pairs}: keys sorted, empty values left out, as Prometheus sees a
 * series' identity. Sorts prs. */
static char *series_key(const char *name, size_t name_len_, struct pair *prs,
			int n)
{
	struct buf b = { 0 };
	int first = 1;

	if (n)	/* qsort's array may not be NULL, even empty */
		qsort(prs, (size_t)n, sizeof(*prs), pair_order);
	put(&b, name, name_len_);
	puts_(&b, "{");
	for (int i = 0; i < n; i++) {
		if (!prs[i].value_len)
			continue;
		if (!first)
			puts_(&b, ",");
		first = 0;
		put(&b, prs[i].key, prs[i].key_len);
		puts_(&b, "=\"");
		put(&b, prs[i].value, prs[i].value_len);
		puts_(&b, "\"");
	}
	puts_(&b, "}");
	return b.p;
}

/* A sample value: a decimal number, or +Inf, -Inf, NaN. */
static int number_valid(const char *s, size_t n, int *finite)
{
	char text[64];
	char *end;

	*finite = 0;
	if ((n == 4 && (!memcmp(s, "+Inf", 4) || !memcmp(s, "-Inf", 4))) ||
	    (n == 3 && !memcmp(s, "NaN", 3)))
		return 1;
	if (!n || n >= sizeof(text) || strspn(s, "0123456789+-.eE") < n)
		return 0;
	memcpy(text, s, n);
	text[n] = '\0';
	*finite = isfinite(strtod(text, &end));
	return end == text + n;
}

/* What one exposition held: its series, sorted by key, with their values. */
struct sample {
	char *key;
	char *value;
	size_t suffixed;	/* a histogram's line: its name's length */
};

struct exposition {
	struct sample *s;
	size_t n, cap;
	const char *family;	/* the name the last # TYPE gave, in the text */
	size_t family_len;
	int histogram;
};

static void add_sample(struct exposition *e, char *key, const char *v,
		       size_t n, size_t suffixed)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 64;
		e->s = realloc(e->s, e->cap * sizeof(*e->s));
		CHECK(e->s, "out of memory");
	}
	e->s[e->n].key = key;
	e->s[e->n].value = strndup(v, n);
	e->s[e->n].suffixed = suffixed;
	CHECK(e->s[e->n].value, "out of memory");
	e->n++;
}

/* The sample's name belongs to the family the last # TYPE named. */
static int in_family(const struct exposition *e, const char *name, size_t n)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	size_t f = e->family_len;

	if (f && n == f && !memcmp(name, e->family, n))
		return 1;
	for (int i = 0; f && e->histogram && i < 3; i++)
		if (n == f + strlen(suffixes[i]) && !memcmp(name, e->family, f) &&
		    !strncmp(name + f, suffixes[i], n - f))
			return 1;
	return 0;
}

/* An `le` pair is a finite number or "+Inf": in a histogram only, other
 * kinds may use `le` as any label. */
static int le_valid(const struct pair *prs, int n)
{
	int finite;

	for (int i = 0; i < n; i++) {
		if (prs[i].key_len != 2 || memcmp(prs[i].key, "le", 2))
			continue;
		if (prs[i].value_len == 4 && !memcmp(prs[i].value, "+Inf", 4))
			return 1;
		return number_valid(prs[i].value, prs[i].value_len, &finite) &&
		       finite;
	}
	return 1;
}

static void read_sample(struct exposition *e, const char *line, size_t n)
{
	struct pair prs[MAX_PAIRS];
	size_t nl = name_len(line, 1);
	const char *p = line + nl;
	int np = 0, finite;

	CHECK(nl && in_family(e, line, nl), "sample outside its family: %.*s",
	      (int)n, line);
	if (*p == '{') {
		np = parse_pairs(p + 1, '}', 0, prs, &p);
		CHECK(np >= 0 && *p == '}', "bad labels: %.*s", (int)n, line);
		p++;
	}
	CHECK(*p == ' ', "no space before the value: %.*s", (int)n, line);
	p++;
	CHECK(number_valid(p, (size_t)(line + n - p), &finite),
	      "bad value: %.*s", (int)n, line);
	CHECK(!e->histogram || le_valid(prs, np), "bad le: %.*s", (int)n, line);
	add_sample(e, series_key(line, nl, prs, np), p,
		   (size_t)(line + n - p), nl != e->family_len ? nl : 0);
}

/* # HELP name text: only \\ and \n escaped; # TYPE name type, each name
 * typed once (checked with the samples' keys: "# TYPE name" is one). */
static void read_comment(struct exposition *e, const char *line, size_t n)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	int help = !strncmp(line, "# HELP ", 7);
	size_t nl = name_len(line + 7, 1);
	const char *rest = line + 7 + nl;
	int ok = 0;

	CHECK((help || !strncmp(line, "# TYPE ", 7)) && nl && *rest == ' ',
	      "bad comment: %.*s", (int)n, line);
	rest++;
	if (help) {
		for (const char *c = rest; c < line + n; c += 1 + (*c == '\\'))
			CHECK(*c != '\\' || c[1] == '\\' || c[1] == 'n',
			      "bad escape in help: %.*s", (int)n, line);
		return;
	}
	for (int i = 0; i < 3; i++)
		ok |= (size_t)(line + n - rest) == strlen(types[i]) &&
		      !strncmp(rest, types[i], strlen(types[i]));
	CHECK(ok, "bad type: %.*s", (int)n, line);
	e->family = line + 7;
	e->family_len = nl;
	e->histogram = rest[0] == 'h';
	add_sample(e, series_key(line, 7 + nl, NULL, 0), "", 0, 0);
}

static int sample_order(const void *a, const void *b)
{
	return strcmp(((const struct sample *)a)->key,
		      ((const struct sample *)b)->key);
}

static const char *find_value(const struct exposition *e, const char *key);

/* A histogram's name_sum (and _bucket, _count) lines may not share their
 * name with a family of its own, whichever comes first: Prometheus would
 * read them as that family's. */
static void check_not_typed(const struct exposition *e, const char *key,
			    size_t n)
{
	struct buf b = { 0 };

	puts_(&b, "# TYPE ");
	put(&b, key, n);
	puts_(&b, "{}");
	CHECK(!find_value(e, b.p), "%.*s: a histogram's line and a family",
	      (int)n, key);
	free(b.p);
}

/* The exposition text read line by line; its series sorted by key, none
 * twice. */
static void read_exposition(struct exposition *e, const char *text,
			    size_t len)
{
	const char *line = text, *nl;

	CHECK(strlen(text) == len, "a NUL inside the exposition");
	CHECK(utf8_valid(text, len), "exposition not UTF-8");
	CHECK(!len || text[len - 1] == '\n', "no newline at the end");
	for (; line < text + len; line = nl + 1) {
		nl = strchr(line, '\n');
		if (line[0] == '#')
			read_comment(e, line, (size_t)(nl - line));
		else
			read_sample(e, line, (size_t)(nl - line));
	}
	if (e->n)
		qsort(e->s, e->n, sizeof(*e->s), sample_order);
	for (size_t i = 1; i < e->n; i++)
		CHECK(strcmp(e->s[i - 1].key, e->s[i].key),
		      "series twice: %s", e->s[i].key);
	for (size_t i = 0; i < e->n; i++)
		if (e->s[i].suffixed)
			check_not_typed(e, e->s[i].key, e->s[i].suffixed);
}

static void exposition_free(struct exposition *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->s[i].key);
		free(e->s[i].value);
	}
	free(e->s);
}

static const char *find_value(const struct exposition *e, const char *key)
{
	struct sample k = { (char *)key, NULL, 0 };
	struct sample *s = !e->n ? NULL : bsearch(&k, e->s, e->n, sizeof(*e->s), sample_order);

	return s ? s->value : NULL;
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
