#!/bin/sh
# SPDX-License-Identifier: MIT
# Oversubscription: 16 threads per CPU add, then take the sharded lock;
# exact sums, latency percentiles, and no wait behind a preempted holder.
. "$(dirname "$0")/../lib.sh"
run_modes "16 threads per CPU, 1 s per phase" "$BUILD/tests/env_oversub" 1
