#!/bin/sh
# SPDX-License-Identifier: MIT
# Every critical section aborts; operations finish on the lock path.
. "$(dirname "$0")/lib.sh"
run_modes abort "$BUILD/tests/abort"
