// SPDX-License-Identifier: MIT
/*
 * src/malloc/check.c: the consistency walk (percpu_malloc_check()). For
 * each class, under its central lock: every shard's cache, the transfer
 * cache and every span's free list, each entry checked to be an object of
 * the class handed out from its span and marked in a bitmap (one bit per
 * object of every carved span, in a scratch mapping): an object marked
 * twice is a duplicate, one that is not an object is invalid. A span's
 * free list must be as long as its count. What is not free is in use; the
 * walk's count must equal the central lists' (taken minus given back
 * minus cached).
 */
#include <errno.h>
#include <sys/mman.h>
#include "malloc_internal.h"

#define OBJ_BITS (SPAN_SIZE / MIN_ALIGN)	/* most objects in a span */

struct walk {
	struct percpu_malloc_check r;
	unsigned int cls;
	size_t nspans;
	uint64_t *bits;
	uint64_t free_objs;	/* of this class */
};

static void mark(struct walk *w, void *p)
{
	const struct class_info *ci = &classes[w->cls];
	size_t sp, bit;

	if (!object_valid(p, w->cls)) {
		w->r.invalid++;
		return;
	}
	sp = span_index(p);
	bit = sp * OBJ_BITS +
	      (size_t)((char *)p - span_start(&spans[sp])) / ci->size;
	if (sp >= w->nspans || (w->bits[bit / 64] >> (bit % 64)) & 1) {
		w->r.duplicates += sp < w->nspans;
		w->r.invalid += sp >= w->nspans;
		return;
	}
	w->bits[bit / 64] |= (uint64_t)1 << (bit % 64);
	w->free_objs++;
}

static void mark_all(void *arg, void *const *p, size_t n)
{
	struct walk *w = arg;

	for (size_t i = 0; i < n; i++)
		mark(w, p[i]);
}

static void walk_span(struct walk *w, struct span *sp)
{
	uint32_t n = 0;

	for (void *p = sp->free; p && n <= sp->nfree; p = *(void **)p) {
		if (!object_valid(p, w->cls)) {
			w->r.invalid++;
			break;
		}
		mark(w, p);
		n++;
	}
	if (n != sp->nfree)
		w->r.bad_spans++;
	w->r.spans++;
	w->r.objects += sp->bump;
}

/* Under the class lock: caches, transfer cache (xfer), spans. */
static void walk_class(void *arg, void *const *xfer, size_t nxfer)
{
	struct walk *w = arg;
	struct percpu_stack *s = caches[w->cls];

	for (int sh = 0; s && sh < percpu_nr_shards(); sh++) {
		struct percpu_stack *mine = percpu_ptr(s, sh);

		mark_all(w, mine->slot, (size_t)mine->count);
	}
	mark_all(w, xfer, nxfer);
	tc_walk(w->cls, mark_all, w);
	for (size_t i = 0; i < w->nspans; i++)
		if (span_class[i] == w->cls)
			walk_span(w, &spans[i]);
}

static uint64_t counted_in_use(unsigned int cls)
{
	uint64_t fetched, returned, xfer, cached = cached_objects(cls);

	central_counts(cls, &fetched, &returned, &xfer);
	return fetched - returned - cached;
}

EXPORT int percpu_malloc_check(struct percpu_malloc_check *r)
{
	struct walk w = { .nspans = spans_carved() };
	size_t len = (w.nspans * OBJ_BITS / 8 + 4095) & ~(size_t)4095;
	uint64_t bytes;
	int bad;

	if (len) {
		w.bits = mmap(NULL, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w.bits == MAP_FAILED) {
			errno = ENOMEM;
			return -1;
		}
	}
	for (w.cls = 1; central_ok && w.cls <= NR_CLASSES; w.cls++) {
		w.free_objs = 0;
		central_walk(w.cls, walk_class, &w);
		w.r.free += w.free_objs;
		w.r.in_use_counted += counted_in_use(w.cls);
	}
	if (len)
		munmap(w.bits, len);
	w.r.in_use = w.r.objects - w.r.free;
	large_counts(&w.r.large_objects, &bytes);
	bad = w.r.duplicates || w.r.invalid || w.r.bad_spans ||
	      w.r.in_use != w.r.in_use_counted;
	if (r)
		*r = w.r;
	if (bad)
		errno = EFAULT;
	return bad ? -1 : 0;
}
