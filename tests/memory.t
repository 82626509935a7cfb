#!/bin/sh
# SPDX-License-Identifier: MIT
# Resident memory of 100,000 per-CPU counters that two threads add to: the
# bound is asserted with concurrency ids; with CPU ids the figures are
# printed beside it. The lock path must cost no more than rseq.
. "$(dirname "$0")/lib.sh"
PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq run_binary "memory cid rseq" \
	"$BUILD/tests/memory"
PERCPU_INDEX=cid PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
	run_binary "memory cid lock" "$BUILD/tests/memory"
PERCPU_INDEX=cpu PERCPU_TEST_MODE=rseq run_binary "memory cpu rseq" \
	"$BUILD/tests/memory"
tap_done
