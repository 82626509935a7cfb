#!/bin/sh
# SPDX-License-Identifier: MIT
# percpu_disable_rseq() while workers are in the middle of operations,
# starting from rseq mode and from mixed mode, without and with delays
# injected inside the sections. A process switches only once, so each case
# runs several times. Then the same by percpu_reload_settings().
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# straddled case file: some run of the case had a round begin before the
# switch and end after it (whether one does is up to the scheduler).
straddled() {
	n=$(grep -c '^[1-9]' "$2")
	[ "$n" -gt 0 ] && r=OK || r=NOTOK
	tap_line $r "$1: in $n of $(wc -l <"$2") runs a round straddled the switch"
}

for mode in rseq mixed; do
	for delay in 0 2000; do
		case_name="killswitch from $mode, delay $delay"
		log=$dir/$mode-$delay
		for run in 1 2 3 4 5; do
			PERCPU_TEST_MODE=$mode run_binary "$case_name, run $run" \
				"$BUILD/tests/killswitch" --delay "$delay" \
				--straddled "$log"
		done
		straddled "$case_name" "$log"
	done
done

# The same switch from the settings file: percpu_reload_settings() after
# the file changed (the test writes disable_rseq = 1 into it).
conf=$dir/percpu.conf
for delay in 0 2000; do
	log=$dir/reload-$delay
	for run in 1 2 3; do
		echo "disable_rseq = 0" >"$conf"
		chmod 644 "$conf"
		PERCPU_CONF=$conf PERCPU_TEST_MODE=rseq run_binary \
			"killswitch by reload, delay $delay, run $run" \
			"$BUILD/tests/killswitch" --delay "$delay" --reload \
			--straddled "$log"
	done
	straddled "killswitch by reload, delay $delay" "$log"
done
tap_done
