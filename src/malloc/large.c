// SPDX-License-Identifier: MIT
/*
 * src/malloc/large.c: objects above 32 KiB, or aligned beyond what a
 * class gives: one anonymous mapping each, rounded up to pages, aligned
 * by mapping more and unmapping the ends. A registry (an open-addressing
 * hash table in its own mapping, under a mutex) knows every one, so that
 * free() and malloc_usable_size() find the length, and a pointer that is
 * neither in the range nor in the registry is known not to be ours without
 * reading memory around it. realloc() of a page-aligned one moves it with
 * mremap(): no copy.
 *
 * Freed mappings up to 4 MiB are kept for reuse (16 of them, 16 MiB at
 * most), so that a program that allocates and frees buffers of 64 KiB or
 * 1 MiB in a loop does not map, fault in and unmap them each time. A kept
 * mapping serves a request of at least half its length, at the alignment
 * asked, the smallest that fits first (it may waste up to half of a
 * mapping's pages, which malloc_usable_size() then reports as usable);
 * calloc() then zeroes it (a fresh mapping is already zero).
 * malloc_trim() unmaps them.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "malloc_internal.h"

#define PAGE ((size_t)4096)
#define TABLE_MIN 1024u

struct large {
	uintptr_t p;		/* 0: empty slot */
	size_t len;		/* the mapping at p */
};

/*
 * Adaptive (it spins a little before it sleeps): what it guards is a few
 * probes of the table and of the kept list, far shorter than a futex
 * sleep and wake-up. Sleeping made two threads that allocate large
 * objects now and then spend a seventh of their time in the scheduler.
 */
static pthread_mutex_t large_mu = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static struct large *table;
static size_t table_cap;	/* a power of two */
static size_t table_count;
static uint64_t table_bytes;

#define KEEP_MAX 16
#define KEEP_LEN ((size_t)4 << 20)
#define KEEP_BYTES ((size_t)16 << 20)

static struct large kept[KEEP_MAX];	/* freed mappings, not in the table */
static size_t nr_kept, kept_bytes;

static size_t slot_of(uintptr_t p, size_t cap)
{
	return (size_t)(((p >> 12) * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static void put(struct large *t, size_t cap, struct large e)
{
	size_t i = slot_of(e.p, cap);

	while (t[i].p)
		i = (i + 1) & (cap - 1);
	t[i] = e;
}

/* Room for one more entry; -1 if a bigger table could not be mapped. */
static int reserve_slot(void)
{
	size_t cap = table_cap ? table_cap * 2 : TABLE_MIN;
	struct large *t;

	if ((table_count + 1) * 2 <= table_cap)
		return 0;
	t = mmap(NULL, cap * sizeof(*t), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < table_cap; i++)
		if (table[i].p)
			put(t, cap, table[i]);
	if (table)
		munmap(table, table_cap * sizeof(*t));
	table = t;
	table_cap = cap;
	return 0;
}

static struct large *find(uintptr_t p)
{
	size_t i;

	if (!table_cap)
		return NULL;
	for (i = slot_of(p, table_cap); table[i].p; i = (i + 1) & (table_cap - 1))
		if (table[i].p == p)
			return &table[i];
	return NULL;
}

/* Remove e, shifting back the entries of its cluster behind it. */
static void erase(struct large *e)
{
	size_t i = (size_t)(e - table), j = i, home;

	for (;;) {
		j = (j + 1) & (table_cap - 1);
		if (!table[j].p)
			break;
		home = slot_of(table[j].p, table_cap);
		if (((j - home) & (table_cap - 1)) >= ((j - i) & (table_cap - 1))) {
			table[i] = table[j];
			i = j;
		}
	}
	table[i].p = 0;
	table_count--;
}

static int insert(uintptr_t p, size_t len)
{
	if (reserve_slot())
		return -1;
	put(table, table_cap, (struct large){ p, len });
	table_count++;
	table_bytes += len;
	return 0;
}

static void *map_aligned(size_t len, size_t align)
{
	size_t extra = align > PAGE ? align - PAGE : 0;
	char *base = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	if (base == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)base + align - 1) & ~(uintptr_t)(align - 1));
	if (p > base)
		munmap(base, (size_t)(p - base));
	if (base + len + extra > p + len)
		munmap(p + len, (size_t)(base + len + extra - (p + len)));
	return p;
}

/* The smallest kept mapping for len bytes at align, registered; NULL if
 * none fits. Lock held. */
static void *reuse(size_t len, size_t align)
{
	size_t best = nr_kept;
	struct large k;

	for (size_t i = 0; i < nr_kept; i++)
		if (kept[i].len >= len && kept[i].len - len <= len &&
		    kept[i].p % align == 0 &&
		    (best == nr_kept || kept[i].len < kept[best].len))
			best = i;
	if (best == nr_kept)
		return NULL;
	k = kept[best];
	if (insert(k.p, k.len))
		return NULL;
	kept[best] = kept[--nr_kept];
	kept_bytes -= k.len;
	return (void *)k.p;
}

/* size bytes aligned to align (a power of two); zeroed if `zero` (or
 * fresh); NULL with ENOMEM. */
void *large_alloc(size_t size, size_t align, int zero)
{
	size_t len;
	void *p;

	if (align < PAGE)
		align = PAGE;
	if (size > SIZE_MAX / 2 || align > SIZE_MAX / 4) {
		errno = ENOMEM;
		return NULL;
	}
	len = (size + PAGE - 1) & ~(PAGE - 1);
	if (!len)
		len = PAGE;
	pthread_mutex_lock(&large_mu);
	p = nr_kept ? reuse(len, align) : NULL;
	pthread_mutex_unlock(&large_mu);
	if (p) {
		if (zero)
			memset(p, 0, size);
		gstat_add(G_LARGE_ALLOC, 1);
		return p;
	}
	p = map_aligned(len, align);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&large_mu);
	if (insert((uintptr_t)p, len)) {
		pthread_mutex_unlock(&large_mu);
		munmap(p, len);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_unlock(&large_mu);
	gstat_add(G_LARGE_ALLOC, 1);
	return p;
}

/* Keep a freed mapping if there is room. Lock held. */
static int keep(uintptr_t p, size_t len)
{
	if (len > KEEP_LEN || nr_kept == KEEP_MAX ||
	    kept_bytes + len > KEEP_BYTES)
		return 0;
	kept[nr_kept++] = (struct large){ p, len };
	kept_bytes += len;
	return 1;
}

/* Unmap every kept mapping (malloc_trim). */
void large_trim(void)
{
	struct large out[KEEP_MAX];
	size_t n;

	pthread_mutex_lock(&large_mu);
	n = nr_kept;
	memcpy(out, kept, n * sizeof(out[0]));
	nr_kept = 0;
	kept_bytes = 0;
	pthread_mutex_unlock(&large_mu);
	for (size_t i = 0; i < n; i++)
		munmap((void *)out[i].p, out[i].len);
}

int large_free(void *p)
{
	struct large *e;
	size_t len;

	pthread_mutex_lock(&large_mu);
	e = find((uintptr_t)p);
	if (!e) {
		pthread_mutex_unlock(&large_mu);
		return 0;
	}
	len = e->len;
	table_bytes -= len;
	erase(e);
	if (keep((uintptr_t)p, len)) {
		pthread_mutex_unlock(&large_mu);
		gstat_add(G_LARGE_FREE, 1);
		return 1;
	}
	pthread_mutex_unlock(&large_mu);
	munmap(p, len);
	gstat_add(G_LARGE_FREE, 1);
	return 1;
}

size_t large_usable(const void *p)
{
	struct large *e;
	size_t len;

	pthread_mutex_lock(&large_mu);
	e = find((uintptr_t)p);
	len = e ? e->len : 0;
	pthread_mutex_unlock(&large_mu);
	return len;
}

/* Resize a large object to size (> MAX_SMALL) with mremap(); NULL with
 * errno ENOMEM if the kernel refused (p is then unchanged). */
void *large_realloc(void *p, size_t size)
{
	size_t len = (size + PAGE - 1) & ~(PAGE - 1), old;
	struct large *e;
	void *q;

	if (size > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&large_mu);
	e = find((uintptr_t)p);
	old = e ? e->len : 0;
	if (e && old != len) {
		table_bytes -= old;
		erase(e);
	}
	pthread_mutex_unlock(&large_mu);
	if (!old || old == len)
		return old ? p : NULL;
	q = mremap(p, old, len, MREMAP_MAYMOVE);
	pthread_mutex_lock(&large_mu);
	if (q == MAP_FAILED)
		insert((uintptr_t)p, old);	/* the slot it left: no growth */
	else
		insert((uintptr_t)q, len);
	pthread_mutex_unlock(&large_mu);
	if (q == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	return q;
}

void large_lock(void)
{
	pthread_mutex_lock(&large_mu);
}

void large_unlock(void)
{
	pthread_mutex_unlock(&large_mu);
}

void large_counts(uint64_t *objects, uint64_t *bytes)
{
	pthread_mutex_lock(&large_mu);
	*objects = table_count;
	*bytes = table_bytes;
	pthread_mutex_unlock(&large_mu);
}
