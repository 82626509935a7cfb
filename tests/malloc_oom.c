// SPDX-License-Identifier: MIT
/*
 * tests/malloc_oom.c: the allocator's range used up for real. Run under
 * an address-space limit (tests/malloc_oom.t: 1600 MiB) that leaves it
 * the smallest range it accepts, 1 GiB, so that the spans run out long
 * before memory does.
 *
 * Two threads, on CPUs 0 and 1, allocate objects of one class until
 * malloc returns NULL: it must say ENOMEM, after all of the range but the
 * few spans other classes hold was handed out, and never more. Every object
 * carries its address at both ends, so one overlapping another shows when
 * it is freed; one handed out twice is freed twice, a duplicate the walk at
 * the end looks for. Half the objects freed must be had again, all of
 * them, and then no more (ENOMEM again). Once all
 * are freed and malloc_trim() gave the spans back, another class must fill
 * the range again: freed spans go to any class. Last, the consistency walk.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include "tap.h"
#include "percpu_malloc.h"

#define RANGE ((size_t)1 << 30)	/* RANGE_MIN, src/malloc/malloc_internal.h */
#define FIRST_SIZE 4000		/* in class 4096: 64 objects a span */
#define FIRST_CLASS 4096
#define SECOND_SIZE 1000
#define SECOND_CLASS 1024
#define MAX_OBJS (RANGE / SECOND_CLASS)
#define SPAN ((size_t)256 << 10)	/* SPAN_SIZE */
/* Spans the rest of the process (stdio, threads) may hold. */
#define SHORT_SPANS 16

/* Called through this, the compiler cannot assume that malloc leaves
 * errno alone, nor drop a malloc whose result is only tested (clang does
 * both). */
static void *(*volatile call_malloc)(size_t) = malloc;

struct filler {
	int cpu;
	size_t size;
	void **objs;		/* mmap'd: the allocator's range is the test's subject */
	size_t n;
	int err;		/* errno at the NULL */
	long bad;		/* objects whose ends did not hold their address */
};

static void mark(void *p, size_t size)
{
	*(uintptr_t *)p = (uintptr_t)p;
	*(uintptr_t *)((char *)p + size - sizeof(uintptr_t)) = (uintptr_t)p;
}

static int marked(void *p, size_t size)
{
	return *(uintptr_t *)p == (uintptr_t)p &&
	       *(uintptr_t *)((char *)p + size - sizeof(uintptr_t)) ==
		       (uintptr_t)p;
}

static void *fill(void *arg)
{
	struct filler *f = arg;
	void *p;

	test_pin_to(f->cpu);
	test_thread_setup(f->cpu);
	errno = 0;
	while (f->n < MAX_OBJS && (p = call_malloc(f->size)) != NULL) {
		mark(p, f->size);
		f->objs[f->n++] = p;
	}
	f->err = errno;
	return NULL;
}

/* Both fillers, until each met NULL; the objects they got. */
static size_t fill_range(struct filler *f, size_t size)
{
	pthread_t t[2];

	for (int i = 0; i < 2; i++) {
		f[i].cpu = i;
		f[i].size = size;
		f[i].n = 0;
		pthread_create(&t[i], NULL, fill, &f[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return f[0].n + f[1].n;
}

/* Frees objs[from], objs[from + step], ...; counts the spoiled ones. */
static size_t free_every(struct filler *f, size_t from, size_t step)
{
	size_t freed = 0;

	for (size_t i = from; i < f->n; i += step) {
		if (!f->objs[i])
			continue;
		if (!marked(f->objs[i], f->size))
			f->bad++;
		free(f->objs[i]);
		f->objs[i] = NULL;
		freed++;
	}
	return freed;
}

/* Both fillers take objects of `size` until NULL; they fall in a class
 * whose objects are `obj` bytes. */
static void range_used_up(struct filler *f, size_t size, size_t obj)
{
	size_t per = RANGE / obj, slack = SHORT_SPANS * (SPAN / obj);
	size_t got = fill_range(f, size);

	ok(f[0].err == ENOMEM && f[1].err == ENOMEM,
	   "%zu B: malloc gave NULL with ENOMEM on both CPUs (errno %d, %d)",
	   size, f[0].err, f[1].err);
	ok(got + slack >= per && got <= per,
	   "%zu B: %zu objects (%zu and %zu) of the %zu the range holds, "
	   "at most %d spans short", size, got, f[0].n, f[1].n, per,
	   SHORT_SPANS);
}

int main(void)
{
	struct filler f[2];
	struct percpu_malloc_check c;
	size_t freed, again = 0;
	void **extra;
	void *p;
	int rc;

	for (int i = 0; i < 2; i++) {
		f[i].objs = mmap(NULL, MAX_OBJS * sizeof(void *),
				 PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		f[i].bad = 0;
		if (f[i].objs == MAP_FAILED)
			return printf("Bail out! mmap: %s\n", strerror(errno)), 1;
	}
	range_used_up(f, FIRST_SIZE, FIRST_CLASS);

	freed = free_every(&f[0], 0, 2) + free_every(&f[1], 1, 2);
	extra = mmap(NULL, freed * sizeof(void *), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (extra == MAP_FAILED)
		return printf("Bail out! mmap: %s\n", strerror(errno)), 1;
	while (again < freed && (p = call_malloc(FIRST_SIZE)) != NULL) {
		mark(p, FIRST_SIZE);
		extra[again++] = p;
	}
	errno = 0;
	p = call_malloc(FIRST_SIZE);
	ok(again == freed && p == NULL && errno == ENOMEM,
	   "the %zu objects freed are had again (%zu), then ENOMEM (%s)",
	   freed, again, p ? "got one more" : strerror(errno));
	free(p);
	for (size_t i = 0; i < again; i++) {
		if (!marked(extra[i], FIRST_SIZE))
			f[0].bad++;
		free(extra[i]);
	}
	free_every(&f[0], 0, 1);
	free_every(&f[1], 0, 1);
	ok(f[0].bad + f[1].bad == 0,
	   "every object held its address at both ends (%ld spoiled)",
	   f[0].bad + f[1].bad);

	malloc_trim(0);
	range_used_up(f, SECOND_SIZE, SECOND_CLASS);
	free_every(&f[0], 0, 1);
	free_every(&f[1], 0, 1);
	ok(f[0].bad + f[1].bad == 0,
	   "%d B: every object held its address (%ld spoiled)", SECOND_SIZE,
	   f[0].bad + f[1].bad);
	rc = percpu_malloc_check(&c);
	ok(rc == 0 && c.in_use == c.in_use_counted,
	   "consistency walk: %llu spans, %llu objects, %llu free, %llu in "
	   "use (counted %llu), %llu duplicates, %llu invalid, %llu bad spans",
	   (unsigned long long)c.spans, (unsigned long long)c.objects,
	   (unsigned long long)c.free, (unsigned long long)c.in_use,
	   (unsigned long long)c.in_use_counted,
	   (unsigned long long)c.duplicates, (unsigned long long)c.invalid,
	   (unsigned long long)c.bad_spans);
	test_shards_free();
	return tap_done();
}
