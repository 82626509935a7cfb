// SPDX-License-Identifier: MIT
/*
 * src/stats/limits.c: a registry's limits (percpu_registry_get_limits,
 * _set_limits), for callers whose names and labels come from requests.
 */
#include <errno.h>
#include "stats/registry.h"

const struct percpu_registry_limits stats_default_limits = {
	.max_labels = PERCPU_REGISTRY_MAX_LABELS,
	.max_name_bytes = PERCPU_REGISTRY_MAX_NAME_BYTES,
	.max_value_bytes = PERCPU_REGISTRY_MAX_VALUE_BYTES,
	.max_help_bytes = PERCPU_REGISTRY_MAX_HELP_BYTES,
	.max_series = PERCPU_REGISTRY_MAX_SERIES,
};

/* Relaxed, field by field: a registration racing with a change of the
 * limits may see some old and some new, each of them a limit set. */
void stats_load_limits(const struct percpu_registry *r,
		       struct percpu_registry_limits *l)
{
	l->max_labels = __atomic_load_n(&r->limits.max_labels, __ATOMIC_RELAXED);
	l->max_name_bytes = __atomic_load_n(&r->limits.max_name_bytes,
					    __ATOMIC_RELAXED);
	l->max_value_bytes = __atomic_load_n(&r->limits.max_value_bytes,
					     __ATOMIC_RELAXED);
	l->max_help_bytes = __atomic_load_n(&r->limits.max_help_bytes,
					    __ATOMIC_RELAXED);
	l->max_series = __atomic_load_n(&r->limits.max_series, __ATOMIC_RELAXED);
}

int percpu_registry_get_limits(const struct percpu_registry *r,
			       struct percpu_registry_limits *l)
{
	if (!r || !l) {
		errno = EINVAL;
		return -1;
	}
	stats_load_limits(r, l);
	return 0;
}

int percpu_registry_set_limits(struct percpu_registry *r,
			       const struct percpu_registry_limits *l)
{
	if (!r || !l) {
		errno = EINVAL;
		return -1;
	}
	__atomic_store_n(&r->limits.max_labels, l->max_labels, __ATOMIC_RELAXED);
	__atomic_store_n(&r->limits.max_name_bytes, l->max_name_bytes,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&r->limits.max_value_bytes, l->max_value_bytes,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&r->limits.max_help_bytes, l->max_help_bytes,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&r->limits.max_series, l->max_series, __ATOMIC_RELAXED);
	return 0;
}
