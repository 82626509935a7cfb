#!/bin/sh
# SPDX-License-Identifier: MIT
# Stress in rseq mode: every thread commits with restartable sequences.
. "$(dirname "$0")/lib.sh"
export PERCPU_TEST_MODE=rseq
. "$(dirname "$0")/stress.sh"
