#!/bin/sh
# SPDX-License-Identifier: MIT
# Corner cases argued in review (tests/edges.c): nested remote operations
# in every mode, the exit of a thread that registered its own area with
# concurrency ids, and the affinity the fallback fence gives back.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/edges

run_modes_and_no_leases "nested remote" "$bin"
GLIBC_TUNABLES=glibc.pthread.rseq=0 PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq \
	run_binary "exit of an own registration, concurrency ids" \
	"$bin" exit-window
if [ "$(uname -m)" = x86_64 ]; then
	PERCPU_TEST_MODE=rseq run_binary "fallback fence keeps the affinity" \
		"$BUILD/tests/seccomp_run" --membarrier EPERM -- "$bin" affinity
fi
tap_done
