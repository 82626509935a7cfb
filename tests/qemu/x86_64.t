#!/bin/sh
# SPDX-License-Identifier: MIT
# Many CPUs under full-system emulation (qemu-system-x86_64, Debian's amd64
# kernels), where this 2-CPU machine cannot go: 64 CPUs online (6.12: unit
# tests with CPU and concurrency ids, drains, the resident memory of 8
# threads' counters with CPU ids and with concurrency ids); 4 CPUs, of
# which 1-3 go offline and online under stress (6.12; with 64 CPUs this
# took minutes); 255 possible CPUs with 4 online (6.1,
# which, unlike 6.12 under qemu 7.2, counts the hot-pluggable CPUs).
# tests/memory.t runs with 64 CPUs and with 255 possible (where 6.1 has no
# mm_cid: its concurrency-id runs are skipped, saying so).
. "$(dirname "$0")/lib.sh"
list=$QEMU_BUILD/x86_64-smp64.list
cat >"$list" <<'LIST'
tests/unit.t
tests/unit_multi.t
tests/fakeid.t
tests/qemu/guest_drain.sh
tests/qemu/guest_rss.sh
tests/memory.t
LIST
guest x86_64-smp64 x86_64 900 "$list" -smp 64
list=$QEMU_BUILD/x86_64-hotplug.list
cat >"$list" <<'LIST'
tests/qemu/guest_hotplug.sh
LIST
guest x86_64-hotplug x86_64 600 "$list" -smp 4
list=$QEMU_BUILD/x86_64-sparse.list
cat >"$list" <<'LIST'
tests/qemu/guest_sparse.sh
tests/memory.t
LIST
GUEST_KERNEL=amd64-6.1 guest x86_64-sparse x86_64 600 "$list" -smp 4,maxcpus=255
guest_done
