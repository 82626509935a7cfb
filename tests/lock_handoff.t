#!/bin/sh
# SPDX-License-Identifier: MIT
# A lock taken by name and unlocked beside a thread that asks for the same
# shard's lock (tests/lock_handoff.c): no unlock may be lost, in any mode,
# with and without shard leases.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/lock_handoff

run_modes_and_no_leases "lock hand-off" "$bin"
tap_done
