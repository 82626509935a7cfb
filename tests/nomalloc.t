#!/bin/sh
# SPDX-License-Identifier: MIT
# The library underneath malloc (tests/nomalloc.c): no malloc-family call
# from its initialization or any operation, in rseq, lock and mixed mode,
# with concurrency ids, NUMA placement forced, no leases, its own rseq
# registration (glibc's tunable off), and with its pthread keys created
# after 40 others: glibc's pthread_setspecific() callocs for key 32 on;
# also with a settings file, read at start and again by a reload.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_NUMA PERCPU_LEASE GLIBC_TUNABLES
t=$BUILD/tests/nomalloc

# modes name env...: the program in rseq, lock and mixed mode.
modes() {
	m_name=$1
	shift
	run_binary "$m_name rseq" env PERCPU_TEST_MODE=rseq "$@" "$t"
	run_binary "$m_name lock" env PERCPU_TEST_MODE=lock \
		PERCPU_DISABLE_RSEQ=1 "$@" "$t"
	run_binary "$m_name mixed" env PERCPU_TEST_MODE=mixed "$@" "$t"
}

modes "nomalloc"
modes "nomalloc cid" PERCPU_INDEX=cid
modes "nomalloc NUMA forced" PERCPU_NUMA=1
modes "nomalloc no leases" PERCPU_LEASE=0
modes "nomalloc own registration" GLIBC_TUNABLES=glibc.pthread.rseq=0
conf=$(mktemp)
printf 'leases = 1\nindex = cpu\nbogus\n' >"$conf"
chmod 644 "$conf"
modes "nomalloc settings file with a bad line" PERCPU_CONF="$conf"
modes "nomalloc keys after 40 others, own registration" PERCPU_TEST_KEYS=40 \
	GLIBC_TUNABLES=glibc.pthread.rseq=0
rm -f "$conf"
tap_done
