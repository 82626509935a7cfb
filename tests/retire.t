#!/bin/sh
# SPDX-License-Identifier: MIT
# A retired per-CPU structure never changes once every shard is fenced with
# percpu_remote(), with delays injected inside the sections; each mode and
# indexing for up to 2 seconds.
. "$(dirname "$0")/lib.sh"
run_all_indexings retire "$BUILD/tests/retire" --seconds 2
