// SPDX-License-Identifier: MIT
/*
 * src/stats/registry.c: named metrics, looked up or created by name and
 * labels (see percpu/stats.h). Lookups and creations hold the registry's
 * mutex; exports do not (see registry.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "runtime/clock.h"
#include "runtime/sys.h"
#include "stats/registry.h"

/* What a lookup asks for; highest and scale only for histograms. */
struct spec {
	const char *name;
	const char *help;
	const char *labels;
	enum stats_kind kind;
	uint64_t highest;
	double scale;
	const double *le;	/* chosen bounds (nr_le > 0), checked */
	size_t nr_le;
};

/* Every bound (at most 2^64 - 1) and the sum (below 2^128) times the scale
 * stay finite. */
static int valid_scale(const struct spec *sp)
{
	return sp->kind != STATS_HISTOGRAM ||
	       (sp->scale > 0 && sp->scale <= PERCPU_REGISTRY_MAX_SCALE);
}

/* 0, or -1 with errno EINVAL or E2BIG. */
static int check_spec(const struct spec *sp,
		      const struct percpu_registry_limits *l)
{
	if (!valid_scale(sp)) {
		errno = EINVAL;
		return -1;
	}
	if (stats_name_check(sp->name, l->max_name_bytes))
		return -1;
	return stats_help_check(sp->help, l->max_help_bytes);
}

static int family_is(const struct stats_family *f, const char *name,
		     size_t len, const char *suffix)
{
	return !strncmp(f->name, name, len) && !strcmp(f->name + len, suffix);
}

/* The family named name[0..len) then suffix, if there is one. */
static struct stats_family *find_family(const struct percpu_registry *r,
					const char *name, size_t len,
					const char *suffix)
{
	uint64_t hash = stats_hash(stats_hash(r->seed, name, len), suffix,
				   strlen(suffix));
	struct stats_hnode *n = stats_table_chain(&r->by_name, hash);
	struct stats_family *f;

	for (; n; n = n->next) {
		f = stats_container(n, struct stats_family, hnode);
		if (n->hash == hash && family_is(f, name, len, suffix))
			return f;
	}
	return NULL;
}

static const char *const histogram_suffixes[] = { "_bucket", "_sum", "_count" };

/*
 * In OpenMetrics a counter a_total is the family a, whose sample is
 * a_total, and a counter a is the same: so a name and the same name plus
 * _total may not both be families when one is a counter. Two lookups.
 */
static int total_clashes(const struct percpu_registry *r,
			 const struct spec *sp, size_t len)
{
	const struct stats_family *f = find_family(r, sp->name, len, "_total");

	if (f && (f->kind == STATS_COUNTER || sp->kind == STATS_COUNTER))
		return 1;
	if (!stats_has_total(sp->name))
		return 0;
	f = find_family(r, sp->name, len - strlen("_total"), "");
	return f && (f->kind == STATS_COUNTER || sp->kind == STATS_COUNTER);
}

/* A histogram's lines would clash with a family named like one of them,
 * or a new family with a histogram's lines: three lookups either way;
 * then the OpenMetrics names of counters. */
static int clashes(const struct percpu_registry *r, const struct spec *sp)
{
	size_t len = strlen(sp->name), n;
	const struct stats_family *f;

	for (int i = 0; i < 3; i++) {
		const char *suffix = histogram_suffixes[i];

		if (sp->kind == STATS_HISTOGRAM &&
		    find_family(r, sp->name, len, suffix))
			return 1;
		n = strlen(suffix);
		if (len <= n || strcmp(sp->name + len - n, suffix))
			continue;
		f = find_family(r, sp->name, len - n, "");
		if (f && f->kind == STATS_HISTOGRAM)
			return 1;
	}
	return total_clashes(r, sp, len);
}

/* The name's hash, then a brace no name has, then the labels: name "ab"
 * with labels "x" and name "a" with "bx" do not hash alike. */
static uint64_t series_hash(const struct stats_family *f, const char *labels)
{
	return stats_hash(stats_hash(f->hnode.hash, "{", 1), labels,
			  strlen(labels));
}

static struct stats_series *find_series(const struct percpu_registry *r,
					const struct stats_family *f,
					const char *labels)
{
	uint64_t hash = series_hash(f, labels);
	struct stats_hnode *n = stats_table_chain(&r->by_labels, hash);
	struct stats_series *s;

	for (; n; n = n->next) {
		s = stats_container(n, struct stats_series, hnode);
		if (n->hash == hash && s->family == f && !strcmp(s->labels, labels))
			return s;
	}
	return NULL;
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

/* Takes the canonical labels; errno as the failing allocation or
 * initialization left it. */
static struct stats_series *series_new(const struct spec *sp, char *labels)
{
	struct stats_series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->scale = sp->scale;
	if (!metric_init(s, sp)) {
		s->labels = labels;
		return s;
	}
	free(s);
	return NULL;
}

static void series_free(struct stats_series *s, enum stats_kind kind)
{
	metric_destroy(s, kind);
	free(s->labels);
	free(s);
}

/* The chosen bounds, copied, and their values in recorded units. */
static int family_le(struct stats_family *f, const struct spec *sp)
{
	if (!sp->nr_le)
		return 0;
	f->le = malloc(sp->nr_le * sizeof(*f->le));
	f->le_raw = malloc(sp->nr_le * sizeof(*f->le_raw));
	if (!f->le || !f->le_raw)
		return -1;
	for (size_t i = 0; i < sp->nr_le; i++) {
		f->le[i] = sp->le[i];
		f->le_raw[i] = stats_le_raw(sp->le[i], sp->scale);
	}
	f->nr_le = sp->nr_le;
	f->le_scale = sp->scale;
	return 0;
}

/* Whether a series of sp may join f: its bounds are the family's. */
static int same_le(const struct stats_family *f, const struct spec *sp)
{
	if (f->nr_le != sp->nr_le)
		return 0;
	if (!f->nr_le)
		return 1;
	return f->le_scale == sp->scale &&
	       !memcmp(f->le, sp->le, f->nr_le * sizeof(*f->le));
}

/* A family without series yet: linked in only once its first is. */
static struct stats_family *family_new(const struct percpu_registry *r,
				       const struct spec *sp)
{
	struct stats_family *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->name = strdup(sp->name);
	f->help = sp->help ? strdup(sp->help) : NULL;
	f->kind = sp->kind;
	f->tail = &f->series;
	f->hnode.hash = stats_hash(r->seed, sp->name, strlen(sp->name));
	if (f->name && (f->help || !sp->help) && !family_le(f, sp))
		return f;
	free(f->name);
	free(f->help);
	free(f->le);
	free(f->le_raw);
	free(f);
	errno = ENOMEM;
	return NULL;
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
	free(f->le);
	free(f->le_raw);
	free(f);
}

/* Nodes are linked in at the tail, only once whole: readers do not lock. */
static void link_series(struct percpu_registry *r, struct stats_family *f,
			struct stats_series *s)
{
	s->family = f;
	s->hnode.hash = series_hash(f, s->labels);
	stats_table_insert(&r->by_labels, &s->hnode);
	__atomic_store_n(f->tail, s, __ATOMIC_RELEASE);
	f->tail = &s->next;
}

static void link_family(struct percpu_registry *r, struct stats_family *f)
{
	stats_table_insert(&r->by_name, &f->hnode);
	__atomic_store_n(r->tail, f, __ATOMIC_RELEASE);
	r->tail = &f->next;
}

/* Under the lock: a new series, in a new family if f is NULL. Takes the
 * labels if it succeeds. */
static struct stats_series *create(struct percpu_registry *r,
				   struct stats_family *f,
				   const struct spec *sp, char *labels)
{
	struct stats_family *nf = NULL;
	struct stats_series *s;

	if (r->by_labels.count >=
	    __atomic_load_n(&r->limits.max_series, __ATOMIC_RELAXED)) {
		errno = ENOSPC;
		return NULL;
	}
	if (!f) {
		nf = family_new(r, sp);
		if (!nf)
			return NULL;
	}
	s = series_new(sp, labels);
	if (!s) {
		if (nf)
			family_free(nf);
		return NULL;
	}
	link_series(r, f ? f : nf, s);
	if (nf)
		link_family(r, nf);
	return s;
}

static struct stats_series *locked_get(struct percpu_registry *r,
				       const struct spec *sp, char **labels)
{
	struct stats_family *f = find_family(r, sp->name, strlen(sp->name), "");
	struct stats_series *s;

	if ((f && (f->kind != sp->kind || !same_le(f, sp))) ||
	    (!f && clashes(r, sp))) {
		errno = EEXIST;
		return NULL;
	}
	s = f ? find_series(r, f, *labels) : NULL;
	if (s)
		return s;
	s = create(r, f, sp, *labels);
	if (s)
		*labels = NULL;
	return s;
}

/*
 * A thread holds a registry's mutex only inside this gate, shared: before
 * fork the gate is taken exclusively (the runtime's atfork handlers call
 * percpu_stats_registry_fork_*), so that no registry mutex is held at the
 * fork, where the child would find it held for ever. Writers first, so
 * that lookups back to back cannot keep a fork waiting; no thread takes
 * the gate twice.
 */
static const pthread_rwlock_t gate_initial = PERCPU_FORK_GATE_INITIALIZER;
static pthread_rwlock_t fork_gate = PERCPU_FORK_GATE_INITIALIZER;

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
	struct percpu_registry_limits l;
	struct stats_series *s;
	char *labels;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	stats_load_limits(r, &l);
	if (check_spec(sp, &l))
		return NULL;
	labels = stats_labels_canonical(sp->labels, sp->kind == STATS_HISTOGRAM,
					&l);
	if (!labels)
		return NULL;
	pthread_rwlock_rdlock(&fork_gate);
	pthread_mutex_lock(&r->lock);
	s = locked_get(r, sp, &labels);
	pthread_mutex_unlock(&r->lock);
	pthread_rwlock_unlock(&fork_gate);
	free(labels);
	return s;
}

struct percpu_counter *percpu_registry_counter(struct percpu_registry *r,
					       const char *name,
					       const char *help,
					       const char *labels)
{
	struct spec sp = { .name = name, .help = help, .labels = labels,
			   .kind = STATS_COUNTER, .scale = 1 };
	struct stats_series *s = get(r, &sp);

	return s ? &s->m.counter : NULL;
}

struct percpu_gauge *percpu_registry_gauge(struct percpu_registry *r,
					   const char *name, const char *help,
					   const char *labels)
{
	struct spec sp = { .name = name, .help = help, .labels = labels,
			   .kind = STATS_GAUGE, .scale = 1 };
	struct stats_series *s = get(r, &sp);

	return s ? &s->m.gauge : NULL;
}

struct percpu_updown *percpu_registry_updown(struct percpu_registry *r,
					     const char *name,
					     const char *help,
					     const char *labels)
{
	struct spec sp = { .name = name, .help = help, .labels = labels,
			   .kind = STATS_UPDOWN, .scale = 1 };
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
	struct spec sp = { .name = name, .help = help, .labels = labels,
			   .kind = STATS_HISTOGRAM, .highest = highest,
			   .scale = scale };
	struct stats_series *s = get(r, &sp);

	return s ? &s->m.histogram : NULL;
}

struct percpu_histogram *percpu_registry_histogram_le(
	struct percpu_registry *r, const char *name, const char *help,
	const char *labels, double scale, const double *le, size_t n)
{
	struct spec sp = { .name = name, .help = help, .labels = labels,
			   .kind = STATS_HISTOGRAM, .scale = scale, .le = le,
			   .nr_le = n };
	struct stats_series *s;

	if (!valid_scale(&sp) || stats_le_check(le, n, scale)) {
		errno = EINVAL;
		return NULL;
	}
	sp.highest = stats_le_raw(le[n - 1], scale);
	s = get(r, &sp);
	return s ? &s->m.histogram : NULL;
}

/* Different in each registry and each run, so that which labels collide
 * cannot be worked out once for every process (see table.c). */
static uint64_t random_seed(void)
{
	static uint64_t made;
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	/* The clock is coarse: registries made in one tick differ by count,
	 * processes by pid and by where their stack lies (ASLR). */
	seed = percpu_coarse_ns() ^ (uint64_t)sys_getpid() << 40 ^
	       (uint64_t)(uintptr_t)&seed;
	return (seed + __atomic_fetch_add(&made, 1, __ATOMIC_RELAXED)) *
	       0x9e3779b97f4a7c15ull;
}

struct percpu_registry *percpu_registry_new(void)
{
	struct percpu_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (stats_table_init(&r->by_name) || stats_table_init(&r->by_labels)) {
		stats_table_destroy(&r->by_name);
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->tail = &r->families;
	r->seed = random_seed();
	r->limits = stats_default_limits;
	return r;
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
	stats_table_destroy(&r->by_name);
	stats_table_destroy(&r->by_labels);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
