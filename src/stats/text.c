// SPDX-License-Identifier: MIT
/*
 * src/stats/text.c: the checks that keep the exposition valid whatever a
 * registration is given (see percpu/stats.h): names, help text and labels
 * within the registry's limits and in UTF-8, and labels put in canonical
 * form, so that one series has one spelling. Errors: EINVAL for what
 * Prometheus would not parse, E2BIG for what exceeds a limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stats/registry.h"
#include "utf8.h"

static int is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]*, at most max_bytes: 0, or -1 with errno. */
int stats_name_check(const char *name, size_t max_bytes)
{
	if (!name || !(is_name_start(*name) || *name == ':'))
		return fail(EINVAL);
	if (strnlen(name, max_bytes + 1) > max_bytes)
		return fail(E2BIG);
	while (*++name)
		if (!is_name_char(*name) && *name != ':')
			return fail(EINVAL);
	return 0;
}

/* NULL (no help), or UTF-8 of at most max_bytes that says something:
 * "" and only spaces and tabs, which readers of the exposition skip, would
 * be a # HELP line with no help (promtool's lint: "no help text").
 * 0, or -1 with errno. */
int stats_help_check(const char *help, size_t max_bytes)
{
	size_t n;

	if (!help)
		return 0;
	if (strnlen(help, max_bytes + 1) > max_bytes)
		return fail(E2BIG);
	if (!help[strspn(help, " \t")])
		return fail(EINVAL);
	for (const char *p = help; *p; p += n) {
		n = utf8_length((const unsigned char *)p);
		if (!n)
			return fail(EINVAL);
	}
	return 0;
}

/* Whether a name is something followed by _total: in OpenMetrics such
 * a counter's family is the something (stats_export.c). */
int stats_has_total(const char *name)
{
	size_t len = strlen(name), n = strlen("_total");

	return len > n && !strcmp(name + len - n, "_total");
}

/* One `key="value"`, the value as the exposition escapes it. */
struct pair {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

/* The bytes of the character at p in a label value: an escape (\\, \"
 * or \n) or UTF-8 but a quote or a newline; 0 if it may not be there. */
static size_t value_char(const char *p)
{
	if (*p == '\\')
		return p[1] == '\\' || p[1] == '"' || p[1] == 'n' ? 2 : 0;
	if (!*p || *p == '\n')
		return 0;
	return utf8_length((const unsigned char *)p);
}

/* The value at p, up to its closing quote: its length, or -1 with errno.
 * Stops at the limit, so a huge value costs no more than a long one. */
static long value_length(const char *p, size_t max_bytes)
{
	size_t i = 0, n;

	for (; p[i] != '"'; i += n) {
		if (i >= max_bytes)
			return fail(E2BIG);
		n = value_char(p + i);
		if (!n)
			return fail(EINVAL);
	}
	return i > max_bytes ? fail(E2BIG) : (long)i;
}

static int key_allowed(const struct pair *pr, int histogram)
{
	if (pr->key_len >= 2 && pr->key[0] == '_' && pr->key[1] == '_')
		return 0;
	return !(histogram && pr->key_len == 2 && !memcmp(pr->key, "le", 2));
}

/* NULL, for the pair parser's errors. */
static const char *refuse(int err)
{
	errno = err;
	return NULL;
}

/* The pair at p into *pr: what follows it, or NULL with errno. */
static const char *parse_pair(const char *p, struct pair *pr, int histogram,
			      const struct percpu_registry_limits *l)
{
	long len;

	pr->key = p;
	if (!is_name_start(*p))
		return refuse(EINVAL);
	while (is_name_char(*p))
		p++;
	pr->key_len = (size_t)(p - pr->key);
	if (pr->key_len > l->max_name_bytes)
		return refuse(E2BIG);
	if (!key_allowed(pr, histogram) || *p++ != '=' || *p++ != '"')
		return refuse(EINVAL);
	len = value_length(p, l->max_value_bytes);
	if (len < 0)
		return NULL;
	pr->value = p;
	pr->value_len = (size_t)len;
	return p + len + 1;
}

/*
 * Pairs separated by a comma and optional spaces, none after the last:
 * stores up to `room` of them in prs (NULL: none, only count), and returns
 * how many there are, or -1 with errno (E2BIG beyond max_labels).
 */
static long parse_pairs(const char *labels, struct pair *prs, size_t room,
			int histogram, const struct percpu_registry_limits *l)
{
	struct pair pr;
	size_t n = 0;
	const char *p = labels;

	while (p && *p) {
		if (n == l->max_labels)
			return fail(E2BIG);
		p = parse_pair(p, &pr, histogram, l);
		if (!p)
			return -1;
		if (n < room)
			prs[n] = pr;
		n++;
		if (!*p)
			break;
		if (*p != ',')
			return fail(EINVAL);
		p += 1 + strspn(p + 1, " ");
		if (!*p)
			return fail(EINVAL);
	}
	return (long)n;
}

static int pair_order(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Sorted, so a key given twice sits beside itself: O(n log n). */
static int sort_and_check(struct pair *prs, size_t n)
{
	qsort(prs, n, sizeof(*prs), pair_order);
	for (size_t i = 1; i < n; i++)
		if (!pair_order(&prs[i - 1], &prs[i]))
			return fail(EINVAL);
	return 0;
}

/* key="value",... of the pairs with a value: Prometheus reads an empty
 * value as the label absent, so it is left out. */
static char *join(const struct pair *prs, size_t n)
{
	size_t len = 1;
	char *text, *p;

	for (size_t i = 0; i < n; i++)
		len += prs[i].value_len ? prs[i].key_len + prs[i].value_len + 4 : 0;
	text = malloc(len);
	if (!text)
		return NULL;
	p = text;
	for (size_t i = 0; i < n; i++) {
		if (!prs[i].value_len)
			continue;
		if (p != text)
			*p++ = ',';
		memcpy(p, prs[i].key, prs[i].key_len);
		p += prs[i].key_len;
		*p++ = '=';
		*p++ = '"';
		memcpy(p, prs[i].value, prs[i].value_len);
		p += prs[i].value_len;
		*p++ = '"';
	}
	*p = '\0';
	return text;
}

/*
 * The labels (NULL or "" for none) checked, in canonical form: keys in
 * byte order, empty values left out, one comma between pairs. Returns a
 * string to free(), or NULL with errno EINVAL, E2BIG or ENOMEM. Two
 * spellings of one set of labels give the same string: the escapes are
 * canonical already (a quote, a backslash and a newline have one each).
 */
char *stats_labels_canonical(const char *labels, int histogram,
			     const struct percpu_registry_limits *l)
{
	long n = parse_pairs(labels, NULL, 0, histogram, l);
	struct pair *prs;
	char *text = NULL;

	if (n < 0)
		return NULL;
	prs = malloc(((size_t)n + 1) * sizeof(*prs));
	if (!prs)
		return NULL;
	parse_pairs(labels, prs, (size_t)n, histogram, l);
	if (!sort_and_check(prs, (size_t)n))
		text = join(prs, (size_t)n);
	free(prs);
	return text;
}
