#!/bin/sh
# SPDX-License-Identifier: MIT
# Lock mode without per-CPU memory for the shard words (tests/nomem_words.c):
# under an address-space limit, and with that memory, then any memory for
# the words, refused; with and without shard leases.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/nomem_words

# AddressSanitizer reserves terabytes of shadow: no RLIMIT_AS beside it.
case "$SAN" in
*address*) ;;
*) PERCPU_TEST_NOMEM=rlimit run_binary "RLIMIT_AS at start" "$bin" ;;
esac
PERCPU_TEST_NOMEM=words run_binary "no per-CPU memory for the words" "$bin"
PERCPU_TEST_NOMEM=none run_binary "no memory at all for the words" "$bin"
PERCPU_LEASE=0 PERCPU_TEST_NOMEM=none \
	run_binary "no memory at all for the words, PERCPU_LEASE=0" "$bin"
tap_done
