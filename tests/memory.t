#!/bin/sh
# SPDX-License-Identifier: MIT
# Resident memory of 100,000 per-CPU counters that two threads add to: the
# bound is asserted with concurrency ids; with CPU ids the figures are
# printed beside it. The lock path must cost no more than rseq. Where
# mm_cid is not usable (Linux before 6.3: the sparse guest), the
# concurrency-id runs are skipped with the library's reason.
. "$(dirname "$0")/lib.sh"
info=$(PERCPU_INDEX=cid "$BUILD/percpu-info")
if ! echo "$info" | grep -qx "mm_cid_usable: no"; then
	PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq run_binary "memory cid rseq" \
		"$BUILD/tests/memory"
	PERCPU_INDEX=cid PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
		run_binary "memory cid lock" "$BUILD/tests/memory"
else
	why=$(echo "$info" | sed -n 's/^index_note: //p')
	tap_skip "memory cid rseq" "${why:-no concurrency ids}"
	tap_skip "memory cid lock" "${why:-no concurrency ids}"
fi
PERCPU_INDEX=cpu PERCPU_TEST_MODE=rseq run_binary "memory cpu rseq" \
	"$BUILD/tests/memory"
tap_done
