# SPDX-License-Identifier: MIT
# In a guest with far more possible CPUs than online ones (Linux 6.1: no
# mm_cid, so CPU ids only): the pool sizes by the possible CPUs, the unit
# tests pass in rseq, lock and mixed mode, and 8 threads' counters are
# resident only in the online CPUs' shards (tests/qemu/rss.c). TAP.
. /tests/lib.sh
possible=$(cat /sys/devices/system/cpu/possible)
online=$(cat /sys/devices/system/cpu/online)
shards=$(PERCPU_INDEX=cpu "$BUILD/percpu-info" | sed -n 's/^shards: //p')
if [ "$possible" != "$online" ] && [ "$shards" = "$((${possible#0-} + 1))" ]; then
	tap_line OK "shards: $shards, for possible CPUs $possible (online $online)"
else
	tap_line NOTOK "shards: $shards, for possible CPUs $possible (online $online)"
fi
PERCPU_TEST_MODE=rseq run_binary "unit rseq" "$BUILD/tests/unit"
PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "unit lock" "$BUILD/tests/unit"
PERCPU_TEST_MODE=mixed run_binary "unit mixed" "$BUILD/tests/unit"
PERCPU_INDEX=cpu PERCPU_TEST_MODE=rseq run_binary \
	"8 threads' counters: only the online CPUs' shards resident" "$BUILD/tests/qemu_rss"
tap_done
