#!/bin/sh
# SPDX-License-Identifier: MIT
# The library's own statistics (percpu_runtime_stats_get and _print,
# src/lockpath/tally.c): exact after a quiescent workload in rseq, lock
# and mixed mode, and in lock mode with PERCPU_LEASE=0, where single-word
# operations count in their threads' slots.
. "$(dirname "$0")/lib.sh"
unset PERCPU_LEASE PERCPU_INDEX
run_modes_and_no_leases "runtime stats" "$BUILD/tests/runtime_stats"
tap_done
