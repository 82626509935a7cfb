#!/bin/sh
# SPDX-License-Identifier: MIT
# ThreadSanitizer, in lock mode only, with shard leases on (the default)
# and off. Run with BUILD naming a build made with
# SAN=-fsanitize=thread; with any other build it skips. rseq mode is left
# out: its commits are stores made by inline asm, which TSan does not
# instrument. It would miss those writes, and the ordering they give (an
# rseq percpu_lock takes the lock with a plain store in asm), and report the
# data they protect as raced when it is not. A leaseholder's unlocked
# instructions are asm too, but a TSan build makes them atomic builtins
# (src/lockpath/uniproc.h), so TSan sees them; what it cannot check is the ordering
# membarrier gives leaseholders against revokers: tests/lease.t and
# model/lease_revoke.pml do.
. "$(dirname "$0")/../lib.sh"
t=$BUILD/tests

if ! grep -q __tsan_init "$t/unit" 2>/dev/null; then
	echo "1..0 # SKIP $BUILD is not a ThreadSanitizer build"
	exit 0
fi
export PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1
export TSAN_OPTIONS="history_size=7 exitcode=66"
stress="--seconds 2 --yield 50 --migrate 100 --self-pin 1000 --signals 20 --delay 300"
run_binary "unit, lock mode" "$t/unit"
# shellcheck disable=SC2086
run_binary "stress, lock mode, all at once" "$t/stress" $stress
run_binary "signal, lock mode" "$t/signal"
run_binary "abort, lock mode" "$t/abort"
run_binary "migration storm, lock mode" "$t/env_migrate" 1
run_binary "oversubscription, lock mode" "$t/env_oversub" 1
run_binary "bad input, lock mode" "$t/env_badinput"
run_binary "n = 0, lock mode" "$t/zero_n"
run_binary "stack, lock mode" "$t/stack"
run_binary "drain, lock mode" "$t/drain"
PERCPU_LEASE=0 run_binary "unit, lock mode, no leases" "$t/unit"
# shellcheck disable=SC2086
PERCPU_LEASE=0 run_binary "stress, lock mode, no leases" "$t/stress" $stress
PERCPU_LEASE=0 run_binary "signal, lock mode, no leases" "$t/signal"
tap_done
