#!/bin/sh
# SPDX-License-Identifier: MIT
# Operations left by siglongjmp (tests/longjmp.c): nothing outlives the
# thread that left them, in every mode, with and without shard leases.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/longjmp

PERCPU_TEST_MODE=rseq run_binary "siglongjmp rseq" "$bin"
PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "siglongjmp lock" "$bin"
PERCPU_TEST_MODE=mixed run_binary "siglongjmp mixed" "$bin"
PERCPU_LEASE=0 PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
	run_binary "siglongjmp lock, PERCPU_LEASE=0" "$bin"
tap_done
