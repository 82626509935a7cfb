#!/bin/sh
# SPDX-License-Identifier: MIT
# Sandboxes: rseq, membarrier or sched_setaffinity refused by a seccomp
# filter installed before exec (so glibc's own start-up registration is
# refused too), and glibc's
# registration switched off by its tunable. In each, percpu-info must say
# exactly what percpu/mode.h promises and the unit tests must pass in the
# mode that environment gives.
. "$(dirname "$0")/lib.sh"
run=$BUILD/tests/seccomp_run

if [ "$(uname -m)" != x86_64 ]; then
	echo "1..0 # SKIP seccomp_run filters x86-64 system calls only"
	exit 0
fi
# Each case sets up its environment itself; inherited settings would change
# what it expects.
unset PERCPU_DISABLE_RSEQ GLIBC_TUNABLES
set -f

# expect_line case line: $info holds exactly this line.
expect_line() {
	if printf '%s\n' "$info" | grep -qxF "$2"; then
		tap_line OK "$1: $2"
	else
		tap_line NOTOK "$1: $2 (got '$(printf '%s\n' "$info" |
			grep "^${2%%:*}:")')"
	fi
}

# in_env case test-mode expected-lines launcher...: percpu-info run through
# the launcher prints each expected line; the unit tests pass in test-mode.
in_env() {
	case_name=$1 mode=$2 want=$3
	shift 3
	info=$("$@" "$BUILD/percpu-info" 2>&1)
	old_ifs=$IFS
	IFS='
'
	for line in $want; do
		IFS=$old_ifs
		expect_line "$case_name" "$line"
	done
	IFS=$old_ifs
	run_binary "$case_name: unit tests in $mode mode" \
		env PERCPU_TEST_MODE="$mode" "$@" "$BUILD/tests/unit"
}

# exit_code want description command...: the launcher's own errors.
exit_code() {
	want=$1 desc=$2
	shift 2
	"$@" >/dev/null 2>&1
	rc=$?
	if [ $rc -eq "$want" ]; then
		tap_line OK "seccomp_run: $desc exits $want"
	else
		tap_line NOTOK "seccomp_run: $desc exits $want (got $rc)"
	fi
}

exit_code 2 "an unknown errno name" "$run" --rseq ENOTANERRNO -- true
exit_code 2 "no command" "$run" --rseq ENOSYS --
exit_code 127 "a command that cannot run" "$run" -- "$BUILD/no-such-command"

# The control: the launcher with nothing refused changes nothing, so the
# differences below come from the refused calls.
in_env "nothing refused" rseq 'mode: rseq
reason: registered by libc
registered_by: libc
membarrier_rseq: yes' "$run" --

# registered_by none shows glibc's registration was refused as well.
in_env "rseq ENOSYS" lock 'mode: lock
reason: rseq: ENOSYS
registered_by: none
membarrier_rseq: yes' "$run" --rseq ENOSYS --

in_env "rseq EPERM" lock 'mode: lock
reason: rseq: EPERM
registered_by: none' "$run" --rseq EPERM --

in_env "glibc rseq tunable off" rseq 'mode: rseq
reason: registered by percpu
registered_by: percpu' env GLIBC_TUNABLES=glibc.pthread.rseq=0

# rseq still works; fences fall back to running on each CPU.
in_env "membarrier ENOSYS" rseq 'mode: rseq
reason: registered by libc
registered_by: libc
membarrier_rseq: no' "$run" --membarrier ENOSYS --

# No fence at all: lock mode, which needs none, and no leases.
in_env "membarrier ENOSYS, sched_setaffinity EPERM" lock 'mode: lock
reason: no fence: membarrier and sched_setaffinity refused
membarrier_rseq: no
lock_leases: no' "$run" --membarrier ENOSYS --affinity EPERM --

in_env "rseq ENOSYS, membarrier EPERM" lock 'mode: lock
reason: rseq: ENOSYS
registered_by: none
membarrier_rseq: no' "$run" --rseq ENOSYS --membarrier EPERM --

tap_done
