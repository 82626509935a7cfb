// SPDX-License-Identifier: MIT
/*
 * request_counter: worker threads count the requests and bytes they serve
 * in per-CPU counters (no atomic instruction, no shared cache line), while
 * a reporter takes each interval's requests with percpu_remote_xchg(): an
 * exact read-and-reset, so no request is lost or counted twice between
 * intervals. Valid C and C++11 (tests/install.t builds it both ways).
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <percpu.h>

#define WORKERS 4
#define REQUESTS 1000000	/* per worker */

struct counters {
	intptr_t requests;
	intptr_t bytes;
};

static struct counters *stats;	/* one copy per CPU */
static int workers_done;

static intptr_t request_size(unsigned int i)
{
	return 64 + i % 128;
}

static void *worker(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < REQUESTS; i++) {
		percpu_add(&stats->requests, 1);
		percpu_add(&stats->bytes, request_size(i));
	}
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The requests counted since the last call, on every CPU, reset to 0. */
static intptr_t take_interval(void)
{
	intptr_t n = 0;

	for (int s = 0; s < percpu_nr_shards(); s++)
		n += percpu_remote_xchg(&stats->requests, s, 0);
	return n;
}

/* A plain sum of every CPU's copy: exact once the writers have stopped. */
static intptr_t sum(intptr_t *field)
{
	intptr_t total = 0;

	for (int s = 0; s < percpu_nr_shards(); s++)
		total += *(intptr_t *)percpu_ptr(field, s);
	return total;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

int main(void)
{
	pthread_t tid[WORKERS];
	intptr_t served = 0, busiest = 0, bytes, want_bytes = 0;
	int intervals = 0;

	stats = (struct counters *)percpu_alloc(sizeof(*stats));
	if (!stats)
		return perror("percpu_alloc"), 1;
	for (int i = 0; i < WORKERS; i++)
		if (pthread_create(&tid[i], NULL, worker, NULL))
			return fprintf(stderr, "pthread_create failed\n"), 1;
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < WORKERS) {
		sleep_ms(1);
		intptr_t n = take_interval();

		served += n;
		busiest = n > busiest ? n : busiest;
		intervals++;
	}
	for (int i = 0; i < WORKERS; i++)
		pthread_join(tid[i], NULL);
	served += take_interval();
	for (unsigned int i = 0; i < REQUESTS; i++)
		want_bytes += WORKERS * request_size(i);

	bytes = sum(&stats->bytes);
	percpu_free(stats);

	printf("%ld requests, %ld bytes, in %d intervals of 1 ms "
	       "(busiest: %ld requests)\n", (long)served, (long)bytes,
	       intervals, (long)busiest);
	if (served != (intptr_t)WORKERS * REQUESTS || bytes != want_bytes)
		return fprintf(stderr, "request_counter: wrong totals\n"), 1;
	return 0;
}
