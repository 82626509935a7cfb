# SPDX-License-Identifier: MIT
# Sourced by tests/env/*.t after lib.sh. Each case sets its environment
# itself: inherited settings would change the mode it expects.
unset PERCPU_DISABLE_RSEQ PERCPU_TEST_MODE GLIBC_TUNABLES
TUNABLE_OFF=glibc.pthread.rseq=0

# run_in_mode name test-mode reason cmd...: the TAP binary passes with
# PERCPU_TEST_MODE=test-mode (one line), and its mode line, printed by
# tap_check_mode() or alike, gives `reason` (a second line).
run_in_mode() {
	rim_name=$1 rim_mode=$2 rim_reason=$3
	shift 3
	run_binary "$rim_name" env PERCPU_TEST_MODE="$rim_mode" "$@"
	rim_actual=rseq
	[ "$rim_mode" = lock ] && rim_actual=lock
	rim_want="mode is $rim_mode as asked ($rim_actual: $rim_reason)"
	if printf '%s\n' "$out" | grep '^ok ' | grep -qF -- "- $rim_want"; then
		tap_line OK "$rim_name: $rim_actual, $rim_reason"
	else
		tap_line NOTOK "$rim_name: $rim_actual, $rim_reason (got: $(
			printf '%s\n' "$out" | grep -m1 'mode is'))"
	fi
}
