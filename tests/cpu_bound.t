#!/bin/sh
# SPDX-License-Identifier: MIT
# Shards when /sys does not list the possible CPUs (tests/cpu_bound.c):
# the kernel's mask size bounds the ids; a /sys listing fewer CPUs than the
# thread may use is not believed; with no bound at all, lock mode.
. "$(dirname "$0")/lib.sh"
bin=$BUILD/tests/cpu_bound

PERCPU_TEST_CPUS=nosys PERCPU_TEST_MODE=rseq run_binary "no /sys, rseq" "$bin"
PERCPU_TEST_CPUS=nosys PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
	run_binary "no /sys, lock" "$bin"
PERCPU_TEST_CPUS=nosys PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq \
	run_binary "no /sys, cid indexing" "$bin"
PERCPU_TEST_CPUS=short PERCPU_TEST_MODE=rseq \
	run_binary "/sys lists fewer CPUs than allowed" "$bin"
PERCPU_TEST_CPUS=none run_binary "no bound on CPU ids" "$bin"
tap_done
