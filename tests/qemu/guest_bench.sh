# SPDX-License-Identifier: MIT
# In a guest: percpu-info, and percpu-bench once as a smoke test (under
# emulation its numbers are not performance, only a sign that every
# benchmark runs to its end): the operations of the library in both modes,
# not the raw-rseq baselines (x86-64 only); 200 ms per figure, as threads
# start slowly in a guest (at 20 ms, 4 threads had not run an operation).
# TAP.
. /tests/lib.sh
run_plain() {
	out=$("$@" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    # /'
	if [ $rc -eq 0 ]; then tap_line OK "$*"; else tap_line NOTOK "$* (exit $rc)"; fi
}
run_plain "$BUILD/percpu-info"
PERCPU_INDEX=cid run_plain "$BUILD/percpu-info"
run_plain "$BUILD/percpu-bench" --reps 1 --ms 200 --threads 1,2 \
	--only add,add_cid,fetch_add,xchg,store,cas,load,lock,shard_id
tap_done
