// SPDX-License-Identifier: MIT
/*
 * src/stats/table.c: the chained hash tables that find a registry's
 * families by name and its series by labels (see registry.h), so that
 * a lookup costs O(1) on average instead of a walk of every series under
 * the registry's mutex.
 *
 * The hash is FNV-1a started from a per-registry random seed: not a keyed
 * cryptographic hash, so a caller who can read the exposition and choose
 * labels may still make chains long; the registry's series limit bounds
 * what that can cost.
 */
#include <stdlib.h>
#include "stats/registry.h"

#define FIRST_HEADS 16
#define FNV_PRIME 0x100000001b3ull

/* Chainable: hash a name, then its suffix, from where the name left off. */
uint64_t stats_hash(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* FNV's low bits are its weakest: fold the high ones in before masking. */
static size_t head_of(const struct stats_table *t, uint64_t hash)
{
	return (size_t)(hash ^ (hash >> 32) ^ (hash >> 17)) & t->mask;
}

int stats_table_init(struct stats_table *t)
{
	t->heads = calloc(FIRST_HEADS, sizeof(*t->heads));
	t->mask = FIRST_HEADS - 1;
	t->count = 0;
	return t->heads ? 0 : -1;
}

void stats_table_destroy(struct stats_table *t)
{
	free(t->heads);
	t->heads = NULL;
}

struct stats_hnode *stats_table_chain(const struct stats_table *t,
				      uint64_t hash)
{
	return t->heads[head_of(t, hash)];
}

/* Twice the heads once there are more nodes than heads. Best effort: if
 * the allocation fails the chains only grow longer, no lookup fails. */
static void grow(struct stats_table *t)
{
	size_t n = (t->mask + 1) * 2;
	struct stats_hnode **old = t->heads, *node, *next;
	struct stats_table bigger = { calloc(n, sizeof(*old)), n - 1, t->count };

	if (!bigger.heads)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		for (node = old[i]; node; node = next) {
			next = node->next;
			node->next = bigger.heads[head_of(&bigger, node->hash)];
			bigger.heads[head_of(&bigger, node->hash)] = node;
		}
	free(old);
	*t = bigger;
}

void stats_table_insert(struct stats_table *t, struct stats_hnode *n)
{
	struct stats_hnode **head;

	if (t->count > t->mask)
		grow(t);
	head = &t->heads[head_of(t, n->hash)];
	n->next = *head;
	*head = n;
	t->count++;
}
