#!/bin/sh
# SPDX-License-Identifier: MIT
# Migration storm: workers re-pinned to another CPU tens of thousands of
# times a second while they add and cas; exact sums in every mode.
. "$(dirname "$0")/../lib.sh"
run_modes "migration storm, 2 s" "$BUILD/tests/env_migrate" 2
