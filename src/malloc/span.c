// SPDX-License-Identifier: MIT
/*
 * src/malloc/span.c: the reserved range and its spans. One reservation of
 * address space (PROT_NONE, MAP_NORESERVE: no memory, no commit charge),
 * 64 GiB or, if refused, the largest power of two down to 1 GiB that is
 * granted, aligned to the span size. Spans of 256 KiB are carved from its
 * start as classes need them; carving makes the span's pages readable and
 * writable (mprotect), and its class byte says which class its objects
 * belong to, so that any pointer's class is one subtraction, one shift and
 * one load. A span whose objects are all free again goes back to the
 * kernel (MADV_DONTNEED: its pages read as zero afterwards) and onto the
 * list of free spans, from which any class may carve it again.
 */
#include <errno.h>
#include <sys/mman.h>
#include "malloc_internal.h"

uintptr_t range_base;
size_t range_len;
uint8_t span_class[MAX_SPANS];
struct percpu_stack *span_cache[MAX_SPANS];
struct span *spans;
pthread_mutex_t span_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t frontier;		/* spans [0, frontier) carved once */
static struct span *free_spans;	/* released, readable and writable */

static void *reserve(size_t len)
{
	void *p = mmap(NULL, len + SPAN_SIZE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t base, end;

	if (p == MAP_FAILED)
		return NULL;
	base = ((uintptr_t)p + SPAN_SIZE - 1) & ~(uintptr_t)(SPAN_SIZE - 1);
	end = (uintptr_t)p + len + SPAN_SIZE;
	if (base > (uintptr_t)p)
		munmap(p, base - (uintptr_t)p);
	if (end > base + len)
		munmap((void *)(base + len), end - (base + len));
	return (void *)base;
}

/*
 * The range and the span table; -1 if no range could be had. 0 at once if
 * they are there (a fork child finishing its parent's set-up).
 */
int range_init(void)
{
	size_t len, table;
	void *base = NULL, *meta;

	if (__atomic_load_n(&range_len, __ATOMIC_ACQUIRE))
		return 0;
	for (len = RANGE_MAX; len >= RANGE_MIN && !base; len /= 2)
		base = reserve(len);
	if (!base)
		return -1;
	len *= 2;
	table = (len >> SPAN_SHIFT) * sizeof(struct span);
	meta = mmap(NULL, table, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (meta == MAP_FAILED) {
		munmap(base, len);
		return -1;
	}
	spans = meta;
	range_base = (uintptr_t)base;
	__atomic_store_n(&range_len, len, __ATOMIC_RELEASE);
	return 0;
}

#ifdef PERCPU_INJECT
/* Test builds: while set, no span is to be had, as when the range is used
 * up (tests/malloc_carve.c). */
EXPORT int percpu_malloc_no_new_spans;
#else
#define percpu_malloc_no_new_spans 0
#endif

static struct span *span_new(void)
{
	struct span *sp;

	if (percpu_malloc_no_new_spans)
		return NULL;
	if (free_spans) {
		sp = free_spans;
		free_spans = sp->next;
		return sp;
	}
	if (frontier >= (range_length() >> SPAN_SHIFT))
		return NULL;
	sp = &spans[frontier];
	if (mprotect(span_start(sp), SPAN_SIZE, PROT_READ | PROT_WRITE))
		return NULL;
	frontier++;
	return sp;
}

/* A span for class cls, its objects all never handed out; NULL (errno
 * ENOMEM) when the range is used up or the kernel refuses the pages.
 * Called with cls's central lock held. */
struct span *span_carve(unsigned int cls)
{
	struct span *sp;

	pthread_mutex_lock(&span_lock);
	sp = span_new();
	pthread_mutex_unlock(&span_lock);
	if (!sp) {
		errno = ENOMEM;
		return NULL;
	}
	*sp = (struct span){ .cls = (uint8_t)cls };
	__atomic_store_n(&span_class[sp - spans], (uint8_t)cls,
			 __ATOMIC_RELEASE);
	if (!stats_hits)	/* free's table: see caches_by_size_init */
		__atomic_store_n(&span_cache[sp - spans], caches[cls],
				 __ATOMIC_RELEASE);
	gstat_add(G_SPANS_CARVED, 1);
	return sp;
}

/* Give an empty span's pages back and make it free. Called with its
 * class's central lock held, the span off the class's list. */
void span_release(struct span *sp)
{
	int saved = errno;

	__atomic_store_n(&span_cache[sp - spans], NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&span_class[sp - spans], 0, __ATOMIC_RELEASE);
	madvise(span_start(sp), SPAN_SIZE, MADV_DONTNEED);
	*sp = (struct span){ 0 };
	pthread_mutex_lock(&span_lock);
	sp->next = free_spans;
	free_spans = sp;
	pthread_mutex_unlock(&span_lock);
	errno = saved;
	gstat_add(G_SPANS_RELEASED, 1);
}

/* Once the caches are set up, before malloc's tables are published (so
 * that no other thread carves meanwhile): the spans carved before them
 * get theirs. */
void span_caches_init(void)
{
	if (stats_hits)
		return;
	for (size_t i = 0; i < spans_carved(); i++)
		if (span_class[i] && !span_cache[i])
			__atomic_store_n(&span_cache[i], caches[span_class[i]],
					 __ATOMIC_RELEASE);
}

size_t spans_carved(void)
{
	size_t n;

	pthread_mutex_lock(&span_lock);
	n = frontier;
	pthread_mutex_unlock(&span_lock);
	return n;
}

/* Whether p is an object of class cls handed out from its span: at an
 * object boundary, below the span's bump. Class lock held. */
int object_valid(const void *p, unsigned int cls)
{
	const struct class_info *ci = &classes[cls];
	struct span *sp;
	uint64_t off, idx;

	if (!in_range(p) || range_class(p) != cls)
		return 0;
	sp = &spans[span_index(p)];
	off = (uint64_t)((const char *)p - span_start(sp));
	idx = (off * ci->inverse) >> 40;
	return idx * ci->size == off && idx < sp->bump;
}
