#!/bin/sh
# SPDX-License-Identifier: MIT
# Every program under examples/ runs to completion and passes its own
# check (exit 0), in rseq mode, in lock mode and with concurrency ids.
. "$(dirname "$0")/lib.sh"

# run_example name env...: one TAP line; the program's output as comments.
run_example() {
	name=$1
	shift
	out=$(env "$@" "$BUILD/examples/$name" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    # /'
	if [ $rc -eq 0 ]; then
		tap_line OK "example $name $*"
	else
		tap_line NOTOK "example $name $* (exit $rc)"
	fi
}

found=0
for src in examples/*.c; do
	name=$(basename "$src" .c)
	found=1
	run_example "$name" PERCPU_INDEX=cpu
	run_example "$name" PERCPU_DISABLE_RSEQ=1
	run_example "$name" PERCPU_INDEX=cid
done
[ $found = 1 ] || tap_line NOTOK "no example found under examples/"
tap_done
