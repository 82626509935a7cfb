#!/bin/sh
# SPDX-License-Identifier: MIT
# ThreadSanitizer, in lock mode only. Run with BUILD naming a build made
# with SAN=-fsanitize=thread; with any other build it skips. rseq mode is
# left out: its commits are stores made by inline asm, which TSan does not
# instrument. It would miss those writes, and the ordering they give (an
# rseq percpu_lock takes the lock with a plain store in asm), and report the
# data they protect as raced when it is not. Shard leases are left out
# (PERCPU_LEASE=0) for the same reason: a leaseholder updates with unlocked
# instructions in asm, ordered against revokers by membarrier, which TSan
# does not model either. tests/lease.t checks them.
. "$(dirname "$0")/../lib.sh"
t=$BUILD/tests

if ! grep -q __tsan_init "$t/unit" 2>/dev/null; then
	echo "1..0 # SKIP $BUILD is not a ThreadSanitizer build"
	exit 0
fi
export PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 PERCPU_LEASE=0
export TSAN_OPTIONS="history_size=7 exitcode=66"
run_binary "unit, lock mode" "$t/unit"
run_binary "stress, lock mode, all at once" "$t/stress" --seconds 2 \
	--yield 50 --migrate 100 --self-pin 1000 --signals 20 --delay 300
run_binary "signal, lock mode" "$t/signal"
run_binary "abort, lock mode" "$t/abort"
run_binary "migration storm, lock mode" "$t/env_migrate" 1
run_binary "oversubscription, lock mode" "$t/env_oversub" 1
run_binary "bad input, lock mode" "$t/env_badinput"
tap_done
