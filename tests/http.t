#!/bin/sh
# SPDX-License-Identifier: MIT
# libpercpu-http (percpu_http(3)), in rseq, lock and mixed mode: the unit
# tests of tests/http.c, then its server scraped with curl while threads
# add (in mixed mode the odd ones on the lock path) and after they stopped:
# each thread's mode, the content type, exact values, promtool check
# metrics, OpenMetrics when Accept asks for it (read by prometheus_client's
# strict parser), HEAD, 404, 405, and the port closed after
# percpu_http_stop(); then percpu-stats-demo --serve. Skipped where
# libmicrohttpd is not installed: the Makefile then builds no
# libpercpu-http. promtool and the parser are skipped where missing
# (scripts/install-deps installs both).
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/http

if ! pkg-config --exists libmicrohttpd 2>/dev/null; then
	echo "1..0 # SKIP libmicrohttpd is not installed (libmicrohttpd-dev)"
	exit 0
fi
if ! command -v curl >/dev/null 2>&1; then
	echo "1..0 # SKIP curl is not installed"
	exit 0
fi
dir=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
have_promtool=$(command -v promtool)
/usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' \
	2>/dev/null && have_parser=1 || have_parser=

# ok_if description command...: one TAP line, ok if the command succeeds.
ok_if() {
	what=$1
	shift
	"$@" && tap_line OK "$what" || tap_line NOTOK "$what"
}

# skip_unless tool description command...: ok_if, or a skip without tool.
skip_unless() {
	if [ -z "$1" ]; then
		tap_line OK "$2 # SKIP not installed"
	else
		shift
		ok_if "$@"
	fi
}

# get path [curl options]: the status and content type, the body in
# $dir/body and the headers in $dir/headers.
get() {
	path=$1
	shift
	curl -s -m 10 -D "$dir/headers" -o "$dir/body" \
		-w '%{http_code} %{content_type}' "$@" "http://127.0.0.1:$port$path"
}

adds_sum() {
	awk '/^http_test_adds_total\{/ { s += $2 } END { print s + 0 }' "$dir/body"
}

promtool_clean() {
	out=$(promtool check metrics <"$1" 2>&1) && [ -z "$out" ] && return 0
	echo "$out" | sed 's/^/    # /'
	return 1
}

# The values the threads counted themselves, each exactly in the body.
exact_values() {
	total=0
	while read -r word i n; do
		[ "$word" = thread ] || continue
		grep -qx "http_test_adds_total{thread=\"$i\"} $n" "$dir/body" ||
			return 1
		total=$((total + n))
	done <"$dir/out"
	[ "$total" -gt 0 ] &&
		grep -qx "http_test_values_count $total" "$dir/body" &&
		grep -qx "http_test_values_bucket{le=\"+Inf\"} $total" "$dir/body" &&
		grep -qx 'http_test_in_flight 0' "$dir/body" &&
		grep -qx 'http_test_threads 3' "$dir/body"
}

# modes_ran name modes: each adder ran in its mode (tests/http.c prints
# "mode I rseq|lock"), and the lock path counted at least one operation
# for each add of the lock-mode adders.
modes_ran() {
	ran=$(awk '/^mode / { printf "%s%s", sep, $3; sep = " " }' "$dir/out")
	ok_if "$1: the adders ran in the modes asked for ($ran; want $2)" \
		test "$ran" = "$2"
	locked=$(awk '/^mode / && $3 == "lock" { lock[$2] = 1 }
		/^thread / { n[$2] = $3 }
		END { for (i in lock) s += n[i]; print s + 0 }' "$dir/out")
	ops=$(sed -n 's/^lock_path_ops //p' "$dir/out")
	ok_if "$1: lock-path operations ($ops) cover the lock-mode adds ($locked)" \
		test "${ops:-0}" -ge "$locked"
}

while_running() {
	name=$1
	ok_if "$name: GET /metrics: 200, Prometheus text 0.0.4" test \
		"$(get /metrics)" = "200 text/plain; version=0.0.4; charset=utf-8"
	first=$(adds_sum)
	skip_unless "$have_promtool" "$name: promtool check metrics accepts it" \
		promtool_clean "$dir/body"
	get /metrics >/dev/null
	ok_if "$name: the counters grow between two scrapes ($first, $(adds_sum))" \
		test "$(adds_sum)" -gt "$first"
}

openmetrics() {
	name=$1
	accept='application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'
	ok_if "$name: Accept: OpenMetrics: 200, application/openmetrics-text" test \
		"$(get /metrics -H "Accept: $accept")" = \
		"200 application/openmetrics-text; version=1.0.0; charset=utf-8"
	ok_if "$name: OpenMetrics: # TYPE http_test_adds counter, # EOF last" \
		sh -c "grep -qx '# TYPE http_test_adds counter' '$dir/body' &&
			tail -n 1 '$dir/body' | grep -qx '# EOF'"
	ok_if "$name: OpenMetrics: the same exact values" exact_values
	cp "$dir/body" "$dir/openmetrics"
	skip_unless "$have_parser" "$name: prometheus_client's OpenMetrics parser accepts it" \
		openmetrics_parses "$dir/openmetrics"
}

after_stop() {
	name=$1
	status=$(get /metrics)
	ok_if "$name: after the threads stop, GET /metrics: 200, 0.0.4 again" \
		test "$status" = "200 text/plain; version=0.0.4; charset=utf-8"
	ok_if "$name: each thread's adds exactly, the histogram's count, in flight 0" \
		exact_values
	skip_unless "$have_promtool" "$name: promtool check metrics accepts it" \
		promtool_clean "$dir/body"
	length=$(wc -c <"$dir/body")
	ok_if "$name: HEAD: 200 and the GET's Content-Length ($length)" sh -c \
		"curl -s -m 10 -I http://127.0.0.1:$port/metrics >'$dir/head' &&
		grep -q '^HTTP/1.1 200' '$dir/head' &&
		grep -qix 'content-length: $length.' '$dir/head'"
	openmetrics "$name"
	root=$(get /)
	sub=$(get /metrics/x)
	ok_if "$name: / and /metrics/x: 404 ($root, $sub)" \
		test "${root%% *} ${sub%% *}" = "404 404"
	for method in POST PUT DELETE; do
		status=$(get /metrics -X $method -d x=1)
		ok_if "$name: $method /metrics: 405, Allow: GET, HEAD (${status%% *})" \
			sh -c "test '${status%% *}' = 405 &&
				grep -qix 'allow: GET, HEAD.' '$dir/headers'"
	done
}

# scrape_mode name modes env...: the server of tests/http.c, scraped;
# modes, the adders' modes to expect, one word each.
scrape_mode() {
	name=$1
	modes=$2
	shift 2
	rm -f "$dir/in" "$dir/out"
	mkfifo "$dir/in"
	env "$@" "$bin" --serve <"$dir/in" >"$dir/out" 2>&1 &
	pid=$!
	exec 3>"$dir/in"
	port=$(wait_line "$dir/out" '^port ' | cut -d' ' -f2)
	ok_if "$name: the server listens on the port the kernel picked ($port)" \
		test -n "$port"
	while_running "$name"
	echo stop >&3
	wait_line "$dir/out" '^stopped$' >/dev/null
	modes_ran "$name" "$modes"
	after_stop "$name"
	exec 3>&-
	wait $pid
	rc=$?
	pid=
	ok_if "$name: at the end of stdin the server stops and the program exits 0" \
		test $rc -eq 0
	ok_if "$name: after percpu_http_stop() the port refuses connections" \
		sh -c "! curl -s -m 10 -o /dev/null http://127.0.0.1:$port/metrics"
	[ $rc -eq 0 ] || sed 's/^/    # /' "$dir/out"
}

PERCPU_TEST_MODE=rseq run_binary "unit tests, rseq" "$bin" --unit
PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "unit tests, lock" "$bin" --unit
PERCPU_TEST_MODE=mixed run_binary "unit tests, mixed" "$bin" --unit
scrape_mode rseq "rseq rseq rseq" PERCPU_TEST_MODE=rseq
scrape_mode lock "lock lock lock" PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1
scrape_mode mixed "rseq lock rseq" PERCPU_TEST_MODE=mixed

# The check can fail: the parser refuses OpenMetrics without # EOF.
sed '$d' "$dir/openmetrics" >"$dir/broken"
skip_unless "$have_parser" "the OpenMetrics parser refuses a text without # EOF" \
	eval '! openmetrics_parses "$dir/broken" >/dev/null'

# percpu-stats-demo --serve: its port first on stdout, then its metrics.
"$BUILD/percpu-stats-demo" --serve 0 --seconds 3 --threads 2 >"$dir/demo" 2>&1 &
pid=$!
port=$(wait_line "$dir/demo" '^# percpu-stats-demo: serving' |
	sed 's|.*:\([0-9]*\)/metrics$|\1|')
ok_if "percpu-stats-demo --serve 0: serves its metrics (port $port)" sh -c \
	"test \"\$(curl -s -m 10 -o '$dir/body' -w '%{http_code}' \
	http://127.0.0.1:$port/metrics)\" = 200 &&
	grep -q '^demo_requests_total{code=\"200\",method=\"GET\"} [1-9]' '$dir/body'"
skip_unless "$have_promtool" "percpu-stats-demo --serve: promtool check metrics accepts it" \
	promtool_clean "$dir/body"
wait $pid
ok_if "percpu-stats-demo --serve: exits 0 after --seconds" test $? -eq 0
pid=
tap_done
