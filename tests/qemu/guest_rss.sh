# SPDX-License-Identifier: MIT
# In a guest: resident memory of 8 threads' per-CPU counters with CPU ids
# and with concurrency ids (tests/qemu/rss.c). The "# measure" lines carry
# the figures. TAP.
. /tests/lib.sh
PERCPU_INDEX=cpu PERCPU_TEST_MODE=rseq run_binary "8 threads' counters, CPU indexing" \
	"$BUILD/tests/qemu_rss"
PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq run_binary "8 threads' counters, cid indexing" \
	"$BUILD/tests/qemu_rss"
tap_done
