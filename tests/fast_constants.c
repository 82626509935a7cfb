// SPDX-License-Identifier: MIT
/*
 * tests/fast_constants.c: the constants the x86-64 fast paths read
 * (percpu/common.h). Before the library initializes (a constructor of
 * priority 101), the delta is 0, the id it leads to reads -1 and every
 * gate is closed. After, the delta leads to the shard-id field in rseq
 * mode with glibc's registration and stays 0 elsewhere, and the gates of
 * shards -2, -1 and of every id past the shards never read as an id.
 *
 * Then the delta is read as 0, as a load the compiler hoisted above
 * initialization would read it (percpu_inject.stale_delta): in the
 * sections, before them, or both. Alone, no section may commit: every
 * add takes the slow path. Threads (three per CPU, yielding) then run
 * adds, fetch_adds, load+cas and list pops and pushes while main changes
 * the stale reads every few hundred microseconds, so that threads reading
 * 0 meet threads reading the delta on the same shards: sums exact, every
 * node on a list exactly once, every shard word free, every gate open.
 */
#include <unistd.h>
#include "tap.h"

#define NODES_PER_THREAD 4
#define RUN_MS 600
#define SOLO_ADDS 2000

struct node {
	struct percpu_list_node link;
	int seen;
};

struct worker {
	pthread_t id;
	int index;
	long adds;
};

static intptr_t *counter, *fetched, *cased;
static struct percpu_list *list;
static struct node *nodes;
static int nr_nodes, stop;

static struct {
	long delta;
	int32_t id;
	int gates_closed;
} before;

static int32_t dead_id_here(void)
{
	return *(volatile int32_t *)&percpu_dead_id;
}

/* The id the fast paths reach through the delta, in this thread. */
static int32_t id_through_delta(void)
{
	return *(volatile int32_t *)((char *)&percpu_dead_id +
				     percpu_fast_delta);
}

static int gates_closed_from(int first)
{
	for (int s = first; s < PERCPU_GATES_MAX; s++)
		if (percpu_gate_table[s + 2] == (uint32_t)s)
			return 0;
	return 1;
}

/* Not an id: neither a shard nor -1 or -2. */
static int no_id(uint32_t gate)
{
	return (int32_t)gate < -2;
}

__attribute__((constructor(101))) static void before_init(void)
{
	before.delta = percpu_fast_delta;
	before.id = id_through_delta();
	before.gates_closed = gates_closed_from(0) &&
			      no_id(percpu_gate_table[0]) &&
			      no_id(percpu_gate_table[1]);
}

static int libc_registered(void)
{
	const char *reason;

	return percpu_mode_get(&reason) == PERCPU_MODE_RSEQ &&
	       !strcmp(reason, "registered by libc");
}

static void check_constants(void)
{
	long dead = (long)((char *)&percpu_dead_id -
			   (char *)__builtin_thread_pointer());

	ok(before.delta == 0 && before.id == -1 && before.gates_closed,
	   "before initialization: delta %ld, id %d, every gate closed: %d",
	   before.delta, before.id, before.gates_closed);
	ok(dead_id_here() == -1, "percpu_dead_id reads -1");
	if (PERCPU_FAST_CONSTANTS && libc_registered())
		ok(dead + percpu_fast_delta == percpu_rt.shard_offset &&
		   (long)__rseq_offset == percpu_rt.rseq_offset,
		   "the delta leads to the shard-id field of glibc's area");
	else
		ok(percpu_fast_delta == 0,
		   "without glibc's area in rseq mode the delta stays 0 (%ld)",
		   percpu_fast_delta);
	ok(no_id(percpu_gate_table[0]) && no_id(percpu_gate_table[1]) &&
	   gates_closed_from(percpu_nr_shards()),
	   "the gates of shards -2, -1 and past the %d shards are closed",
	   percpu_nr_shards());
}

static unsigned long slow_paths(void)
{
	return __atomic_load_n(&percpu_inject.rseq_retries, __ATOMIC_RELAXED) +
	       __atomic_load_n(&percpu_inject.lock_path_ops, __ATOMIC_RELAXED);
}

/* One thread: with the delta read as 0 anywhere, no add commits inline. */
static void check_stale_alone(void)
{
	int fast = PERCPU_FAST_CONSTANTS && percpu_fast_delta != 0;

	for (unsigned int stale = 0; stale < 4; stale++) {
		unsigned long before_ops = slow_paths(), slow;

		percpu_inject.stale_delta = stale;
		for (int i = 0; i < SOLO_ADDS; i++)
			percpu_add(counter, 1);
		percpu_inject.stale_delta = 0;
		slow = slow_paths() - before_ops;
		if (!fast)
			continue;
		if (stale)
			ok(slow >= SOLO_ADDS, "stale reads %u: %lu of %d adds "
			   "took the slow path", stale, slow, SOLO_ADDS);
		else
			ok(slow < SOLO_ADDS / 2, "no stale read: %lu of %d "
			   "adds took the slow path", slow, SOLO_ADDS);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct percpu_list_node *held = NULL;

	test_thread_setup(w->index);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		percpu_add(counter, 1);
		percpu_fetch_add(fetched, 2, NULL);
		test_cas_increment(cased);
		w->adds++;
		if (held)
			percpu_list_push(list, held);
		held = percpu_list_pop(list, NULL);
		if ((w->adds & 63) == 0)
			sched_yield();
	}
	if (held)
		percpu_list_push(list, held);
	return NULL;
}

/* Every node on some shard's list exactly once. */
static void check_nodes(void)
{
	int found = 0, foreign = 0;

	for (int i = 0; i < nr_nodes; i++)
		nodes[i].seen = 0;
	for (int s = 0; s < percpu_nr_shards(); s++) {
		struct percpu_list *l = percpu_ptr(list, s);

		for (struct percpu_list_node *n = l->head; n; n = n->next) {
			struct node *o = (struct node *)n;

			if (o < nodes || o >= nodes + nr_nodes || o->seen++) {
				foreign++;
				break;
			}
			found++;
		}
	}
	ok(found == nr_nodes && !foreign, "%d of %d nodes on the lists, "
	   "none twice or foreign (%d)", found, nr_nodes, foreign);
}

static void run_mixed_stale(void)
{
	int nr = 3 * percpu_nr_shards() < 4 ? 4 : 3 * percpu_nr_shards();
	struct worker *w = calloc((size_t)nr, sizeof(*w));
	long adds = 0;

	nr_nodes = nr * NODES_PER_THREAD;
	nodes = calloc((size_t)nr_nodes, sizeof(*nodes));
	for (int i = 0; i < nr_nodes; i++)
		percpu_list_push(list, &nodes[i].link);
	for (int i = 0; i < nr; i++) {
		w[i].index = i;
		pthread_create(&w[i].id, NULL, worker_main, &w[i]);
	}
	for (int ms = 0; ms < RUN_MS; ms++) {
		percpu_inject.stale_delta = (unsigned int)ms & 3;
		usleep(300);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nr; i++) {
		pthread_join(w[i].id, NULL);
		adds += w[i].adds;
	}
	percpu_inject.stale_delta = 0;
	ok(test_sum(counter) == adds + 4 * SOLO_ADDS &&
	   test_sum(fetched) == 2 * adds && test_sum(cased) == adds,
	   "%d threads, stale reads changing: sums exact (%ld operations "
	   "of each kind)", nr, adds);
	check_nodes();
	free(w);
}

int main(void)
{
	tap_check_mode();
	counter = percpu_alloc(sizeof(*counter));
	fetched = percpu_alloc(sizeof(*fetched));
	cased = percpu_alloc(sizeof(*cased));
	list = percpu_alloc(sizeof(*list));
	if (!counter || !fetched || !cased || !list) {
		ok(0, "percpu_alloc");
		return tap_done();
	}
	check_constants();
	check_stale_alone();
	run_mixed_stale();
	test_shards_free();
	return tap_done();
}
