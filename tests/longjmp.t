#!/bin/sh
# SPDX-License-Identifier: MIT
# Operations left by siglongjmp (tests/longjmp.c): nothing outlives the
# thread that left them, in every mode, with and without shard leases.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/longjmp

run_modes_and_no_leases "siglongjmp" "$bin"
tap_done
