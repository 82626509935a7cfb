#!/bin/sh
# SPDX-License-Identifier: MIT
# libpercpu-malloc's spans carved per shard (tests/malloc_carve.c): two
# CPUs taking turns never share a span of fresh objects, and share one
# when no new span is to be had; in rseq, lock and mixed mode, with CPU
# ids (with concurrency ids two threads taking turns may hold one id).
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_LEASE
skip_if_malloc_replaced
run_modes "malloc carving" "$BUILD/tests/malloc_carve"
