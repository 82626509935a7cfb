#!/bin/sh
# SPDX-License-Identifier: MIT
# aarch64 under full-system emulation (qemu-system-aarch64 -M virt, 4 CPUs,
# Debian's arm64 kernel): the rseq sections of include/percpu/arch/aarch64.h
# for real, in rseq, lock and mixed mode, with CPU and concurrency-id
# indexing; the param stress test, the kill switch and signal handlers,
# shard leases (lease.t guest), each reduced to fit emulation; the
# resident memory of per-CPU objects (memory.t); percpu-bench as a smoke
# test (emulated timings are not performance).
. "$(dirname "$0")/lib.sh"
list=$QEMU_BUILD/aarch64.list
# QEMU_QUICK=1 (make check-qemu-quick, in CI): about a minute of guest time.
if [ "${QEMU_QUICK:-0}" = 1 ]; then
	cat >"$list" <<'LIST'
tests/unit.t
tests/unit_multi.t
tests/abort.t
tests/lock_handoff.t
tests/edges.t
tests/drain.t
tests/memory.t
tests/qemu/guest_killswitch.sh
LIST
	guest aarch64 aarch64 600 "$list"
	guest_done
	exit 0
fi
cat >"$list" <<'LIST'
tests/unit.t
tests/unit_multi.t
tests/abort.t
tests/signal.t
tests/fakeid.t
tests/lock_handoff.t
tests/longjmp.t
tests/edges.t
tests/drain.t
tests/stats.t
tests/memory.t
tests/lease.t guest
tests/qemu/guest_killswitch.sh
tests/qemu/guest_param.sh
tests/qemu/guest_bench.sh
LIST
guest aarch64 aarch64 1200 "$list"
guest_done
