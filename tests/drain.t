#!/bin/sh
# SPDX-License-Identifier: MIT
# Remote drains and exact read-and-reset while workers run: each mode and
# indexing, then with membarrier refused by seccomp, where the fence runs
# on each CPU instead, and with sched_setaffinity refused as well.
. "$(dirname "$0")/lib.sh"
drain=$BUILD/tests/drain

PERCPU_TEST_MODE=rseq run_binary "drain rseq" "$drain"
PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "drain lock" "$drain"
PERCPU_TEST_MODE=mixed run_binary "drain mixed" "$drain"
PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq run_binary "drain cid rseq" "$drain"
PERCPU_INDEX=cid PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
	run_binary "drain cid lock" "$drain"
if [ "$(uname -m)" = x86_64 ]; then
	PERCPU_TEST_MODE=rseq run_binary "drain, membarrier refused" \
		"$BUILD/tests/seccomp_run" --membarrier EPERM -- \
		"$drain" --no-membarrier
	PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq \
		run_binary "drain cid, membarrier refused" \
		"$BUILD/tests/seccomp_run" --membarrier EPERM -- \
		"$drain" --no-membarrier
	PERCPU_TEST_MODE=mixed run_binary "drain mixed, membarrier refused" \
		"$BUILD/tests/seccomp_run" --membarrier EPERM -- \
		"$drain" --no-membarrier
	# No fence possible: the process must be in lock mode.
	PERCPU_TEST_MODE=lock run_binary \
		"drain, membarrier and sched_setaffinity refused" \
		"$BUILD/tests/seccomp_run" --membarrier EPERM --affinity EPERM \
		-- "$drain" --no-membarrier
fi
tap_done
