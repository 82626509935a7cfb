#!/bin/sh
# SPDX-License-Identifier: MIT
# libpercpu-malloc's conformance (tests/malloc_conform.c): the malloc
# family's contract, exact cache-hit counts, then the consistency walk, in
# rseq, lock and mixed mode, with CPU ids and with concurrency ids.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_LEASE
skip_if_malloc_replaced
# Cache hits are counted (hit_counts checks them exactly), the statistics
# written at exit.
stats=$(mktemp)
trap 'rm -f "$stats"' EXIT
export PERCPU_MALLOC_STATS="$stats"
run_all_indexings "malloc conformance" "$BUILD/tests/malloc_conform"
