// SPDX-License-Identifier: MIT
/*
 * freelist: a fixed-size object allocator with a per-CPU free list, the
 * shape of a slab allocator's fast path. obj_alloc() pops from the calling
 * CPU's list; only when that list is empty does it take a fresh object from
 * a shared, mutex-protected arena, and when the arena is used up, steal
 * another CPU's list with percpu_list_drain(). obj_free() pushes onto the
 * calling CPU's list. Threads allocate and free in a loop; each object's
 * `owner` field proves that no object is ever handed to two threads at
 * once, and at the end every object is found again, on some CPU's list.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <percpu.h>

#define THREADS 4
#define ROUNDS 200000
#define HELD 8			/* objects a thread holds at once */
#define ARENA (THREADS * HELD)	/* just enough: threads must steal */

struct object {
	struct percpu_list_node node;	/* first: a node is its object */
	int owner;			/* thread holding it, -1 when free */
	char payload[48];
};

static struct percpu_list *free_lists;	/* one list head per CPU */

static struct {
	pthread_mutex_t lock;
	struct object objects[ARENA];
	int used;
} arena = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct object *arena_take(void)
{
	struct object *o = NULL;

	pthread_mutex_lock(&arena.lock);
	if (arena.used < ARENA)
		o = &arena.objects[arena.used++];
	pthread_mutex_unlock(&arena.lock);
	return o;
}

/* Another CPU's whole list: keep its first object, the rest go to ours. */
static struct object *steal(void)
{
	for (int s = 0; s < percpu_nr_shards(); s++) {
		struct percpu_list_node *n = percpu_list_drain(free_lists, s);

		if (!n)
			continue;
		while (n->next) {
			struct percpu_list_node *rest = n->next->next;

			percpu_list_push(free_lists, n->next);
			n->next = rest;
		}
		return (struct object *)n;
	}
	return NULL;
}

/* Never fails: with ARENA objects and at most HELD per thread, some
 * object is free, or about to be freed by its holder. */
static struct object *obj_alloc(void)
{
	for (;;) {
		struct percpu_list_node *n = percpu_list_pop(free_lists, NULL);
		struct object *o = n ? (struct object *)n : arena_take();

		if (!o)
			o = steal();
		if (o)
			return o;
		sched_yield();
	}
}

static void obj_free(struct object *o)
{
	percpu_list_push(free_lists, &o->node);
}

static int failures;

/* Mark o as ours; it must have been free. */
static void claim(struct object *o, int me)
{
	if (__atomic_exchange_n(&o->owner, me, __ATOMIC_ACQUIRE) != -1)
		__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
}

static void release(struct object *o, int me)
{
	if (__atomic_exchange_n(&o->owner, -1, __ATOMIC_RELEASE) != me)
		__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	struct object *held[HELD];

	for (int r = 0; r < ROUNDS / HELD; r++) {
		for (int i = 0; i < HELD; i++) {
			held[i] = obj_alloc();
			claim(held[i], me);
		}
		for (int i = 0; i < HELD; i++) {
			release(held[i], me);
			obj_free(held[i]);
		}
	}
	return NULL;
}

/* Take every CPU's list; returns how many objects were on them. */
static int drain_all(int *per_cpu_max)
{
	int total = 0;

	*per_cpu_max = 0;
	for (int s = 0; s < percpu_nr_shards(); s++) {
		int here = 0;

		for (struct percpu_list_node *n = percpu_list_drain(free_lists, s);
		     n; n = n->next)
			here++;
		total += here;
		*per_cpu_max = here > *per_cpu_max ? here : *per_cpu_max;
	}
	return total;
}

int main(void)
{
	pthread_t tid[THREADS];
	int found, most;

	free_lists = (struct percpu_list *)percpu_alloc(sizeof(*free_lists));
	if (!free_lists)
		return perror("percpu_alloc"), 1;
	for (int i = 0; i < ARENA; i++)
		arena.objects[i].owner = -1;
	for (int t = 0; t < THREADS; t++)
		if (pthread_create(&tid[t], NULL, worker, (void *)(intptr_t)t))
			return fprintf(stderr, "pthread_create failed\n"), 1;
	for (int t = 0; t < THREADS; t++)
		pthread_join(tid[t], NULL);
	found = drain_all(&most);
	percpu_free(free_lists);

	printf("%d threads x %d allocations: %d objects from the arena, "
	       "%d back on the free lists (at most %d on one CPU)\n",
	       THREADS, ROUNDS, arena.used, found, most);
	if (failures || found != arena.used)
		return fprintf(stderr, "freelist: %d ownership errors, %d of "
			       "%d objects found\n", failures, found,
			       arena.used), 1;
	return 0;
}
