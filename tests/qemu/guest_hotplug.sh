# SPDX-License-Identifier: MIT
# In a guest: CPU hotplug under load. CPUs 1-3 go offline and online again
# in turn (/sys/devices/system/cpu/cpuN/online) while the stress test
# (yields, re-pinning, signals) and the remote drain run; sums must stay
# exact, drains must finish. Then every CPU is online again. TAP.
. /tests/lib.sh
cpus="1 2 3"
toggle() {
	while [ -e /tmp/hotplug.on ]; do
		for c in $cpus; do
			echo 0 >/sys/devices/system/cpu/cpu$c/online 2>/dev/null
			sleep 1
			echo 1 >/sys/devices/system/cpu/cpu$c/online 2>/dev/null
		done
	done
}
touch /tmp/hotplug.on
toggle &
for m in rseq mixed; do
	PERCPU_TEST_MODE=$m run_binary "stress $m, CPUs going offline and online" \
		"$BUILD/tests/stress" --seconds 4 --yield 50 --migrate 100 --signals 20
	PERCPU_TEST_MODE=$m run_binary "drain $m, CPUs going offline and online" \
		"$BUILD/tests/drain"
done
PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq run_binary \
	"stress cid, CPUs going offline and online" \
	"$BUILD/tests/stress" --seconds 4 --yield 50 --migrate 100 --signals 20
rm -f /tmp/hotplug.on
wait
for c in $cpus; do echo 1 >/sys/devices/system/cpu/cpu$c/online; done
[ "$(cat /sys/devices/system/cpu/online)" = "$(cat /sys/devices/system/cpu/possible)" ] ||
	[ "$(cat /sys/devices/system/cpu/online)" = "0-$(($(nproc) - 1))" ]
if [ $? -eq 0 ]; then tap_line OK "CPUs online again: $(cat /sys/devices/system/cpu/online)"
else tap_line NOTOK "CPUs online again: $(cat /sys/devices/system/cpu/online)"; fi
PERCPU_TEST_MODE=rseq run_binary "unit rseq after hotplug" "$BUILD/tests/unit"
tap_done
