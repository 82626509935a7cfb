#!/bin/sh
# SPDX-License-Identifier: MIT
# Unit tests in each mode: rseq, lock (kill switch at start), mixed.
. "$(dirname "$0")/lib.sh"
run_all_indexings unit "$BUILD/tests/unit"
