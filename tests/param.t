#!/bin/sh
# SPDX-License-Identifier: MIT
# The reduced param matrix: every structure, mode and kind of disturbance.
sh "$(dirname "$0")/param_matrix.sh" reduced
