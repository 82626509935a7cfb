// SPDX-License-Identifier: MIT
/*
 * src/malloc/central.c: per class, under one mutex, a transfer cache (an
 * array of free objects that moves batches between CPUs' caches without
 * touching spans) and the list of the class's spans that have objects on
 * their free lists. A refill takes from the transfer cache, then from
 * those free lists, then objects never handed out from the span that its
 * shard carves alone, carving a new one when that has none left. An
 * overflow's batch goes to the transfer cache while it has room, else back
 * to its spans; a span whose objects are all back is returned to the
 * kernel, except one kept per class so that a program that allocates and
 * frees around a span boundary does not make a system call each time.
 *
 * A span per shard: when CPUs took fresh objects from one span in turn,
 * each CPU's objects came in runs of a batch (2 KiB of 64-byte objects)
 * between the other's, and two threads on two CPUs, each allocating and
 * freeing its own 1000 objects, ran 3 times slower than with one run each
 * (AMD EPYC: 12 against 4 ns a pair, bench-malloc -w batch -t 2). The
 * cache lines are never shared; runs of 8 KiB were still 3 times slower
 * than 64 KiB in a loop that only writes them, as if each CPU's
 * prefetches reached the other's lines.
 *
 * Every object entering a span's list or the transfer cache is checked:
 * a pointer that is not an object handed out by this class stops the
 * program (as glibc's "free(): invalid pointer"): it can only be a
 * corrupted pointer or a double free of memory already returned.
 */
#include <string.h>
#include "malloc_internal.h"

#define KEEP_EMPTY 1u

struct central {
	pthread_mutex_t lock;
	struct span *list;	/* spans with free objects, newest first */
	uint32_t nxfer;
	uint32_t nempty;	/* spans on the list with nothing in use */
	uint64_t fetched;	/* objects given to caches or callers */
	uint64_t returned;	/* objects given back */
} __attribute__((aligned(64)));

/*
 * The transfer caches apart from the classes' locks and lists, which then
 * share a few pages: a program that never spills to a class's transfer
 * cache leaves its 16 KiB row untouched, where one page per class in use
 * was resident when each row sat beside its class's lock.
 */
static void *xfer_slots[NR_CLASSES + 1][XFER_MAX];

static struct central central[NR_CLASSES + 1] = {
	[0 ... NR_CLASSES] = { .lock = PTHREAD_MUTEX_INITIALIZER },
};

/*
 * Per shard, per class, the span it carves; read and written under the
 * class's lock. Past 64 shards, shards 64 apart share a row, and so their
 * spans. A row is 328 bytes: the rows of a dozen CPUs share one resident
 * page, where a block of per-CPU memory took a page on each CPU.
 */
#define CARVERS 64
static struct span *carving[CARVERS][NR_CLASSES + 1];

static struct span **carving_slot(unsigned int cls, int shard)
{
	return &carving[(unsigned int)shard % CARVERS][cls];
}

static void **xfer_of(const struct central *c)
{
	return xfer_slots[c - central];
}

static uint32_t in_use(const struct span *sp)
{
	return sp->bump - sp->nfree;
}

static void list_add(struct central *c, struct span *sp)
{
	sp->prev = NULL;
	sp->next = c->list;
	if (c->list)
		c->list->prev = sp;
	c->list = sp;
	sp->listed = 1;
}

static void list_del(struct central *c, struct span *sp)
{
	if (sp->prev)
		sp->prev->next = sp->next;
	else
		c->list = sp->next;
	if (sp->next)
		sp->next->prev = sp->prev;
	sp->next = sp->prev = NULL;
	sp->listed = 0;
}

/* Up to n objects of sp's free list into out. */
static size_t span_take(struct central *c, struct span *sp, void **out,
			size_t n)
{
	size_t k = 0;

	if (in_use(sp) == 0)
		c->nempty--;
	for (; k < n && sp->free; k++) {
		out[k] = sp->free;
		sp->free = *(void **)sp->free;
		sp->nfree--;
	}
	if (!sp->free)
		list_del(c, sp);
	return k;
}

/* sp's carving ends: its slot names no span. */
static void carving_end(struct span *sp)
{
	if (sp->carver) {
		*sp->carver = NULL;
		sp->carver = NULL;
	}
}

/*
 * Up to n objects of sp never handed out into out; sp is carved no more
 * once it has none left. Only with the class's list empty (central_take
 * takes free objects first): sp is not on it, so not counted in nempty.
 */
static size_t span_bump(unsigned int cls, struct span *sp, void **out,
			size_t n)
{
	const struct class_info *ci = &classes[cls];
	size_t k = 0;

	for (; k < n && sp->bump < ci->per_span; k++)
		out[k] = span_start(sp) + (size_t)sp->bump++ * ci->size;
	if (sp->bump == ci->per_span)
		carving_end(sp);
	return k;
}

/* A span with objects never handed out: another shard's, when the range
 * has no span left to carve. */
static struct span *any_carving(unsigned int cls)
{
	for (int row = 0; row < CARVERS; row++)
		if (carving[row][cls])
			return carving[row][cls];
	return NULL;
}

/* The span that *slot's shard carves, a new one if it has none. */
static struct span *carving_span(unsigned int cls, struct span **slot)
{
	struct span *sp = *slot;

	if (sp)
		return sp;
	sp = span_carve(cls);
	if (!sp)
		return any_carving(cls);
	sp->carver = slot;
	*slot = sp;
	return sp;
}

size_t central_take(unsigned int cls, void **out, size_t n)
{
	struct central *c = &central[cls];
	struct span **slot = carving_slot(cls, percpu_shard_id());
	struct span *sp;
	size_t k;

	pthread_mutex_lock(&c->lock);
	k = n < c->nxfer ? n : c->nxfer;
	c->nxfer -= (uint32_t)k;
	memcpy(out, xfer_of(c) + c->nxfer, k * sizeof(void *));
	while (k < n && c->list)
		k += span_take(c, c->list, out + k, n - k);
	while (k < n && (sp = carving_span(cls, slot)) != NULL)
		k += span_bump(cls, sp, out + k, n - k);
	c->fetched += k;
	pthread_mutex_unlock(&c->lock);
	return k;
}

/* An empty span off its class's list, its carving ended, to the kernel. */
static void span_drop(struct central *c, struct span *sp)
{
	list_del(c, sp);
	carving_end(sp);
	span_release(sp);
}

/* One object back to its span; the span back to the kernel if it is
 * empty and the class keeps enough empty spans already. */
static void span_give(struct central *c, void *p)
{
	struct span *sp = &spans[span_index(p)];

	*(void **)p = sp->free;
	sp->free = p;
	sp->nfree++;
	if (!sp->listed)
		list_add(c, sp);
	if (in_use(sp) != 0)
		return;
	if (c->nempty < KEEP_EMPTY) {
		c->nempty++;
		return;
	}
	span_drop(c, sp);
}

static void check_objects(unsigned int cls, void **p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (UNLIKELY(!object_valid(p[i], cls)))
			die("free(): invalid pointer");
}

void central_give(unsigned int cls, void **p, size_t n)
{
	struct central *c = &central[cls];
	size_t k;

	pthread_mutex_lock(&c->lock);
	check_objects(cls, p, n);
	k = classes[cls].xfer_cap - c->nxfer;
	k = n < k ? n : k;
	memcpy(xfer_of(c) + c->nxfer, p, k * sizeof(void *));
	c->nxfer += (uint32_t)k;
	for (size_t i = k; i < n; i++)
		span_give(c, p[i]);
	c->returned += n;
	pthread_mutex_unlock(&c->lock);
}

/* Empty the transfer cache into the spans and release every empty span. */
static void central_flush_one(unsigned int cls)
{
	struct central *c = &central[cls];
	struct span *sp, *next;

	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < c->nxfer; i++)
		span_give(c, xfer_of(c)[i]);
	c->nxfer = 0;
	for (sp = c->list; sp; sp = next) {
		next = sp->next;
		if (in_use(sp) == 0) {
			c->nempty--;
			span_drop(c, sp);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

void central_flush(void)
{
	for (unsigned int cls = 1; cls <= NR_CLASSES; cls++)
		central_flush_one(cls);
}

void central_lock_all(void)
{
	for (unsigned int cls = 1; cls <= NR_CLASSES; cls++)
		pthread_mutex_lock(&central[cls].lock);
	pthread_mutex_lock(&span_lock);
}

void central_unlock_all(void)
{
	pthread_mutex_unlock(&span_lock);
	for (unsigned int cls = NR_CLASSES; cls >= 1; cls--)
		pthread_mutex_unlock(&central[cls].lock);
}

void central_counts(unsigned int cls, uint64_t *fetched, uint64_t *returned,
		    uint64_t *xfer)
{
	struct central *c = &central[cls];

	pthread_mutex_lock(&c->lock);
	*fetched = c->fetched;
	*returned = c->returned;
	*xfer = c->nxfer;
	pthread_mutex_unlock(&c->lock);
}

/* fn(arg, transfer cache, its length) with cls's lock held. */
void central_walk(unsigned int cls,
		  void (*fn)(void *arg, void *const *p, size_t n), void *arg)
{
	struct central *c = &central[cls];

	pthread_mutex_lock(&c->lock);
	fn(arg, xfer_of(c), c->nxfer);
	pthread_mutex_unlock(&c->lock);
}
