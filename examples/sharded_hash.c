// SPDX-License-Identifier: MIT
/*
 * sharded_hash: count keys in per-CPU hash tables behind a sharded lock.
 * Each CPU has its own table, with its lock word in the same per-CPU
 * object; percpu_lock() takes the calling CPU's lock (without an atomic
 * instruction in rseq mode) and says which table that is, so threads on
 * different CPUs never touch the same lock or bucket. A reader merges the
 * tables once the writers are done. The counts are checked against what
 * the threads inserted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <percpu.h>

#define THREADS 4
#define INSERTS 100000		/* per thread */
#define KEYS 500		/* distinct keys */
#define BUCKETS 64
_Static_assert(INSERTS % KEYS == 0, "every key inserted as often");

struct entry {
	struct entry *next;
	char key[16];
	long count;
};

/* One per CPU: the lock word first (percpu_lock() wants an intptr_t). */
struct table {
	intptr_t lock;
	struct entry *bucket[BUCKETS];
};

static struct table *tables;

static unsigned int hash(const char *s)
{
	unsigned int h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % BUCKETS;
}

/* The entry for key in t, created if missing; NULL if out of memory. */
static struct entry *lookup(struct table *t, const char *key, int create)
{
	struct entry **head = &t->bucket[hash(key)], *e;

	for (e = *head; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	if (!create || !(e = calloc(1, sizeof(*e))))
		return NULL;
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->next = *head;
	*head = e;
	return e;
}

/* Count one occurrence of key in this CPU's table. */
static int count_key(const char *key)
{
	int shard = percpu_lock(&tables->lock);
	struct table *t = (struct table *)percpu_ptr(tables, shard);
	struct entry *e = lookup(t, key, 1);

	if (e)
		e->count++;
	percpu_unlock(&tables->lock, shard);
	return e ? 0 : -1;
}

static void key_name(char *buf, size_t len, unsigned int i)
{
	snprintf(buf, len, "key%u", i % KEYS);
}

static void *worker(void *arg)
{
	char key[16];

	(void)arg;
	for (unsigned int i = 0; i < INSERTS; i++) {
		key_name(key, sizeof(key), i);
		if (count_key(key))
			return (void *)1;
	}
	return NULL;
}

/* After the writers: a key's count, summed over every CPU's table. */
static long total(const char *key)
{
	long sum = 0;

	for (int s = 0; s < percpu_nr_shards(); s++) {
		struct entry *e = lookup((struct table *)percpu_ptr(tables, s),
					 key, 0);

		sum += e ? e->count : 0;
	}
	return sum;
}

static void free_tables(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++) {
		struct table *t = (struct table *)percpu_ptr(tables, s);

		for (int b = 0; b < BUCKETS; b++)
			while (t->bucket[b]) {
				struct entry *e = t->bucket[b];

				t->bucket[b] = e->next;
				free(e);
			}
	}
	percpu_free(tables);
}

int main(void)
{
	pthread_t tid[THREADS];
	void *failed = NULL, *r;
	long wrong = 0, expected = (long)THREADS * (INSERTS / KEYS);
	char key[16];

	tables = (struct table *)percpu_alloc(sizeof(*tables));
	if (!tables)
		return perror("percpu_alloc"), 1;
	for (int t = 0; t < THREADS; t++)
		if (pthread_create(&tid[t], NULL, worker, NULL))
			return fprintf(stderr, "pthread_create failed\n"), 1;
	for (int t = 0; t < THREADS; t++)
		if (!pthread_join(tid[t], &r) && r)
			failed = r;
	for (unsigned int k = 0; k < KEYS; k++) {
		key_name(key, sizeof(key), k);
		wrong += total(key) != expected;
	}
	key_name(key, sizeof(key), 0);
	printf("%d threads x %d inserts of %d keys into %d per-CPU tables: "
	       "%s = %ld, %ld keys miscounted\n", THREADS, INSERTS, KEYS,
	       percpu_nr_shards(), key, total(key), wrong);
	free_tables();
	return failed || wrong ? 1 : 0;
}
