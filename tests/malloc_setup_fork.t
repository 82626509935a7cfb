#!/bin/sh
# SPDX-License-Identifier: MIT
# A fork in the middle of libpercpu-malloc's set-up
# (tests/malloc_setup_fork.c): at each of its five points, in rseq and lock
# mode, with CPU ids and with concurrency ids.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_LEASE
skip_if_malloc_replaced
bin=$BUILD/tests/malloc_setup_fork
for at in 1 2 3 4 5; do
	export PERCPU_MALLOC_TEST_FORK_AT=$at
	PERCPU_TEST_MODE=rseq run_binary "fork at set-up point $at, rseq" "$bin"
	PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
		run_binary "fork at set-up point $at, lock" "$bin"
	PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq \
		run_binary "fork at set-up point $at, cid" "$bin"
done
# _Fork() after the handlers are in: the child registers them again (as
# when pthread_atfork() ran beside another thread's fork); its own fork
# must not deadlock on the allocator's locks.
for at in 3 4 5; do
	PERCPU_MALLOC_TEST_FORK_AT=$at PERCPU_MALLOC_TEST_FORK_RAW=1 \
		PERCPU_TEST_MODE=rseq \
		run_binary "_Fork at set-up point $at, handlers in twice" "$bin"
done
# A pid 1 whose child is pid 1 of a new pid namespace, with the thread id
# of the thread setting up (unshare(1): a user namespace gives the right).
if unshare -Urpf true 2>/dev/null; then
	for at in 2 4; do
		PERCPU_MALLOC_TEST_FORK_AT=$at PERCPU_TEST_NEWPID=1 \
			PERCPU_TEST_MODE=rseq run_binary \
			"fork at set-up point $at, pid 1 forking into a new pid namespace" \
			unshare -Urpf "$bin"
	done
else
	tap_skip "pid 1 forking into a new pid namespace" "unshare -Urpf refused here"
fi
tap_done
