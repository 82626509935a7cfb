#!/bin/sh
# SPDX-License-Identifier: MIT
# n = 0 with NULL arrays (tests/zero_n.c): no pointer touched, the same
# answers in every mode, with and without leases. Run under UBSan by CI.
. "$(dirname "$0")/lib.sh"
run_modes_and_no_leases "n = 0" "$BUILD/tests/zero_n"
tap_done
