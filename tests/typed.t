#!/bin/sh
# SPDX-License-Identifier: MIT
# Typed C access (tests/typed.c): percpu_ptr keeps its argument's type,
# PERCPU_FOR_EACH_SHARD, percpu_sum, the uint64_t operations and
# percpu_remote_xchg2, in rseq, lock and mixed mode.
. "$(dirname "$0")/lib.sh"
run_modes "typed access" "$BUILD/tests/typed"
