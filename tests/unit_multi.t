#!/bin/sh
# SPDX-License-Identifier: MIT
# Multi-word operations, list and stack in each mode: rseq, lock, mixed.
. "$(dirname "$0")/lib.sh"
run_all_indexings unit_multi "$BUILD/tests/unit_multi"
