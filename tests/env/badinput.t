#!/bin/sh
# SPDX-License-Identifier: MIT
# Every public function's documented errors, in each mode.
. "$(dirname "$0")/../lib.sh"
run_modes "bad input" "$BUILD/tests/env_badinput"
