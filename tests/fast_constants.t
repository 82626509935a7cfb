#!/bin/sh
# SPDX-License-Identifier: MIT
# The x86-64 fast paths' constants (tests/fast_constants.c): their values
# before and after initialization, and operations whose delta is read as 0
# (as a load hoisted above initialization would read it) beside those that
# read it, in every mode and indexing, and with the library's own rseq
# registration, where the delta stays 0.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/fast_constants
GLIBC_TUNABLES=glibc.pthread.rseq=0 PERCPU_TEST_MODE=rseq \
	run_binary "fast constants, own registration" "$bin"
run_all_indexings "fast constants" "$bin"
