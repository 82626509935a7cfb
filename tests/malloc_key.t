#!/bin/sh
# SPDX-License-Identifier: MIT
# libpercpu-malloc's thread caches in a program of 40 pthread keys
# (tests/malloc_key.c), made after the allocator set up (its key below 32:
# every exited thread's destructor gives its cache back) and before
# (PERCPU_TEST_KEYS_FIRST=1: its key past 31, so no thread caches, whose
# key values glibc would lose); in rseq, lock and mixed mode, with CPU ids
# and with concurrency ids.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_LEASE PERCPU_TEST_KEYS_FIRST
skip_if_malloc_replaced
bin=$BUILD/tests/malloc_key
for first in 0 1; do
	[ $first = 1 ] && order="keys first" || order="allocator first"
	export PERCPU_TEST_KEYS_FIRST=$first
	PERCPU_TEST_MODE=rseq run_binary "$order, rseq" "$bin"
	PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
		run_binary "$order, lock" "$bin"
	PERCPU_TEST_MODE=mixed run_binary "$order, mixed" "$bin"
	PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq \
		run_binary "$order, cid rseq" "$bin"
	PERCPU_INDEX=cid PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
		run_binary "$order, cid lock" "$bin"
	PERCPU_INDEX=cid PERCPU_TEST_MODE=mixed \
		run_binary "$order, cid mixed" "$bin"
done
tap_done
