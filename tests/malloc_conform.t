#!/bin/sh
# SPDX-License-Identifier: MIT
# libpercpu-malloc's conformance (tests/malloc_conform.c): the malloc
# family's contract, then the consistency walk, in rseq, lock and mixed
# mode, with CPU ids and with concurrency ids.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_LEASE
case "$SAN" in
*address* | *thread*)
	echo "1..0 # SKIP a sanitizer that replaces malloc"
	exit 0
	;;
esac
run_all_indexings "malloc conformance" "$BUILD/tests/malloc_conform"
