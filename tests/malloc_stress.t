#!/bin/sh
# SPDX-License-Identifier: MIT
# libpercpu-malloc under load (tests/malloc_stress.c): 6 x CPUs threads in
# waves, objects allocated here and freed there with every byte checked,
# yields, migrations, signals, malloc_trim() drains, forks; then the
# consistency walk. In rseq, lock and mixed mode, with CPU ids and with
# concurrency ids.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_LEASE
skip_if_malloc_replaced
run_all_indexings "malloc stress" "$BUILD/tests/malloc_stress"
