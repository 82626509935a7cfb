/* SPDX-License-Identifier: MIT */
/*
 * fuzz/lib/exposition.h: the fuzzers' strict reader of the text exposition
 * (fuzz/lib/exposition.c). A text it cannot read aborts, with CHECK.
 */
#ifndef PERCPU_FUZZ_EXPOSITION_H
#define PERCPU_FUZZ_EXPOSITION_H

#include <stddef.h>
#include "harness.h"

#define MAX_PAIRS 40

struct pair {
	const char *key, *value;	/* value as escaped */
	size_t key_len, value_len;
};

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

/* Whether s[0..n) is UTF-8 (no overlong form, surrogate or past U+10FFFF). */
int utf8_valid(const char *s, size_t n);
/* The length of the metric (colon) or label name at s, 0 if none. */
size_t name_len(const char *s, int colon);
/* Labels k="v" up to `end`: the count in prs, or -1 if malformed. */
int parse_pairs(const char *s, char end, int spaces, struct pair *prs,
		const char **rest);
/* name{pairs} as Prometheus identifies the series (malloc'd). */
char *series_key(const char *name, size_t name_len_, struct pair *prs,
		 int n);
/* Reads the whole text into e: its series sorted by key, none twice. */
void read_exposition(struct exposition *e, const char *text, size_t len);
void exposition_free(struct exposition *e);
/* The value of the series `key` in e, or NULL. */
const char *find_value(const struct exposition *e, const char *key);

#endif
