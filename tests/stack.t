#!/bin/sh
# SPDX-License-Identifier: MIT
# The pointer stack's one-pointer, small-batch and block paths: a model
# check of every call, full and empty edges, and a stress of more threads
# than CPUs, in each mode and indexing.
. "$(dirname "$0")/lib.sh"
run_all_indexings stack "$BUILD/tests/stack"
