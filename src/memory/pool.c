// SPDX-License-Identifier: MIT
/*
 * src/memory/pool.c: per-CPU memory. A chunk reserves one stride of address space
 * per shard; an object takes the same offset in every stride. Within a
 * stride, 4 KiB pages hold objects of one size class (8 to 4096 bytes, each
 * naturally aligned) or one run of pages for a larger object. Memory is
 * reserved, not committed: a page costs nothing until a shard touches it.
 *
 * The library sits underneath malloc, so the pool's own bookkeeping (the
 * table of chunks, each chunk's page records) comes from mmap, never from
 * the malloc family.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include "internal.h"

#define PAGE 4096u
#define PAGES_PER_STRIDE ((unsigned int)(PERCPU_STRIDE / PAGE))
#define NR_CLASSES 10		/* 8 << 0 .. 8 << 9 = 4096 */
#define PAGE_FREE 0
#define PAGE_RUN_HEAD (NR_CLASSES + 1)
#define PAGE_RUN_TAIL (NR_CLASSES + 2)

struct page_meta {
	uint8_t kind;		/* PAGE_FREE, class + 1, or a run's head/tail */
	uint16_t used;		/* objects in use; a run: its page count */
	uint64_t bits[PAGE / 8 / 64];	/* objects in use, by index */
};

struct chunk {
	char *base;
	struct page_meta page[PAGES_PER_STRIDE];
};

static struct {
	pthread_mutex_t lock;
	unsigned int nr_shards;
	struct chunk **chunks;		/* mmap'd, room for max_chunks */
	unsigned int nr_chunks;
	unsigned int max_chunks;
	unsigned int hint[NR_CLASSES];	/* first page index worth searching */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * Room for one more chunk pointer. The table starts at one page and
 * doubles; mremap moves it without a copy. Under the pool lock, which
 * every reader of the table holds.
 */
static int table_make_room(void)
{
	size_t len = (size_t)pool.max_chunks * sizeof(*pool.chunks);
	size_t want = len ? 2 * len : PAGE;
	void *grown;

	if (pool.nr_chunks < pool.max_chunks)
		return 0;
	if (len)
		grown = mremap(pool.chunks, len, want, MREMAP_MAYMOVE);
	else
		grown = mmap(NULL, want, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (grown == MAP_FAILED)
		return -1;
	pool.chunks = grown;
	pool.max_chunks = (unsigned int)(want / sizeof(*pool.chunks));
	return 0;
}

static struct chunk *chunk_new(void)
{
	size_t len = PERCPU_STRIDE * pool.nr_shards;
	struct chunk *c;
	void *base;

	if (table_make_room())
		return NULL;
	/* The page records (18 KiB): zeroed, as the kernel gives anonymous
	 * memory, and resident a page at a time, as objects come to use
	 * them: a process with a few objects keeps one page of them, where
	 * populating them all made 20 KiB of every process resident. */
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (c == MAP_FAILED || base == MAP_FAILED) {
		if (c != MAP_FAILED)
			munmap(c, sizeof(*c));
		if (base != MAP_FAILED)
			munmap(base, len);
		return NULL;
	}
	/* A huge page would commit 2 MiB for one touched counter. */
	madvise(base, len, MADV_NOHUGEPAGE);
	percpu_numa_place(base);
	c->base = base;
	pool.chunks[pool.nr_chunks++] = c;
	return c;
}

/* The first chunk comes with initialization, so the first objects do not
 * pay for its mappings. */
int percpu_pool_init(unsigned int nr_shards)
{
	pool.nr_shards = nr_shards;
	pthread_mutex_lock(&pool.lock);
	chunk_new();
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

static unsigned int class_of(size_t size)
{
	unsigned int cls = 0;

	while ((size_t)8 << cls < size)
		cls++;
	return cls;
}

static unsigned int class_capacity(unsigned int cls)
{
	return PAGE / (8u << cls);
}

/* A free object in a page of class cls, or NULL; marks it used. */
static void *take_in_page(struct chunk *c, unsigned int pg, unsigned int cls)
{
	struct page_meta *m = &c->page[pg];
	unsigned int cap = class_capacity(cls);

	for (unsigned int i = 0; i < cap; i++) {
		if (m->bits[i / 64] & ((uint64_t)1 << (i % 64)))
			continue;
		m->bits[i / 64] |= (uint64_t)1 << (i % 64);
		m->used++;
		return c->base + (size_t)pg * PAGE + (size_t)i * (8u << cls);
	}
	return NULL;
}

/*
 * Pages are searched from the first one that may have room for the class
 * (pool.hint), so a run of allocations does not rescan full pages.
 */
static void *alloc_small(unsigned int cls)
{
	unsigned int total = pool.nr_chunks * PAGES_PER_STRIDE;

	for (unsigned int i = pool.hint[cls]; i < total; i++) {
		struct chunk *c = pool.chunks[i / PAGES_PER_STRIDE];
		struct page_meta *m = &c->page[i % PAGES_PER_STRIDE];

		if (m->kind == PAGE_FREE)
			m->kind = (uint8_t)(cls + 1);
		if (m->kind == cls + 1 && m->used < class_capacity(cls)) {
			pool.hint[cls] = i;
			return take_in_page(c, i % PAGES_PER_STRIDE, cls);
		}
	}
	pool.hint[cls] = total;
	return chunk_new() ? alloc_small(cls) : NULL;
}

static int run_is_free(const struct chunk *c, unsigned int pg, unsigned int len)
{
	for (unsigned int i = pg; i < pg + len; i++)
		if (c->page[i].kind != PAGE_FREE)
			return 0;
	return 1;
}

static void *alloc_run(unsigned int len)
{
	for (unsigned int k = 0; k < pool.nr_chunks; k++) {
		struct chunk *c = pool.chunks[k];

		for (unsigned int pg = 0; pg + len <= PAGES_PER_STRIDE; pg++) {
			if (!run_is_free(c, pg, len))
				continue;
			for (unsigned int i = pg; i < pg + len; i++)
				c->page[i].kind = PAGE_RUN_TAIL;
			c->page[pg].kind = PAGE_RUN_HEAD;
			c->page[pg].used = (uint16_t)len;
			return c->base + (size_t)pg * PAGE;
		}
	}
	return chunk_new() ? alloc_run(len) : NULL;
}

/* Allocation without initializing the library (used by initialization). */
void *percpu_pool_alloc(size_t size)
{
	void *p;

	if (size == 0 || size > PERCPU_ALLOC_MAX) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&pool.lock);
	if (size <= PAGE)
		p = alloc_small(class_of(size));
	else
		p = alloc_run((unsigned int)((size + PAGE - 1) / PAGE));
	pthread_mutex_unlock(&pool.lock);
	if (!p)
		errno = ENOMEM;
	return p;
}

void *percpu_alloc(size_t size)
{
	percpu_init();
	return percpu_pool_alloc(size);
}

void *percpu_alloc_init(size_t size, const void *init)
{
	char *p;

	if (!init) {
		errno = EINVAL;
		return NULL;
	}
	p = percpu_alloc(size);
	for (unsigned int s = 0; p && s < pool.nr_shards; s++)
		memcpy(p + percpu_shard_offset(s), init, size);
	return p;
}

int percpu_nr_shards(void)
{
	percpu_init();
	return (int)percpu_rt.nr_shards;
}

/* The chunk holding p in its shard-0 stride; *index: its first page's. */
static struct chunk *chunk_of(const char *p, unsigned int *index)
{
	for (unsigned int k = 0; k < pool.nr_chunks; k++) {
		if (p >= pool.chunks[k]->base &&
		    p < pool.chunks[k]->base + PERCPU_STRIDE) {
			*index = k * PAGES_PER_STRIDE;
			return pool.chunks[k];
		}
	}
	return NULL;
}

/*
 * Zero every shard's copy, writing only where a byte is not zero: pages a
 * shard never touched read as the shared zero page and stay uncommitted.
 */
static void zero_all_shards(char *p, size_t size)
{
	for (unsigned int s = 0; s < pool.nr_shards; s++) {
		char *copy = p + percpu_shard_offset(s);

		for (size_t off = 0; off < size; off += PAGE) {
			size_t len = size - off < PAGE ? size - off : PAGE;
			char *q = copy + off;

			if (q[0] || memcmp(q, q + 1, len - 1))
				memset(q, 0, len);
		}
	}
}

/* Page `index` (over all chunks) now has room: for all classes if free. */
static void note_room(unsigned int index, const struct page_meta *m)
{
	for (unsigned int k = 0; k < NR_CLASSES; k++)
		if ((m->kind == PAGE_FREE || m->kind == k + 1) &&
		    pool.hint[k] > index)
			pool.hint[k] = index;
}

static void release_run(char *p, struct page_meta *m)
{
	zero_all_shards(p, (size_t)m->used * PAGE);
	for (unsigned int pg = m->used; pg-- > 0;)
		m[pg].kind = PAGE_FREE;
	m->used = 0;
}

/* Returns 0, or -1 if p is not the start of a live small object. */
static int release_small(char *p, size_t off, struct page_meta *m)
{
	unsigned int size = 8u << (m->kind - 1u);
	unsigned int i = (unsigned int)(off % PAGE) / size;
	uint64_t bit = (uint64_t)1 << (i % 64);

	if ((off % PAGE) % size || !(m->bits[i / 64] & bit))
		return -1;
	zero_all_shards(p, size);
	m->bits[i / 64] &= ~bit;
	if (--m->used == 0)
		m->kind = PAGE_FREE;
	return 0;
}

/* Returns 0, or -1 if p is not the start of a live object. */
static int release(char *p)
{
	unsigned int index = 0;
	struct chunk *c = chunk_of(p, &index);
	size_t off = c ? (size_t)(p - c->base) : 0;
	struct page_meta *m = c ? &c->page[off / PAGE] : NULL;

	if (!m || m->kind == PAGE_FREE || m->kind == PAGE_RUN_TAIL)
		return -1;
	if (m->kind == PAGE_RUN_HEAD) {
		if (off % PAGE)
			return -1;
		release_run(p, m);
	} else if (release_small(p, off, m)) {
		return -1;
	}
	note_room(index + (unsigned int)(off / PAGE), m);
	return 0;
}

int percpu_free(void *p)
{
	int r;

	if (!p)
		return 0;
	pthread_mutex_lock(&pool.lock);
	r = release(p);
	pthread_mutex_unlock(&pool.lock);
	if (r)
		errno = EINVAL;
	return r;
}

/*
 * fork() while another thread holds the pool lock would leave it held for
 * ever in the child, which has only the forking thread: the runtime's
 * atfork handlers take it before the fork and release it after.
 */
void percpu_pool_fork_prepare(void)
{
	pthread_mutex_lock(&pool.lock);
}

void percpu_pool_fork_parent(void)
{
	pthread_mutex_unlock(&pool.lock);
}

/* A fresh mutex: the child's thread has a new id, and a mutex that checks
 * its owner would refuse an unlock from it. */
void percpu_pool_fork_child(void)
{
	pthread_mutex_init(&pool.lock, NULL);
}
