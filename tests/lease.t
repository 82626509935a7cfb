#!/bin/sh
# SPDX-License-Identifier: MIT
# Shard leases (src/lockpath/lease.c): taken, revoked, given back, forgotten by a
# fork child, and exact under stress; in every mode, with leases turned
# off, and with shards indexed by concurrency id. `lease.t guest` (the
# aarch64 guest, under TCG) runs every check, with 2,000 stress adds a
# thread instead of 20,000 and 20 exclusion rounds instead of 1,000 (each
# a fence): about 2 minutes of guest time instead of over 20.
. "$(dirname "$0")/lib.sh"
if [ "${1:-}" = guest ]; then
	export PERCPU_TEST_LEASE_OPS=2000 PERCPU_TEST_LEASE_ROUNDS=20
fi
lease=$BUILD/tests/lease

PERCPU_TEST_MODE=rseq run_binary "lease rseq" "$lease"
PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "lease lock" "$lease"
PERCPU_TEST_MODE=mixed run_binary "lease mixed" "$lease"
PERCPU_LEASE=0 PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
	run_binary "lease lock, PERCPU_LEASE=0" "$lease"
PERCPU_INDEX=cid PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
	run_binary "lease cid lock" "$lease"
tap_done
