// SPDX-License-Identifier: MIT
/*
 * src/malloc/central.c: per class, under one mutex, a transfer cache (an
 * array of free objects that moves batches between CPUs' caches without
 * touching spans) and the list of the class's spans that have room. A
 * refill takes from the transfer cache, then from spans (their free lists,
 * then objects never handed out), carving a span when none has room. An
 * overflow's batch goes to the transfer cache while it has room, else back
 * to its spans; a span whose objects are all back is returned to the
 * kernel, except one kept per class so that a program that allocates and
 * frees around a span boundary does not make a system call each time.
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
	struct span *list;	/* spans with room, most recent first */
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

/* Up to n objects of sp into out. */
static size_t span_take(struct central *c, unsigned int cls, struct span *sp,
			void **out, size_t n)
{
	const struct class_info *ci = &classes[cls];
	size_t k = 0;

	if (in_use(sp) == 0)
		c->nempty--;
	for (; k < n && sp->free; k++) {
		out[k] = sp->free;
		sp->free = *(void **)sp->free;
		sp->nfree--;
	}
	for (; k < n && sp->bump < ci->per_span; k++)
		out[k] = span_start(sp) + (size_t)sp->bump++ * ci->size;
	if (!sp->free && sp->bump == ci->per_span)
		list_del(c, sp);
	return k;
}

size_t central_take(unsigned int cls, void **out, size_t n)
{
	struct central *c = &central[cls];
	size_t k;

	pthread_mutex_lock(&c->lock);
	k = n < c->nxfer ? n : c->nxfer;
	c->nxfer -= (uint32_t)k;
	memcpy(out, xfer_of(c) + c->nxfer, k * sizeof(void *));
	while (k < n) {
		struct span *sp = c->list;

		if (!sp) {
			sp = span_carve(cls);
			if (!sp)
				break;
			list_add(c, sp);
			c->nempty++;
		}
		k += span_take(c, cls, sp, out + k, n - k);
	}
	c->fetched += k;
	pthread_mutex_unlock(&c->lock);
	return k;
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
	list_del(c, sp);
	span_release(sp);
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
			list_del(c, sp);
			c->nempty--;
			span_release(sp);
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
