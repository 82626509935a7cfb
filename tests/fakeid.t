#!/bin/sh
# SPDX-License-Identifier: MIT
# Every operation, with the shard id reads faked to every valid id and to
# ids past the shards (-1, -2, 4095, ...), writes only inside its stride.
. "$(dirname "$0")/lib.sh"
run_all_indexings fakeid "$BUILD/tests/fakeid"
