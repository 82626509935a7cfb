#!/bin/sh
# SPDX-License-Identifier: MIT
# A program whose own malloc runs on percpu (tests/malloc_user.c) starts,
# runs threads that allocate, forks, and exits with exact counts: in rseq,
# lock and mixed mode, with concurrency ids, with the library's own rseq
# registration (glibc's tunable off), and with its pthread keys created
# after 40 others (glibc's pthread_setspecific() callocs for key 32 on).
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_NUMA PERCPU_LEASE GLIBC_TUNABLES
t=$BUILD/tests/malloc_user

# AddressSanitizer and ThreadSanitizer own malloc: they call it while they
# start, before their instrumented replacement here could run.
skip_if_malloc_replaced

# modes name env...: the program in rseq, lock and mixed mode.
modes() {
	m_name=$1
	shift
	run_binary "$m_name rseq" env PERCPU_TEST_MODE=rseq "$@" "$t"
	run_binary "$m_name lock" env PERCPU_TEST_MODE=lock \
		PERCPU_DISABLE_RSEQ=1 "$@" "$t"
	run_binary "$m_name mixed" env PERCPU_TEST_MODE=mixed "$@" "$t"
}

modes "malloc on percpu"
modes "malloc on percpu, cid" PERCPU_INDEX=cid
modes "malloc on percpu, own registration" GLIBC_TUNABLES=glibc.pthread.rseq=0
modes "malloc on percpu, keys after 40 others, own registration" \
	PERCPU_TEST_KEYS=40 GLIBC_TUNABLES=glibc.pthread.rseq=0
tap_done
