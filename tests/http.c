// SPDX-License-Identifier: MIT
/*
 * tests/http.c: libpercpu-http (percpu/http.h), driven by tests/http.t.
 *
 * http --unit: TAP: the errors of percpu_http_start() and
 * percpu_http_port(), port 0, a port in use, IPv6, and start and stop
 * repeated without leaking a descriptor.
 *
 * http --serve: a server for the script to scrape with curl. Prints
 * "port N", then threads add to the metrics until a line "stop" comes on
 * stdin; then each thread's own count of its adds ("thread I N": what the
 * exposition must now show, exactly), the mode each thread ran in ("mode
 * I rseq" or "mode I lock": in mixed mode the odd ones take the lock path),
 * the lock-path operations seen ("lock_path_ops N") and "stopped". At the
 * end of stdin it stops the server and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <percpu/http.h>
#include "tap.h"

#define THREADS 3

static struct {
	struct percpu_counter *adds[THREADS];
	struct percpu_updown *in_flight;
	struct percpu_histogram *values;
	pthread_t tid[THREADS];
	uint64_t counted[THREADS];	/* by each thread, apart from percpu */
	enum percpu_mode mode[THREADS];
	int stop;
} srv;

static void *adder(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	uint64_t n = 0;

	test_thread_setup((int)i);
	srv.mode[i] = percpu_mode_get(NULL);
	while (!__atomic_load_n(&srv.stop, __ATOMIC_RELAXED)) {
		percpu_updown_add(srv.in_flight, 1);
		percpu_counter_add(srv.adds[i], 1);
		percpu_histogram_record(srv.values, n & 1023);
		percpu_updown_add(srv.in_flight, -1);
		n++;
	}
	srv.counted[i] = n;
	return NULL;
}

static void register_metrics(struct percpu_registry *r)
{
	char labels[32];

	for (int i = 0; i < THREADS; i++) {
		snprintf(labels, sizeof(labels), "thread=\"%d\"", i);
		srv.adds[i] = percpu_registry_counter(r, "http_test_adds_total",
						      "Adds by thread.", labels);
	}
	srv.in_flight = percpu_registry_updown(r, "http_test_in_flight",
					       "Adds running.", NULL);
	srv.values = percpu_registry_histogram(r, "http_test_values",
					       "Values recorded.", NULL, 1023, 1);
	percpu_gauge_set(percpu_registry_gauge(r, "http_test_threads",
					       "Threads adding.", NULL), THREADS);
}

/* Stdin, a line at a time, until "stop" (1) or its end (0). */
static int wait_for_stop(void)
{
	char line[64];

	while (fgets(line, sizeof(line), stdin))
		if (!strcmp(line, "stop\n"))
			return 1;
	return 0;
}

static void stop_adders(void)
{
	__atomic_store_n(&srv.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(srv.tid[i], NULL);
		printf("thread %d %llu\n", i, (unsigned long long)srv.counted[i]);
	}
	for (int i = 0; i < THREADS; i++)
		printf("mode %d %s\n", i,
		       srv.mode[i] == PERCPU_MODE_LOCK ? "lock" : "rseq");
	printf("lock_path_ops %lu\n", percpu_inject.lock_path_ops);
	printf("stopped\n");
	fflush(stdout);
}

static int serve(void)
{
	struct percpu_registry *r = percpu_registry_new();
	struct percpu_http *h;
	int stopped;

	register_metrics(r);
	h = percpu_http_start(r, "127.0.0.1", 0);
	if (!h) {
		perror("percpu_http_start");
		return 1;
	}
	printf("port %d\n", percpu_http_port(h));
	fflush(stdout);
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&srv.tid[i], NULL, adder, (void *)i);
	stopped = wait_for_stop();
	stop_adders();
	if (stopped)
		wait_for_stop();	/* serves on until the end of stdin */
	percpu_http_stop(h);
	percpu_registry_free(r);
	return 0;
}

/* Whether start fails with err. */
static int refused(struct percpu_registry *r, const char *addr,
		   unsigned int port, int err)
{
	struct percpu_http *h;

	errno = 0;
	h = percpu_http_start(r, addr, port);
	percpu_http_stop(h);
	return !h && errno == err;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void test_errors(struct percpu_registry *r)
{
	ok(refused(NULL, "127.0.0.1", 0, EINVAL), "no registry: EINVAL");
	ok(refused(r, "localhost", 0, EINVAL) && refused(r, "999.0.0.1", 0, EINVAL),
	   "an address that is not numeric: EINVAL");
	ok(refused(r, "127.0.0.1", 65536, EINVAL), "port 65536: EINVAL");
	errno = 0;
	ok(percpu_http_port(NULL) == -1 && errno == EINVAL,
	   "percpu_http_port(NULL): -1, EINVAL");
	percpu_http_stop(NULL);
	ok(1, "percpu_http_stop(NULL) does nothing");
}

static void test_ports(struct percpu_registry *r)
{
	struct percpu_http *h = percpu_http_start(r, "127.0.0.1", 0), *again;
	int port = percpu_http_port(h);

	ok(h && port > 0 && port < 65536, "port 0: the kernel's pick, %d", port);
	ok(h && refused(r, "127.0.0.1", (unsigned int)port, EADDRINUSE),
	   "the same port again: EADDRINUSE");
	percpu_http_stop(h);
	again = percpu_http_start(r, "127.0.0.1", (unsigned int)port);
	ok(again && percpu_http_port(again) == port,
	   "after stop the port is free again");
	percpu_http_stop(again);
	errno = 0;
	h = percpu_http_start(r, "::1", 0);
	if (h || errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)
		ok(1, "IPv6 ::1%s", h ? "" : " # SKIP no IPv6 here");
	else
		ok(0, "IPv6 ::1: %s", strerror(errno));
	percpu_http_stop(h);
}

static void test_no_leak(struct percpu_registry *r)
{
	int before = open_fds(), good = 1;

	for (int i = 0; i < 20; i++) {
		struct percpu_http *h = percpu_http_start(r, "127.0.0.1", 0);

		good &= h != NULL;
		percpu_http_stop(h);
	}
	ok(good && open_fds() == before,
	   "20 starts and stops: no descriptor left (%d before, %d after)",
	   before, open_fds());
}

static int unit(void)
{
	struct percpu_registry *r = percpu_registry_new();

	tap_check_mode();
	test_errors(r);
	test_ports(r);
	test_no_leak(r);
	percpu_registry_free(r);
	return tap_done();
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--unit"))
		return unit();
	if (argc == 2 && !strcmp(argv[1], "--serve"))
		return serve();
	fprintf(stderr, "usage: http --unit | --serve\n");
	return 2;
}
