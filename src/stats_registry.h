/* SPDX-License-Identifier: MIT */
/*
 * src/stats_registry.h: the registry's structures, shared by the registry
 * and the export. Not installed.
 *
 * Families and series are only ever appended, each fully built before a
 * release store links it in, and freed only with the registry: an export
 * walks the lists with acquire loads and no lock, while registrations
 * (serialized by the mutex) go on.
 */
#ifndef PERCPU_STATS_REGISTRY_H
#define PERCPU_STATS_REGISTRY_H

#include "percpu.h"

enum stats_kind {
	STATS_COUNTER,
	STATS_GAUGE,
	STATS_UPDOWN,
	STATS_HISTOGRAM,
};

struct stats_series {
	struct stats_series *next;
	char *labels;		/* validated; "" for none */
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
	char *name;
	char *help;		/* NULL: no # HELP line */
	enum stats_kind kind;
	struct stats_series *series;
};

struct percpu_registry {
	pthread_mutex_t lock;	/* serializes registrations */
	struct stats_family *families;
};

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
