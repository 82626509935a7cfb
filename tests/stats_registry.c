// SPDX-License-Identifier: MIT
/*
 * tests/stats_registry.c: the registry and its Prometheus exposition, in
 * the mode PERCPU_TEST_MODE names. Threads looking up and creating the same
 * names at once get one metric per series; malformed names and labels,
 * type clashes and bad scales are refused with the documented errno; the
 * exposition is checked byte for byte; the buffer and stream variants and
 * their errors; exports running while series are registered never show a
 * family without its series.
 */
#include <errno.h>
#include <sched.h>
#include "stats_util.h"

#define NAMES 16
#define ROUNDS 200

struct found {
	struct percpu_counter *a[NAMES], *b[NAMES];
	struct percpu_updown *u[NAMES];
	struct percpu_gauge *g[NAMES];
	struct percpu_histogram *h[NAMES];
};

static struct percpu_registry *shared;
static struct found found[THREADS];

static void look_up(struct found *f, int k)
{
	char name[32];

	snprintf(name, sizeof(name), "c%d_total", k);
	f->a[k] = percpu_registry_counter(shared, name, "c", "t=\"a\"");
	f->b[k] = percpu_registry_counter(shared, name, "c", "t=\"b\"");
	snprintf(name, sizeof(name), "u%d", k);
	f->u[k] = percpu_registry_updown(shared, name, "u", NULL);
	snprintf(name, sizeof(name), "g%d", k);
	f->g[k] = percpu_registry_gauge(shared, name, "g", "");
	snprintf(name, sizeof(name), "h%d_seconds", k);
	f->h[k] = percpu_registry_histogram(shared, name, "h", NULL, 1000000,
					    1e-9);
}

/* Each thread walks the names from its own start, so creations collide. */
static void *register_and_count(void *arg, int index)
{
	struct found *f = &found[index];

	(void)arg;
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < NAMES; i++) {
			int k = (i + index * NAMES / THREADS) % NAMES;

			look_up(f, k);
			percpu_counter_add(f->a[k], 1);
			percpu_updown_add(f->u[k], 1);
			percpu_gauge_add(f->g[k], 1);
			percpu_histogram_record(f->h[k], (uint64_t)r);
		}
	return NULL;
}

static int same_everywhere(int k)
{
	int same = 1;

	for (int t = 1; t < THREADS; t++)
		same &= found[t].a[k] == found[0].a[k] &&
			found[t].b[k] == found[0].b[k] &&
			found[t].u[k] == found[0].u[k] &&
			found[t].g[k] == found[0].g[k] &&
			found[t].h[k] == found[0].h[k];
	return same && found[0].a[k] && found[0].b[k] && found[0].a[k] !=
		found[0].b[k] && found[0].u[k] && found[0].g[k] && found[0].h[k];
}

static int counts_add_up(int k)
{
	struct percpu_histogram_snapshot s;
	int good;

	if (percpu_histogram_snapshot_take(found[0].h[k], &s))
		return 0;
	good = s.count == THREADS * ROUNDS &&
	       percpu_counter_sum(found[0].a[k]) == THREADS * ROUNDS &&
	       percpu_counter_sum(found[0].b[k]) == 0 &&
	       percpu_updown_sum(found[0].u[k]) == THREADS * ROUNDS &&
	       percpu_gauge_read(found[0].g[k]) == THREADS * ROUNDS;
	percpu_histogram_snapshot_destroy(&s);
	return good;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p += !!p)
		n += !strncmp(p, prefix, len);
	return n;
}

/* The exposition, 0.0.4 or (om) OpenMetrics, as a string to free(). */
static char *export_format(struct percpu_registry *r, int om)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f || (om ? percpu_registry_write_openmetrics(r, f)
		      : percpu_registry_write(r, f))) {
		if (f)
			fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	return text;
}

static char *export_text(struct percpu_registry *r)
{
	return export_format(r, 0);
}

static void test_concurrent_registration(void)
{
	struct worker w[THREADS];
	int same = 1, counts = 1;
	char *text;

	shared = percpu_registry_new();
	spawn_all(w, THREADS, register_and_count, NULL);
	join_all(w, THREADS);
	for (int k = 0; k < NAMES; k++) {
		same &= same_everywhere(k);
		counts &= counts_add_up(k);
	}
	ok(same, "%d threads registering %d series at once: one metric each",
	   THREADS, 5 * NAMES);
	ok(counts, "every add and record landed in that one metric");
	text = export_text(shared);
	ok(text && count_lines(text, "# TYPE ") == 4 * NAMES &&
	   count_lines(text, "c0_total{") == 2,
	   "exported: %d families, both series of a labelled name", 4 * NAMES);
	free(text);
	percpu_registry_free(shared);
}

/* Whether creating `name{labels}` of a kind fails with `err`. */
static int refused(struct percpu_registry *r, char kind, const char *name,
		   const char *labels, int err)
{
	void *m = NULL;

	errno = 0;
	if (kind == 'c')
		m = percpu_registry_counter(r, name, NULL, labels);
	else if (kind == 'g')
		m = percpu_registry_gauge(r, name, NULL, labels);
	else if (kind == 'h')
		m = percpu_registry_histogram(r, name, NULL, labels, 100, 1);
	return !m && errno == err;
}

static void test_refused_syntax(void)
{
	static const char *const bad_names[] = { "", "1a", "a-b", "a b", "é" };
	static const char *const bad_labels[] = {
		"a=b", "a=\"b", "a=\"b\",", ",a=\"b\"", "a=\"b\"c=\"d\"",
		"__a=\"b\"", "a=\"1\",a=\"2\"", "a=\"\\q\"", "a=\"x\ny\"",
		"1a=\"b\"", "a:b=\"c\"", "a =\"b\"",
	};
	struct percpu_registry *r = percpu_registry_new();
	int good = 1;

	for (int i = 0; i < 5; i++)
		good &= refused(r, 'c', bad_names[i], NULL, EINVAL);
	ok(good && refused(r, 'c', NULL, NULL, EINVAL),
	   "malformed names: NULL, EINVAL");
	for (int i = 0; i < 12; i++)
		good &= refused(r, 'g', "x", bad_labels[i], EINVAL);
	ok(good, "malformed labels: NULL, EINVAL");
	ok(percpu_registry_counter(r, "ns:a_total", NULL,
				   "a=\"\\\\ \\\" \\n é\",b=\"\"") &&
	   percpu_registry_counter(r, "le_total", NULL, "le=\"1\""),
	   "colons in names, escapes and UTF-8 in values, le on a counter");
	ok(refused(r, 'h', "y", "le=\"1\"", EINVAL), "le on a histogram: EINVAL");
	percpu_registry_free(r);
}

static void test_refused_clashes(void)
{
	struct percpu_registry *r = percpu_registry_new();

	percpu_registry_counter(r, "ns:a_total", NULL, NULL);
	ok(refused(r, 'g', "ns:a_total", NULL, EEXIST),
	   "a name registered as another type: EEXIST");
	ok(percpu_registry_histogram(r, "h", NULL, NULL, 100, 1) &&
	   refused(r, 'c', "h_count", NULL, EEXIST) &&
	   refused(r, 'g', "h_bucket", NULL, EEXIST) &&
	   percpu_registry_counter(r, "k_sum", NULL, NULL) &&
	   refused(r, 'h', "k", NULL, EEXIST),
	   "names that would clash with a histogram's lines: EEXIST");
	ok(percpu_registry_counter(r, "c_total", NULL, NULL) &&
	   refused(r, 'g', "c", NULL, EEXIST) &&
	   refused(r, 'c', "c", NULL, EEXIST) &&
	   percpu_registry_counter(r, "d", NULL, NULL) &&
	   refused(r, 'g', "d_total", NULL, EEXIST) &&
	   refused(r, 'h', "d_total", NULL, EEXIST) &&
	   percpu_registry_gauge(r, "e", NULL, NULL) &&
	   refused(r, 'c', "e_total", NULL, EEXIST) &&
	   percpu_registry_gauge(r, "g_total", NULL, NULL) &&
	   percpu_registry_gauge(r, "g", NULL, NULL),
	   "name beside name_total, one a counter (one OpenMetrics family): "
	   "EEXIST; two gauges: both");
	errno = 0;
	ok(!percpu_registry_histogram(r, "z", NULL, NULL, 1, 0) &&
	   !percpu_registry_histogram(r, "z", NULL, NULL, 1, -1) &&
	   !percpu_registry_histogram(r, "z", NULL, NULL, 1, 1.0 / 0.0) &&
	   !percpu_registry_histogram(r, "z", NULL, NULL, 1, 0.0 / 0.0) &&
	   errno == EINVAL, "scale 0, -1, inf, NaN: EINVAL");
	percpu_registry_free(r);
}

static const char expected[] =
	"# HELP http_requests_total Requests \\\\ served.\\nBy method.\n"
	"# TYPE http_requests_total counter\n"
	"http_requests_total{method=\"GET\"} 3\n"
	"http_requests_total{method=\"POST\",path=\"/a\\\"b\"} 0\n"
	"# TYPE temperature_celsius gauge\n"
	"temperature_celsius -5\n"
	"# HELP in_flight In flight.\n"
	"# TYPE in_flight gauge\n"
	"in_flight 1\n"
	"# HELP size_bytes Sizes.\n"
	"# TYPE size_bytes histogram\n"
	"size_bytes_bucket{kind=\"x\",le=\"0\"} 1\n"
	"size_bytes_bucket{kind=\"x\",le=\"1\"} 2\n"
	"size_bytes_bucket{kind=\"x\",le=\"3\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"7\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"15\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"31\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"63\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"127\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"255\"} 5\n"
	"size_bytes_bucket{kind=\"x\",le=\"+Inf\"} 6\n"
	"size_bytes_sum{kind=\"x\"} 506\n"
	"size_bytes_count{kind=\"x\"} 6\n";

/* The same in OpenMetrics: the counter's family without _total, each le
 * a float, # EOF. */
static const char expected_om[] =
	"# HELP http_requests Requests \\\\ served.\\nBy method.\n"
	"# TYPE http_requests counter\n"
	"http_requests_total{method=\"GET\"} 3\n"
	"http_requests_total{method=\"POST\",path=\"/a\\\"b\"} 0\n"
	"# TYPE temperature_celsius gauge\n"
	"temperature_celsius -5\n"
	"# HELP in_flight In flight.\n"
	"# TYPE in_flight gauge\n"
	"in_flight 1\n"
	"# HELP size_bytes Sizes.\n"
	"# TYPE size_bytes histogram\n"
	"size_bytes_bucket{kind=\"x\",le=\"0.0\"} 1\n"
	"size_bytes_bucket{kind=\"x\",le=\"1.0\"} 2\n"
	"size_bytes_bucket{kind=\"x\",le=\"3.0\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"7.0\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"15.0\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"31.0\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"63.0\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"127.0\"} 4\n"
	"size_bytes_bucket{kind=\"x\",le=\"255.0\"} 5\n"
	"size_bytes_bucket{kind=\"x\",le=\"+Inf\"} 6\n"
	"size_bytes_sum{kind=\"x\"} 506\n"
	"size_bytes_count{kind=\"x\"} 6\n"
	"# EOF\n";

/* Every kind, labels and none, help and none, escapes, overflow. */
static struct percpu_registry *example(void)
{
	static const uint64_t sizes[] = { 0, 1, 2, 3, 200, 300 };
	struct percpu_registry *r = percpu_registry_new();
	struct percpu_histogram *h;
	struct percpu_updown *u;

	percpu_counter_add(percpu_registry_counter(r, "http_requests_total",
		"Requests \\ served.\nBy method.", "method=\"GET\""), 3);
	percpu_registry_counter(r, "http_requests_total", "ignored",
				"method=\"POST\",path=\"/a\\\"b\"");
	percpu_gauge_set(percpu_registry_gauge(r, "temperature_celsius", NULL,
					       NULL), -5);
	u = percpu_registry_updown(r, "in_flight", "In flight.", NULL);
	percpu_updown_add(u, 2);
	percpu_updown_add(u, -1);
	h = percpu_registry_histogram(r, "size_bytes", "Sizes.", "kind=\"x\"",
				      255, 1);
	for (int i = 0; i < 6; i++)
		percpu_histogram_record(h, sizes[i]);
	return r;
}

/* example() exported as 0.0.4 or (om) OpenMetrics: want, byte for byte. */
static void test_example(int om, const char *want, const char *what)
{
	struct percpu_registry *r = example();
	char *text = export_format(r, om);

	ok(text && !strcmp(text, want), "%s, byte for byte", what);
	if (text && strcmp(text, want))
		tap_diag("got:\n%s", text);
	free(text);
	percpu_registry_free(r);
}

/* A counter named without _total gets it on its samples only; a quote in
 * help is escaped; a scaled bound keeps its exponent, 0 becomes 0.0. */
static void test_openmetrics_names(void)
{
	struct percpu_registry *r = percpu_registry_new();
	char *text;
	int good;

	percpu_counter_add(percpu_registry_counter(r, "jobs", "Say \"hi\".",
						   NULL), 2);
	percpu_registry_histogram(r, "lat_seconds", NULL, NULL, 1000, 1e-9);
	text = export_format(r, 1);
	good = text && strstr(text, "# HELP jobs Say \\\"hi\\\".\n"
				    "# TYPE jobs counter\njobs_total 2\n") &&
	       strstr(text, "lat_seconds_bucket{le=\"0.0\"} 0\n") &&
	       strstr(text, "lat_seconds_bucket{le=\"1.023e-06\"} 0\n");
	ok(good, "OpenMetrics: jobs_total under # TYPE jobs, \\\" in help, le 0.0");
	if (text && !good)
		tap_diag("got:\n%s", text);
	free(text);
	percpu_registry_free(r);
}

static void test_scaled_histogram(void)
{
	struct percpu_registry *r = percpu_registry_new();
	struct percpu_histogram *h;
	char *text;

	h = percpu_registry_histogram(r, "lat_seconds", "Latency.", NULL, 1000,
				      1e-9);
	percpu_histogram_record(h, 1500);
	percpu_histogram_record(h, 500);
	text = export_text(r);
	ok(text && strstr(text, "lat_seconds_bucket{le=\"5.11e-07\"} 1\n") &&
	   strstr(text, "lat_seconds_bucket{le=\"1.023e-06\"} 1\n") &&
	   strstr(text, "lat_seconds_bucket{le=\"+Inf\"} 2\n") &&
	   strstr(text, "lat_seconds_sum 2e-06\n") &&
	   count_lines(text, "lat_seconds_bucket") == 12,
	   "scaled: le in seconds, 11 boundaries up to the range's top, +Inf");
	free(text);
	percpu_registry_free(r);
}

static void test_buffer(void)
{
	struct percpu_registry *r = example();
	size_t len = 0, want = strlen(expected);
	char buf[2048];
	int rc;

	errno = 0;
	rc = percpu_registry_format(r, buf, 100, &len);
	ok(rc == -1 && errno == ERANGE && len == want && buf[0] == '\0',
	   "buffer too small: -1, ERANGE, the length needed (%zu)", len);
	errno = 0;
	rc = percpu_registry_format(r, buf, want, &len);
	ok(rc == -1 && errno == ERANGE, "no room for the NUL: ERANGE");
	ok(percpu_registry_format(r, NULL, 0, &len) == -1 && errno == ERANGE &&
	   len == want, "size 0: ERANGE and the length");
	rc = percpu_registry_format(r, buf, want + 1, &len);
	ok(rc == 0 && len == want && !strcmp(buf, expected),
	   "exactly enough room: the exposition");
	percpu_registry_free(r);
}

static void test_stream_error(void)
{
	struct percpu_registry *r = example();
	FILE *f = fopen("/dev/null", "r");
	int rc;

	errno = 0;
	rc = f ? percpu_registry_write(r, f) : 0;
	ok(rc == -1 && errno != 0, "a stream that cannot be written: -1, %s",
	   strerror(errno));
	if (f)
		fclose(f);
	percpu_registry_free(r);
}

static void *register_many(void *arg, int index)
{
	char name[32];

	(void)index;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "n%d_total", i);
		percpu_counter_add(percpu_registry_counter(arg, name, "n", NULL),
				   1);
		if (i % 8 == 0)
			sched_yield();
	}
	return NULL;
}

/* One series per family: a family exported without it would show as a
 * # TYPE line without its sample. */
static void test_export_while_registering(void)
{
	struct percpu_registry *r = percpu_registry_new();
	int exports = 0, whole = 1, last = 0;
	struct worker w[1];
	char *text;

	spawn_all(w, 1, register_many, r);
	while (last < 300) {
		text = export_text(r);
		last = text ? count_lines(text, "# TYPE ") : -1;
		whole &= text && count_lines(text, "n") == last;
		exports++;
		free(text);
	}
	join_all(w, 1);
	ok(whole && last == 300,
	   "%d exports during registrations: every family with its series",
	   exports);
	percpu_registry_free(r);
}

int main(void)
{
	tap_check_mode();
	test_concurrent_registration();
	test_refused_syntax();
	test_refused_clashes();
	test_example(0, expected, "exposition");
	test_example(1, expected_om, "OpenMetrics");
	test_openmetrics_names();
	test_scaled_histogram();
	test_buffer();
	test_stream_error();
	test_export_while_registering();
	return tap_done();
}
