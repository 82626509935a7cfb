// SPDX-License-Identifier: MIT
/*
 * percpu-stats-demo: worker threads serve simulated requests and count
 * them in a registry of per-CPU metrics (percpu/stats.h): requests by
 * method and status, latency and response size histograms, requests in
 * flight. The main thread prints the Prometheus exposition every interval;
 * --once prints a single one, with nothing else, for promtool;
 * --openmetrics prints OpenMetrics instead. Built with libpercpu-http,
 * --serve PORT also serves the metrics at http://ADDR:PORT/metrics while
 * it runs (port 0: one the kernel picks, printed).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <percpu.h>
#ifdef PERCPU_DEMO_HTTP
#include <percpu/http.h>
#endif

#define MAX_THREADS 256
/* Tracked ranges, [0, 2^36) ns and [0, 2^30) bytes: beyond, values still
 * count in +Inf, _sum and _count. */
#define LATENCY_MAX_NS 60000000000ull
#define SIZE_MAX_BYTES ((1ull << 30) - 1)

/* What a worker updates, looked up once: lookups take a mutex. */
struct metrics {
	struct percpu_counter *requests[2][2];	/* [method][failed] */
	struct percpu_histogram *latency[2];	/* [method] */
	struct percpu_histogram *size;
	struct percpu_updown *in_flight;
	struct percpu_gauge *workers;
};

static const char *const method_labels[2] = { "method=\"GET\"",
					      "method=\"POST\"" };
static const char *const request_labels[2][2] = {
	{ "method=\"GET\",code=\"200\"", "method=\"GET\",code=\"500\"" },
	{ "method=\"POST\",code=\"200\"", "method=\"POST\",code=\"500\"" },
};

static struct {
	unsigned int threads;
	unsigned int seconds;
	unsigned int interval_ms;
	int once;
	int openmetrics;
	int serve;		/* 1: --serve given */
	unsigned int port;
	const char *addr;	/* NULL: every IPv4 interface */
} opt = { 4, 10, 1000, 0, 0, 0, 0, NULL };

static struct metrics m;
static struct percpu_counter interval_requests;	/* read and reset */
static int stop;

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "percpu-stats-demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *must(void *p, const char *what)
{
	if (!p)
		die(what);
	return p;
}

static void register_metrics(struct percpu_registry *r)
{
	for (int k = 0; k < 2; k++) {
		for (int failed = 0; failed < 2; failed++)
			m.requests[k][failed] = must(percpu_registry_counter(
				r, "demo_requests_total", "Requests served.",
				request_labels[k][failed]), "requests");
		m.latency[k] = must(percpu_registry_histogram(
			r, "demo_request_duration_seconds",
			"Time to serve a request.", method_labels[k],
			LATENCY_MAX_NS, 1e-9), "latency");
	}
	m.size = must(percpu_registry_histogram(r, "demo_response_size_bytes",
		"Size of responses.", NULL, SIZE_MAX_BYTES, 1), "size");
	m.in_flight = must(percpu_registry_updown(r, "demo_requests_in_flight",
		"Requests being served.", NULL), "in flight");
	m.workers = must(percpu_registry_gauge(r, "demo_workers",
		"Worker threads running.", NULL), "workers");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t next_rand(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ull;
}

/* The "work": a busy loop of a random length with a long tail, so the
 * latency histogram has a shape; returns the response size. */
static uint64_t serve(uint64_t *rng)
{
	uint64_t r = next_rand(rng);
	unsigned long spins = 200ul << (r % 8);

	for (unsigned long i = 0; i < spins; i++)
		__asm__ __volatile__("" ::: "memory");	/* kept, not folded */
	return 100 + (next_rand(rng) >> (44 + r % 20));
}

static void *worker(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int method = next_rand(&rng) % 4 == 0;
		int failed = next_rand(&rng) % 100 == 0;
		uint64_t t0 = now_ns(), size;

		percpu_updown_add(m.in_flight, 1);
		size = serve(&rng);
		percpu_updown_add(m.in_flight, -1);
		percpu_histogram_record(m.latency[method], now_ns() - t0);
		percpu_histogram_record(m.size, size);
		percpu_counter_add(m.requests[method][failed], 1);
		percpu_counter_add(&interval_requests, 1);
	}
	return NULL;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The interval's count comes from an exact read-and-reset: no request is
 * lost or counted in two intervals, though workers never pause. */
static void write_exposition(struct percpu_registry *r)
{
	if (opt.openmetrics ? percpu_registry_write_openmetrics(r, stdout)
			    : percpu_registry_write(r, stdout))
		die("write");
}

static void report(struct percpu_registry *r, double elapsed)
{
	intptr_t n = 0;

	percpu_counter_reset(&interval_requests, &n);
	printf("# percpu-stats-demo at %.1f s: %ld requests in the last "
	       "interval\n", elapsed, (long)n);
	write_exposition(r);
	printf("\n");
	fflush(stdout);
}

static void run(struct percpu_registry *r)
{
	uint64_t start = now_ns(), end = start + opt.seconds * 1000000000ull;

	while (now_ns() < end) {
		sleep_ms(opt.interval_ms);
		report(r, (double)(now_ns() - start) / 1e9);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: percpu-stats-demo [--threads N] [--seconds N] "
		"[--interval-ms N] [--once]\n"
		"                         [--openmetrics] [--serve PORT] "
		"[--addr ADDR]\n"
		"  --threads N      worker threads (default 4)\n"
		"  --seconds N      run time (default 10)\n"
		"  --interval-ms N  between two expositions (default 1000)\n"
		"  --once           run 200 ms, print one exposition alone\n"
		"  --openmetrics    print OpenMetrics, not Prometheus text\n"
		"  --serve PORT     serve /metrics over HTTP on PORT while it "
		"runs\n"
		"                   (0: a free port, printed)%s\n"
		"  --addr ADDR      the address to serve on (default: every "
		"IPv4 one)\n",
#ifdef PERCPU_DEMO_HTTP
		""
#else
		"; not in this build"
#endif
		);
}

static unsigned int parse_number(const char *s, const char *what,
				 unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "percpu-stats-demo: %s: expected %lu to %lu, "
			"got '%s'\n", what, min, max, s);
		exit(2);
	}
	return (unsigned int)v;
}

static unsigned int parse_count(const char *s, const char *what,
				unsigned long max)
{
	return parse_number(s, what, 1, max);
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, 'o' },
		{ "openmetrics", no_argument, NULL, 'm' },
		{ "serve", required_argument, NULL, 'S' },
		{ "addr", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': opt.threads = parse_count(optarg, "--threads",
						    MAX_THREADS); break;
		case 's': opt.seconds = parse_count(optarg, "--seconds",
						    86400); break;
		case 'i': opt.interval_ms = parse_count(optarg, "--interval-ms",
							3600000); break;
		case 'o': opt.once = 1; break;
		case 'm': opt.openmetrics = 1; break;
		case 'S': opt.serve = 1;
			opt.port = parse_number(optarg, "--serve", 0, 65535);
			break;
		case 'a': opt.addr = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
#ifndef PERCPU_DEMO_HTTP
	if (opt.serve) {
		fprintf(stderr, "percpu-stats-demo: --serve: built without "
			"libpercpu-http (libmicrohttpd was not found)\n");
		exit(2);
	}
#endif
}

#ifdef PERCPU_DEMO_HTTP
static struct percpu_http *server;

/* The server, if --serve: its address goes first on stdout, so that a
 * script that asked for port 0 can read which port it got. */
static void serve_start(struct percpu_registry *r)
{
	if (!opt.serve)
		return;
	server = must(percpu_http_start(r, opt.addr, opt.port), "--serve");
	printf("# percpu-stats-demo: serving http://%s:%d/metrics\n",
	       opt.addr ? opt.addr : "0.0.0.0", percpu_http_port(server));
	fflush(stdout);
}

static void serve_stop(void)
{
	percpu_http_stop(server);
}
#else
/* Without libpercpu-http, parse_options() refuses --serve. */
static void serve_start(struct percpu_registry *r)
{
	(void)r;
}

static void serve_stop(void)
{
}
#endif

int main(int argc, char **argv)
{
	struct percpu_registry *r;
	pthread_t tid[MAX_THREADS];

	parse_options(argc, argv);
	r = must(percpu_registry_new(), "registry");
	register_metrics(r);
	if (percpu_counter_init(&interval_requests))
		die("counter");
	percpu_gauge_set(m.workers, opt.threads);
	for (unsigned int i = 0; i < opt.threads; i++)
		if ((errno = pthread_create(&tid[i], NULL, worker,
					    (void *)(uintptr_t)i)))
			die("pthread_create");
	serve_start(r);
	if (opt.once)
		sleep_ms(200);
	else
		run(r);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < opt.threads; i++)
		pthread_join(tid[i], NULL);
	serve_stop();
	if (opt.once)
		write_exposition(r);
	percpu_registry_free(r);
	percpu_counter_destroy(&interval_requests);
	return 0;
}
