# SPDX-License-Identifier: MIT
# Shared by the .t scripts: run test binaries and merge their TAP.
: "${BUILD:=build}"
tap_n=0

# tap_line OK|NOTOK description
tap_line() {
	tap_n=$((tap_n + 1))
	if [ "$1" = OK ]; then echo "ok $tap_n - $2"; else echo "not ok $tap_n - $2"; fi
}

# tap_skip description reason: a line for a check that cannot run here.
tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# skip_if_malloc_replaced: the allocator's tests, under a sanitizer that
# replaces malloc (ASan, TSan), plan nothing and exit.
skip_if_malloc_replaced() {
	case "$SAN" in
	*address* | *thread*)
		echo "1..0 # SKIP a sanitizer that replaces malloc"
		exit 0
		;;
	esac
}

# check_cmd description command...: one TAP line, ok if the command exits
# 0; its output shown as comments.
check_cmd() {
	what=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -z "$out" ] || echo "$out" | sed 's/^/    # /'
	[ $rc -eq 0 ] && tap_line OK "$what" || tap_line NOTOK "$what"
}

# run_binary name cmd...: runs a TAP-printing binary, shows its output as
# diagnostics and reports it as one test line (ok only if it exited 0 and
# printed no "not ok").
run_binary() {
	name=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    # /'
	if [ $rc -eq 0 ] && ! echo "$out" | grep -q '^not ok' &&
		echo "$out" | grep -q '^1\.\.[1-9]'; then
		tap_line OK "$name"
	else
		tap_line NOTOK "$name (exit $rc)"
		# On stderr, which prove shows without -v: CI logs keep it.
		echo "$out" | grep '^not ok' | sed "s|^|$name: |" >&2
		echo "$out" | tail -n 3 | sed "s|^|$name, last lines: |" >&2
	fi
}

# run_modes name cmd...: the command in rseq, lock and mixed mode.
run_modes() {
	modes_name=$1
	shift
	PERCPU_TEST_MODE=rseq run_binary "$modes_name rseq" "$@"
	PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "$modes_name lock" "$@"
	PERCPU_TEST_MODE=mixed run_binary "$modes_name mixed" "$@"
	tap_done
}

# run_modes_and_no_leases name cmd...: rseq, lock and mixed mode, then
# lock mode again with PERCPU_LEASE=0; no tap_done, so more may follow.
run_modes_and_no_leases() {
	modes_name=$1
	shift
	PERCPU_TEST_MODE=rseq run_binary "$modes_name rseq" "$@"
	PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "$modes_name lock" "$@"
	PERCPU_TEST_MODE=mixed run_binary "$modes_name mixed" "$@"
	PERCPU_LEASE=0 PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
		run_binary "$modes_name lock, PERCPU_LEASE=0" "$@"
}

# run_all_indexings name cmd...: run_modes, then rseq and lock mode again
# with shards indexed by concurrency id (PERCPU_INDEX=cid).
run_all_indexings() {
	idx_name=$1
	shift
	PERCPU_TEST_MODE=rseq run_binary "$idx_name rseq" "$@"
	PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "$idx_name lock" "$@"
	PERCPU_TEST_MODE=mixed run_binary "$idx_name mixed" "$@"
	PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq run_binary "$idx_name cid rseq" "$@"
	PERCPU_INDEX=cid PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
		run_binary "$idx_name cid lock" "$@"
	PERCPU_INDEX=cid PERCPU_TEST_MODE=mixed run_binary "$idx_name cid mixed" "$@"
	tap_done
}

# wait_line file pattern: the first line of the file matching the grep
# pattern, printed once there is one (a background program's output),
# waiting up to 10 s; 1 if none came.
wait_line() {
	for _ in $(seq 100); do
		grep -m1 "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# openmetrics_parses file: prometheus_client's strict OpenMetrics parser
# (python3-prometheus-client) reads the whole file; if not, the last lines
# of its complaint as comments.
openmetrics_parses() {
	om_problems=$(/usr/bin/python3 -c '
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
list(text_string_to_metric_families(sys.stdin.read()))' <"$1" 2>&1) && return 0
	echo "$om_problems" | tail -n 3 | sed 's/^/    # /'
	return 1
}

tap_done() {
	echo "1..$tap_n"
}
