/* SPDX-License-Identifier: MIT */
/*
 * src/stats/registry.h: the registry's structures, shared by the registry
 * (registry.c), the checks of what it is given (text.c), its
 * hash tables (table.c) and the export (export.c). Not
 * installed.
 *
 * Families and series are only ever appended, each fully built before a
 * release store links it in, and freed only with the registry: an export
 * walks the lists with acquire loads and no lock, while registrations
 * (serialized by the mutex) go on. The hash tables that find a family or a
 * series are used under the mutex only.
 */
#ifndef PERCPU_STATS_REGISTRY_H
#define PERCPU_STATS_REGISTRY_H

#include <stddef.h>
#include "internal.h"

enum stats_kind {
	STATS_COUNTER,
	STATS_GAUGE,
	STATS_UPDOWN,
	STATS_HISTOGRAM,
};

/* A chained hash table of nodes embedded in families or series. */
struct stats_hnode {
	struct stats_hnode *next;
	uint64_t hash;
};

struct stats_table {
	struct stats_hnode **heads;
	size_t mask;		/* heads - 1, a power of two minus one */
	size_t count;
};

#define stats_container(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

struct stats_family;

struct stats_series {
	struct stats_series *next;
	struct stats_hnode hnode;	/* in the registry's series table */
	const struct stats_family *family;
	char *labels;		/* canonical (stats_labels_canonical); "" */
	double scale;		/* histograms: exported value per unit */
	union {
		struct percpu_counter counter;
		struct percpu_gauge gauge;
		struct percpu_updown updown;
		struct percpu_histogram histogram;
	} m;
};

struct stats_family {
	struct stats_family *next;
	struct stats_hnode hnode;	/* in the registry's family table */
	char *name;
	char *help;		/* NULL: no # HELP line */
	enum stats_kind kind;
	/* Histograms with chosen bounds (nr_le > 0): the bounds, their
	 * recorded values (stats_le_raw) and the scale every series has. */
	double *le;
	uint64_t *le_raw;
	size_t nr_le;
	double le_scale;
	struct stats_series *series;
	struct stats_series **tail;	/* where the next series is linked */
};

struct percpu_registry {
	pthread_mutex_t lock;	/* serializes registrations */
	struct stats_family *families;
	struct stats_family **tail;	/* where the next family is linked */
	struct stats_table by_name;	/* families */
	struct stats_table by_labels;	/* series, across families */
	uint64_t seed;			/* of both tables' hashes */
	struct percpu_registry_limits limits;	/* fields read relaxed */
};

/* text.c: what a registration may put in the exposition. */
int stats_name_check(const char *name, size_t max_bytes);
int stats_help_check(const char *help, size_t max_bytes);
char *stats_labels_canonical(const char *labels, int histogram,
			     const struct percpu_registry_limits *l);
int stats_has_total(const char *name);

/* limits.c */
extern const struct percpu_registry_limits stats_default_limits;
void stats_load_limits(const struct percpu_registry *r,
		       struct percpu_registry_limits *l);

/* buckets.c: chosen histogram bounds. */
int stats_le_check(const double *le, size_t n, double scale);
uint64_t stats_le_raw(double le, double scale);

/* table.c */
uint64_t stats_hash(uint64_t h, const char *s, size_t len);
int stats_table_init(struct stats_table *t);
void stats_table_destroy(struct stats_table *t);
struct stats_hnode *stats_table_chain(const struct stats_table *t,
				      uint64_t hash);
void stats_table_insert(struct stats_table *t, struct stats_hnode *n);

static inline struct stats_family *stats_first_family(
	const struct percpu_registry *r)
{
	return __atomic_load_n(&r->families, __ATOMIC_ACQUIRE);
}

static inline struct stats_family *stats_next_family(
	const struct stats_family *f)
{
	return __atomic_load_n(&f->next, __ATOMIC_ACQUIRE);
}

static inline struct stats_series *stats_first_series(
	const struct stats_family *f)
{
	return __atomic_load_n(&f->series, __ATOMIC_ACQUIRE);
}

static inline struct stats_series *stats_next_series(
	const struct stats_series *s)
{
	return __atomic_load_n(&s->next, __ATOMIC_ACQUIRE);
}

#endif
