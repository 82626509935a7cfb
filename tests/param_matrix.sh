#!/bin/sh
# SPDX-License-Identifier: MIT
# The param test (tests/param/) over a matrix of disturbances, after the
# kernel's rseq selftests; one TAP line per point of the matrix.
#   reduced (default, make check): every test x {undisturbed, delays at
#     every point, yields, signals} x {rseq, lock, mixed}, a minute or so.
#   full (make check-stress): every test x every injection point at 10,000
#     loops x {the delay alone, yield, signal or sleep in 25, 50 or 100% of
#     operations} x {rseq, lock, mixed}, with 6 x CPUs threads. (In lock
#     mode only point h delays anything: the others are in rseq sections.)
# Repetitions are chosen for a 2-CPU machine: a point takes well under a
# second, yet lasts long enough for the kernel to preempt and move threads.
. "$(dirname "$0")/lib.sh"

param=$BUILD/tests/param
structures="spinlock list buffer memcpy increment stack"
modes="rseq lock mixed"
points="0 1 2 3 4 5 h"
disturbances="none y25 y50 y100 k25 k50 k100 s25 s50 s100"

# point MODE NAME ARGS...: one run of param, in the environment the
# library reads for MODE.
point() {
	point_mode=$1
	point_name=$2
	shift 2
	if [ "$point_mode" = lock ]; then
		PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 \
			run_binary "$point_name" "$param" -m lock "$@"
	else
		PERCPU_TEST_MODE=$point_mode \
			run_binary "$point_name" "$param" -m "$point_mode" "$@"
	fi
}

# Undisturbed rseq operations take nanoseconds: they need many more rounds
# to span scheduler ticks than lock-path ones.
plain_reps() {
	if [ "$1" = rseq ]; then echo 2000000; else echo 200000; fi
}

reduced() {
	for m in $modes; do
		for s in $structures; do
			point "$m" "$s $m: undisturbed" -T "$s" -r "$(plain_reps "$m")"
			point "$m" "$s $m: 1000 loops at every point" -T "$s" \
				-r 30000 -D 0,1,2,3,4,5,h -d 1000
			point "$m" "$s $m: yield 50%" -T "$s" -r 60000 -y 50
			point "$m" "$s $m: signal 50%" -T "$s" -r 60000 -k 50
		done
	done
}

# disturbance_args D: param's options for one disturbance. Sleeps are
# counted so that a thread sleeps 300 times (0.3 s) whatever the rate.
disturbance_args() {
	rate=${1#?}
	case $1 in
	none) echo "-r 10000" ;;
	y*) echo "-r 10000 -y $rate" ;;
	k*) echo "-r 10000 -k $rate" ;;
	s*) echo "-r $((30000 / rate)) -s $rate" ;;
	esac
}

count_words() {
	echo $#
}

full() {
	# The lists are split into words on purpose.
	# shellcheck disable=SC2086
	total=$(($(count_words $modes) * $(count_words $structures) *
		$(count_words $points) * $(count_words $disturbances)))
	echo "# full param matrix: $total points"
	for m in $modes; do
		for s in $structures; do
			for p in $points; do
				for d in $disturbances; do
					# shellcheck disable=SC2046
					point "$m" "$s $m: 10000 loops at point $p, $d" \
						-T "$s" -D "$p" -d 10000 $(disturbance_args "$d")
				done
			done
		done
	done
}

case ${1:-reduced} in
reduced) reduced ;;
full) full ;;
*) echo "usage: $0 [reduced|full]" >&2; exit 2 ;;
esac
tap_done
