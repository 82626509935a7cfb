#!/bin/sh
# SPDX-License-Identifier: MIT
# A lock taken by name and unlocked beside a thread that asks for the same
# shard's lock (tests/lock_handoff.c): no unlock may be lost, in any mode,
# with and without shard leases.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/lock_handoff

PERCPU_TEST_MODE=rseq run_binary "lock hand-off rseq" "$bin"
PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "lock hand-off lock" "$bin"
PERCPU_TEST_MODE=mixed run_binary "lock hand-off mixed" "$bin"
PERCPU_LEASE=0 PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
	run_binary "lock hand-off lock, PERCPU_LEASE=0" "$bin"
tap_done
