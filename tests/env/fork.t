#!/bin/sh
# SPDX-License-Identifier: MIT
# fork and vfork + exec while threads run operations, with glibc's
# registration, in lock mode, and with the library's own registration
# (glibc's tunable off), which the kernel carries into the child. Then 100
# forks while threads hold the library's locks by turns (the pool's, the
# statistics', in lock mode the kill switch's): every child must take each
# again and exit 0; one that hangs is stopped and counted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/modes.sh"
fork=$BUILD/tests/env_fork
info=$BUILD/percpu-info

run_in_mode "fork, glibc registers" rseq "registered by libc" "$fork" "$info"
run_in_mode "fork, PERCPU_DISABLE_RSEQ" lock "disabled by PERCPU_DISABLE_RSEQ" \
	env PERCPU_DISABLE_RSEQ=1 "$fork" "$info"
run_in_mode "fork, glibc tunable off" rseq "registered by percpu" \
	env GLIBC_TUNABLES=$TUNABLE_OFF "$fork" "$info"

run_in_mode "fork, mixed" mixed "registered by libc" "$fork" "$info"

# The child inherits a shard word held by a parent thread that it does not
# have: the library must release it in the child, or the child waits for
# ever.
run_binary "fork while a lock-path thread holds a shard word" \
	env PERCPU_TEST_MODE=mixed "$BUILD/tests/env_fork_held"
tap_done
