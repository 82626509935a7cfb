# SPDX-License-Identifier: MIT
# In a guest: percpu-info, and percpu-bench once as a smoke test (under
# emulation its numbers are not performance, only a sign that every
# benchmark runs to its end). TAP.
. /tests/lib.sh
run_plain() {
	out=$("$@" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    # /'
	if [ $rc -eq 0 ]; then tap_line OK "$*"; else tap_line NOTOK "$* (exit $rc)"; fi
}
run_plain "$BUILD/percpu-info"
PERCPU_INDEX=cid run_plain "$BUILD/percpu-info"
run_plain "$BUILD/percpu-bench" --reps 1 --ms 20 --threads 1,4
tap_done
