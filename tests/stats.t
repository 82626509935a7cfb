#!/bin/sh
# SPDX-License-Identifier: MIT
# Statistics (percpu/stats.h) in rseq, lock and mixed mode: counters and
# gauges, histograms, the registry and its exposition.
. "$(dirname "$0")/lib.sh"
for t in stats stats_histogram stats_registry stats_buckets stats_hostile; do
	PERCPU_TEST_MODE=rseq run_binary "$t rseq" "$BUILD/tests/$t"
	PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "$t lock" \
		"$BUILD/tests/$t"
	PERCPU_TEST_MODE=mixed run_binary "$t mixed" "$BUILD/tests/$t"
done
tap_done
