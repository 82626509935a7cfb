// SPDX-License-Identifier: MIT
/*
 * fuzz/lib/exposition.c: the fuzzers' strict reader of the text exposition,
 * written apart from the library's own checks so that it can catch them
 * wrong: each line a # HELP, a # TYPE or a sample of the family last
 * typed, valid names, label values with only the three escapes, UTF-8
 * throughout, numbers for values, finite `le` but "+Inf", no series twice,
 * and no histogram line that a family of its own name would claim.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "exposition.h"

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

int utf8_valid(const char *s, size_t n)
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
size_t name_len(const char *s, int colon)
{
	size_t n = 0;

	if (!name_start(s[0], colon))
		return 0;
	while (name_char(s[++n], colon))
		;
	return n;
}

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
int parse_pairs(const char *s, char end, int spaces, struct pair *prs,
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
char *series_key(const char *name, size_t name_len_, struct pair *prs,
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
void read_exposition(struct exposition *e, const char *text, size_t len)
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

void exposition_free(struct exposition *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->s[i].key);
		free(e->s[i].value);
	}
	free(e->s);
}

const char *find_value(const struct exposition *e, const char *key)
{
	struct sample k = { (char *)key, NULL, 0 };
	struct sample *s = !e->n ? NULL : bsearch(&k, e->s, e->n, sizeof(*e->s), sample_order);

	return s ? s->value : NULL;
}
