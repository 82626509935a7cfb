#!/bin/sh
# SPDX-License-Identifier: MIT
# aarch64 under full-system emulation (qemu-system-aarch64 -M virt, 4 CPUs,
# Debian's arm64 kernel): the rseq sections of include/percpu/arch/aarch64.h
# for real, then the lock path and mixed mode.
. "$(dirname "$0")/lib.sh"
list=$QEMU_BUILD/aarch64.list
cat >"$list" <<'LIST'
tests/unit.t
LIST
guest aarch64 aarch64 600 "$list"
