#!/bin/sh
# SPDX-License-Identifier: MIT
# Threads refused rseq by a seccomp filter installed mid-run, beside a main
# thread that keeps using it (tests/seccomp_mixed.c, tests/seccomp_nested.c).
# glibc's registration is off, as glibc aborts a process when a later
# thread's registration fails. Once with membarrier, once with the fence falling back to running
# on each CPU; and once in concurrency-id indexing.
. "$(dirname "$0")/lib.sh"

if [ "$(uname -m)" != x86_64 ]; then
	echo "1..0 # SKIP seccomp filters x86-64 system calls only"
	exit 0
fi
unset PERCPU_DISABLE_RSEQ

mixed="env GLIBC_TUNABLES=glibc.pthread.rseq=0 PERCPU_TEST_MODE=rseq"
run_binary "threads refused rseq after start, membarrier fence" \
	$mixed "$BUILD/tests/seccomp_mixed"
run_binary "threads refused rseq after start, fallback fence" \
	$mixed "$BUILD/tests/seccomp_run" --membarrier ENOSYS -- \
	"$BUILD/tests/seccomp_mixed"
# In concurrency-id indexing a refused thread's area reads mm_cid -1: its
# operations must see that it is not registered before indexing by it.
run_binary "threads refused rseq after start, cid indexing" \
	$mixed PERCPU_INDEX=cid "$BUILD/tests/seccomp_mixed"
# A signal handler's operation nested in its thread's holding of a shard
# (tests/seccomp_nested.c), against an rseq thread's sections there.
run_binary "handler nested in a refused thread's holding, beside rseq" \
	$mixed "$BUILD/tests/seccomp_nested" 2
run_binary "handler nested in a refused thread's holding, cid indexing" \
	$mixed PERCPU_INDEX=cid "$BUILD/tests/seccomp_nested" 2
tap_done
