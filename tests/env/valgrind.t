#!/bin/sh
# SPDX-License-Identifier: MIT
# Under valgrind (memcheck), which has no rseq: glibc's registration fails,
# so __rseq_size is 0 (no tunable needed), and the library's own attempt
# gets ENOSYS. The process must end in lock mode, for that reason, without
# PERCPU_DISABLE_RSEQ; the unit tests must pass there with no memcheck
# error and no definite leak.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/modes.sh"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind not installed"
	exit 0
fi
if nm "$BUILD/tests/unit" | grep -q __asan_init; then
	echo "1..0 # SKIP valgrind cannot run AddressSanitizer builds"
	exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# expect_line what line: $info holds exactly this line.
expect_line() {
	if printf '%s\n' "$info" | grep -qxF "$2"; then
		tap_line OK "$1: $2"
	else
		tap_line NOTOK "$1: $2 (got '$(printf '%s\n' "$info" |
			grep "^${2%%:*}:")')"
	fi
}

# log_says what pattern: the memcheck log has a line matching pattern.
log_says() {
	if grep -q "$2" "$log"; then
		tap_line OK "memcheck: $1"
	else
		tap_line NOTOK "memcheck: $1"
	fi
}

info=$(valgrind -q "$BUILD/percpu-info" 2>&1)
# valgrind 3.19 gives up on clang's DWARF 5 before running anything.
case $info in
*"debuginfo reader"*)
	echo "1..0 # SKIP $(valgrind --version) cannot read this build's" \
		"debug info (clang: build with OPT='-O2 -g -gdwarf-4')"
	exit 0
	;;
esac
expect_line "percpu-info under valgrind" "mode: lock"
expect_line "percpu-info under valgrind" "reason: rseq: ENOSYS"
expect_line "percpu-info under valgrind" "registered_by: none"

run_in_mode "unit under memcheck" lock "rseq: ENOSYS" \
	valgrind --log-file="$log" --error-exitcode=1 --leak-check=full \
	--errors-for-leak-kinds=definite "$BUILD/tests/unit"
grep -E 'ERROR SUMMARY|definitely lost|no leaks are possible' "$log" |
	sed 's/^/# /'
log_says "no errors" 'ERROR SUMMARY: 0 errors'
log_says "no definite leaks" \
	'definitely lost: 0 bytes\|All heap blocks were freed'
tap_done
