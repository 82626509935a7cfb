#!/bin/sh
# SPDX-License-Identifier: MIT
# Stress in lock mode: rseq switched off for the process at start.
. "$(dirname "$0")/lib.sh"
export PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1
. "$(dirname "$0")/stress.sh"
