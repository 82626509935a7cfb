#!/bin/sh
# SPDX-License-Identifier: MIT
# libpercpu-malloc's range used up for real (tests/malloc_oom.c): under
# 1600 MiB of address space the range it reserves is 1 GiB; malloc fills
# it, says ENOMEM, gives freed objects out again, and another class fills
# it once the spans are given back. In rseq, lock and mixed mode. About
# 1 GiB is resident while it runs.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_LEASE
skip_if_malloc_replaced
ulimit -v 1638400
run_modes "malloc range used up" "$BUILD/tests/malloc_oom"
