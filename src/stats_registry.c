// SPDX-License-Identifier: MIT
/*
 * src/stats_registry.c: named metrics, looked up or created by name and
 * labels (see percpu/stats.h). Lookups and creations hold the registry's
 * mutex; exports do not (see stats_registry.h).
 */
#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include "stats_registry.h"

/* What a lookup asks for; highest and scale only for histograms. */
struct spec {
	const char *name;
	const char *help;
	const char *labels;
	enum stats_kind kind;
	uint64_t highest;
	double scale;
};

static int is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static int valid_name(const char *name)
{
	if (!name || !(is_name_start(*name) || *name == ':'))
		return 0;
	while (*++name)
		if (!is_name_char(*name) && *name != ':')
			return 0;
	return 1;
}

/*
 * One `key="value"` at p: stores where the key is and its length, and
 * returns what follows, or NULL if malformed. The value's escapes are
 * those of the exposition, so it is copied out as it is.
 */
static const char *label_pair(const char *p, const char **key, size_t *len)
{
	*key = p;
	if (!is_name_start(*p))
		return NULL;
	while (is_name_char(*p))
		p++;
	*len = (size_t)(p - *key);
	if (*p++ != '=' || *p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if (!*p || *p == '\n')
			return NULL;
		if (*p == '\\' && p[1] != '\\' && p[1] != '"' && p[1] != 'n')
			return NULL;
		p += *p == '\\';
	}
	return p + 1;
}

/* Whether a pair before `end` (all already checked) has this key. */
static int key_seen(const char *labels, const char *end, const char *key,
		    size_t len)
{
	const char *k;
	size_t n;

	for (const char *p = labels; p < end; p++) {
		p = label_pair(p, &k, &n);
		if (n == len && !memcmp(k, key, len))
			return 1;
	}
	return 0;
}

static int key_allowed(const char *key, size_t len, int histogram)
{
	if (len >= 2 && key[0] == '_' && key[1] == '_')
		return 0;
	return !(histogram && len == 2 && !memcmp(key, "le", 2));
}

/* Pairs separated by single commas, none after the last. */
static int valid_labels(const char *labels, int histogram)
{
	const char *p, *start, *key;
	size_t len;

	for (p = labels; p && *p; p += *p == ',') {
		start = p;
		p = label_pair(p, &key, &len);
		if (!p || !key_allowed(key, len, histogram) ||
		    key_seen(labels, start, key, len))
			return 0;
		if ((*p && *p != ',') || (*p == ',' && !p[1]))
			return 0;
	}
	return 1;
}

static int valid_spec(const struct spec *sp)
{
	int histogram = sp->kind == STATS_HISTOGRAM;

	if (histogram && !(sp->scale > 0 && sp->scale <= DBL_MAX))
		return 0;
	return valid_name(sp->name) && valid_labels(sp->labels, histogram);
}

/* Whether `full` is `base` plus one of the suffixes a histogram exports. */
static int histogram_line(const char *full, const char *base)
{
	size_t n = strlen(base);

	if (strncmp(full, base, n))
		return 0;
	full += n;
	return !strcmp(full, "_bucket") || !strcmp(full, "_sum") ||
	       !strcmp(full, "_count");
}

static int clashes(const struct percpu_registry *r, const struct spec *sp)
{
	for (const struct stats_family *f = r->families; f; f = f->next) {
		if (f->kind == STATS_HISTOGRAM && histogram_line(sp->name, f->name))
			return 1;
		if (sp->kind == STATS_HISTOGRAM && histogram_line(f->name, sp->name))
			return 1;
	}
	return 0;
}

static struct stats_family *find_family(const struct percpu_registry *r,
					const char *name)
{
	struct stats_family *f = r->families;

	while (f && strcmp(f->name, name))
		f = f->next;
	return f;
}

static struct stats_series *find_series(const struct stats_family *f,
					const char *labels)
{
	struct stats_series *s = f->series;

	while (s && strcmp(s->labels, labels))
		s = s->next;
	return s;
}

static int metric_init(struct stats_series *s, const struct spec *sp)
{
	switch (sp->kind) {
	case STATS_COUNTER:
		return percpu_counter_init(&s->m.counter);
	case STATS_GAUGE:
		percpu_gauge_set(&s->m.gauge, 0);
		return 0;
	case STATS_UPDOWN:
		return percpu_updown_init(&s->m.updown);
	case STATS_HISTOGRAM:
		return percpu_histogram_init(&s->m.histogram, sp->highest);
	}
	return -1;
}

static void metric_destroy(struct stats_series *s, enum stats_kind kind)
{
	switch (kind) {
	case STATS_COUNTER:
		percpu_counter_destroy(&s->m.counter);
		break;
	case STATS_GAUGE:
		break;
	case STATS_UPDOWN:
		percpu_updown_destroy(&s->m.updown);
		break;
	case STATS_HISTOGRAM:
		percpu_histogram_destroy(&s->m.histogram);
		break;
	}
}

/* errno as the failing allocation or initialization left it. */
static struct stats_series *series_new(const struct spec *sp)
{
	struct stats_series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->labels = strdup(sp->labels ? sp->labels : "");
	s->scale = sp->scale;
	if (s->labels && !metric_init(s, sp))
		return s;
	free(s->labels);
	free(s);
	return NULL;
}

static void series_free(struct stats_series *s, enum stats_kind kind)
{
	metric_destroy(s, kind);
	free(s->labels);
	free(s);
}

/* A family holding its first series, so that it is never seen empty. */
static struct stats_family *family_new(const struct spec *sp,
				       struct stats_series *first)
{
	struct stats_family *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->name = strdup(sp->name);
	f->help = sp->help ? strdup(sp->help) : NULL;
	f->kind = sp->kind;
	f->series = first;
	if (f->name && (f->help || !sp->help))
		return f;
	free(f->name);
	free(f->help);
	free(f);
	errno = ENOMEM;
	return NULL;
}

/* Nodes are linked in at the end, only once whole: readers do not lock. */
static void append_series(struct stats_family *f, struct stats_series *s)
{
	struct stats_series **link = &f->series;

	while (*link)
		link = &(*link)->next;
	__atomic_store_n(link, s, __ATOMIC_RELEASE);
}

static void append_family(struct percpu_registry *r, struct stats_family *f)
{
	struct stats_family **link = &r->families;

	while (*link)
		link = &(*link)->next;
	__atomic_store_n(link, f, __ATOMIC_RELEASE);
}

/* Under the lock: a new series, in a new family if the name is new. */
static struct stats_series *create(struct percpu_registry *r,
				   struct stats_family *f,
				   const struct spec *sp)
{
	struct stats_series *s = series_new(sp);
	struct stats_family *nf;

	if (!s)
		return NULL;
	if (f) {
		append_series(f, s);
		return s;
	}
	nf = family_new(sp, s);
	if (!nf) {
		series_free(s, sp->kind);
		return NULL;
	}
	append_family(r, nf);
	return s;
}

static struct stats_series *locked_get(struct percpu_registry *r,
				       const struct spec *sp)
{
	struct stats_family *f = find_family(r, sp->name);
	struct stats_series *s;

	if ((f && f->kind != sp->kind) || (!f && clashes(r, sp))) {
		errno = EEXIST;
		return NULL;
	}
	s = f ? find_series(f, sp->labels ? sp->labels : "") : NULL;
	return s ? s : create(r, f, sp);
}

/*
 * A thread holds a registry's mutex only inside this gate, shared: before
 * fork the gate is taken exclusively (the runtime's atfork handlers call
 * percpu_stats_registry_fork_*), so that no registry mutex is held at the
 * fork, where the child would find it held for ever. Writers first, so
 * that lookups back to back cannot keep a fork waiting; no thread takes
 * the gate twice.
 */
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
#define GATE_INITIALIZER PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
#else
#define GATE_INITIALIZER PTHREAD_RWLOCK_INITIALIZER
#endif
static const pthread_rwlock_t gate_initial = GATE_INITIALIZER;
static pthread_rwlock_t fork_gate = GATE_INITIALIZER;

void percpu_stats_registry_fork_prepare(void)
{
	pthread_rwlock_wrlock(&fork_gate);
}

void percpu_stats_registry_fork_parent(void)
{
	pthread_rwlock_unlock(&fork_gate);
}

/* A fresh gate: in the child the thread has a new id, and the rwlock would
 * not recognize it as the writer. */
void percpu_stats_registry_fork_child(void)
{
	fork_gate = gate_initial;
}

static struct stats_series *get(struct percpu_registry *r,
				const struct spec *sp)
{
	struct stats_series *s;

	if (!valid_spec(sp)) {
		errno = EINVAL;
		return NULL;
	}
	pthread_rwlock_rdlock(&fork_gate);
	pthread_mutex_lock(&r->lock);
	s = locked_get(r, sp);
	pthread_mutex_unlock(&r->lock);
	pthread_rwlock_unlock(&fork_gate);
	return s;
}

struct percpu_counter *percpu_registry_counter(struct percpu_registry *r,
					       const char *name,
					       const char *help,
					       const char *labels)
{
	struct spec sp = { name, help, labels, STATS_COUNTER, 0, 1 };
	struct stats_series *s = get(r, &sp);

	return s ? &s->m.counter : NULL;
}

struct percpu_gauge *percpu_registry_gauge(struct percpu_registry *r,
					   const char *name, const char *help,
					   const char *labels)
{
	struct spec sp = { name, help, labels, STATS_GAUGE, 0, 1 };
	struct stats_series *s = get(r, &sp);

	return s ? &s->m.gauge : NULL;
}

struct percpu_updown *percpu_registry_updown(struct percpu_registry *r,
					     const char *name,
					     const char *help,
					     const char *labels)
{
	struct spec sp = { name, help, labels, STATS_UPDOWN, 0, 1 };
	struct stats_series *s = get(r, &sp);

	return s ? &s->m.updown : NULL;
}

struct percpu_histogram *percpu_registry_histogram(struct percpu_registry *r,
						   const char *name,
						   const char *help,
						   const char *labels,
						   uint64_t highest,
						   double scale)
{
	struct spec sp = { name, help, labels, STATS_HISTOGRAM, highest, scale };
	struct stats_series *s = get(r, &sp);

	return s ? &s->m.histogram : NULL;
}

struct percpu_registry *percpu_registry_new(void)
{
	struct percpu_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

static void family_free(struct stats_family *f)
{
	struct stats_series *s = f->series, *next;

	for (; s; s = next) {
		next = s->next;
		series_free(s, f->kind);
	}
	free(f->name);
	free(f->help);
	free(f);
}

void percpu_registry_free(struct percpu_registry *r)
{
	struct stats_family *f, *next;

	if (!r)
		return;
	for (f = r->families; f; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}
