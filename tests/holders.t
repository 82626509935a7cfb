#!/bin/sh
# SPDX-License-Identifier: MIT
# Holders of shard words and those beside them (tests/holders.c): a pinned
# thread beside another's percpu_remote, a signal handler inside fn, a
# sleeping leaseholder and a refused fence; in every mode, with and
# without shard leases.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/holders

run_modes_and_no_leases "holders" "$bin"
tap_done
