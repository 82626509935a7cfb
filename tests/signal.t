#!/bin/sh
# SPDX-License-Identifier: MIT
# Operations in signal handlers that interrupt operations of their thread.
. "$(dirname "$0")/lib.sh"
run_modes signal "$BUILD/tests/signal"
