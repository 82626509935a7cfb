#!/bin/sh
# SPDX-License-Identifier: MIT
# The public API from C++ (tests/cxx_api.cpp, built by `make tests` with
# -Wpedantic -Werror): every type and function, in rseq and lock mode.
. "$(dirname "$0")/lib.sh"
run_binary "C++ API, rseq" "$BUILD/tests/cxx_api"
PERCPU_DISABLE_RSEQ=1 run_binary "C++ API, lock" "$BUILD/tests/cxx_api"
tap_done
