#!/bin/sh
# SPDX-License-Identifier: MIT
# percpu_disable_rseq() while workers are in the middle of operations,
# starting from rseq mode and from mixed mode, without and with delays
# injected inside the sections. A process switches only once, so each case
# runs several times.
. "$(dirname "$0")/lib.sh"

for mode in rseq mixed; do
	for delay in 0 2000; do
		name="killswitch from $mode, delay $delay"
		for run in 1 2 3 4 5; do
			PERCPU_TEST_MODE=$mode run_binary "$name, run $run" \
				"$BUILD/tests/killswitch" --delay "$delay"
		done
	done
done
tap_done
