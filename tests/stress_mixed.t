#!/bin/sh
# SPDX-License-Identifier: MIT
# Stress in mixed mode: odd workers take the lock path beside rseq ones.
. "$(dirname "$0")/lib.sh"
export PERCPU_TEST_MODE=mixed
. "$(dirname "$0")/stress.sh"
