#!/bin/sh
# SPDX-License-Identifier: MIT
# NUMA placement of each shard's stride, forced on and left off.
. "$(dirname "$0")/lib.sh"
PERCPU_NUMA=1 run_binary "numa placement forced on" "$BUILD/tests/numa"
PERCPU_NUMA=0 run_binary "numa placement off" "$BUILD/tests/numa"
tap_done
