#!/bin/sh
# SPDX-License-Identifier: MIT
# The coarse clock read through the vDSO (tests/clock.c), and what the
# allocator's library takes from libc: set-up and the status file make
# their system calls through syscall() (src/runtime/sys.h), not through
# wrappers that would map more of libc's text into every process that
# preloads it, so it imports none of these.
. "$(dirname "$0")/lib.sh"
run_binary "coarse clock" "$BUILD/tests/clock"
so="$BUILD/libpercpu-malloc.so"
if [ -f "$so" ]; then
	imports=$(nm -D --undefined-only "$so" | awk '{ sub(/@.*/, "", $2); print $2 }')
	for f in clock_gettime sched_getaffinity sched_setaffinity geteuid \
		getpid mkdir chmod rename unlink unlinkat stat kill; do
		if echo "$imports" | grep -qx "$f"; then
			tap_line NOTOK "libpercpu-malloc.so imports $f"
		else
			tap_line OK "libpercpu-malloc.so does not import $f"
		fi
	done
else
	tap_skip "libpercpu-malloc.so's imports" "not built"
fi
tap_done
