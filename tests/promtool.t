#!/bin/sh
# SPDX-License-Identifier: MIT
# The exposition of build/percpu-stats-demo passes `promtool check metrics`
# (no error, no lint), in rseq and in lock mode, and so does that of a
# registry given hostile input (tests/stats_hostile.c). promtool comes with
# Debian's prometheus package, which scripts/install-deps installs: without
# it this test fails rather than skips. Their OpenMetrics expositions pass
# the strict parser of python3's prometheus_client (skipped without it).
. "$(dirname "$0")/lib.sh"
demo="$BUILD/percpu-stats-demo"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

if command -v promtool >/dev/null 2>&1; then
	tap_line OK "promtool is installed"
else
	tap_line NOTOK "promtool is installed (run scripts/install-deps as root)"
fi

# check_mode name env...: the demo's single exposition, then promtool on it.
check_mode() {
	name=$1
	shift
	if env "$@" "$demo" --once --threads 3 >"$out" &&
		grep -q '^# TYPE demo_request_duration_seconds histogram$' "$out" &&
		grep -q '^demo_request_duration_seconds_bucket{method="GET",le="+Inf"} [1-9]' "$out"; then
		tap_line OK "$name: the demo exports its metrics"
	else
		tap_line NOTOK "$name: the demo exports its metrics"
	fi
	problems=$(promtool check metrics <"$out" 2>&1)
	rc=$?
	[ -z "$problems" ] || echo "$problems" | sed 's/^/# /'
	if [ $rc -eq 0 ] && [ -z "$problems" ]; then
		tap_line OK "$name: promtool check metrics finds nothing"
	else
		tap_line NOTOK "$name: promtool check metrics (exit $rc)"
	fi
}

check_mode rseq PERCPU_TEST_MODE=rseq
check_mode lock PERCPU_DISABLE_RSEQ=1

# The check can fail: a counter without _total is a lint problem.
if sed 's/demo_requests_total/demo_requests/' "$out" |
	promtool check metrics >/dev/null 2>&1; then
	tap_line NOTOK "promtool rejects a broken exposition"
else
	tap_line OK "promtool rejects a broken exposition"
fi
# Registrations with labels and help that are not UTF-8, and with blank
# help (refused), beside good ones: what is exported still parses.
if "$BUILD/tests/stats_hostile" --exposition >"$out" &&
	promtool check metrics <"$out" >/dev/null 2>&1; then
	tap_line OK "after refused registrations (not UTF-8, blank help): promtool accepts the exposition"
else
	tap_line NOTOK "after refused registrations (not UTF-8, blank help): promtool accepts the exposition"
fi

# openmetrics_ok description command...: the command's OpenMetrics read
# in full by prometheus_client's parser (lib.sh's openmetrics_parses).
openmetrics_ok() {
	what=$1
	shift
	if ! /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
		tap_line OK "$what # SKIP python3-prometheus-client is not installed"
		return
	fi
	"$@" >"$out"
	openmetrics_parses "$out" && tap_line OK "$what" || tap_line NOTOK "$what"
}
openmetrics_ok "the demo's OpenMetrics parses" \
	"$demo" --once --threads 3 --openmetrics
openmetrics_ok "the demo's OpenMetrics parses, lock mode" \
	env PERCPU_DISABLE_RSEQ=1 "$demo" --once --threads 3 --openmetrics
openmetrics_ok "after refused registrations: the OpenMetrics parses" \
	"$BUILD/tests/stats_hostile" --openmetrics
tap_done
