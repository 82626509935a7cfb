#!/bin/sh
# SPDX-License-Identifier: MIT
# percpu-info's interface: --help and --version on stdout with exit 0, an
# unknown option or argument a usage error (exit 2, usage on stderr), a
# failed write exit 1;
# --json says exactly what the text says (each "key: value" line one
# member), in rseq and in lock mode, for --pid and --ps too; the line that
# explains lock mode beside a registered rseq area; environment values
# with control characters and bytes that are not UTF-8 stay on their line
# in the text and valid in the JSON.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_NUMA PERCPU_LEASE GLIBC_TUNABLES

dir=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT
export PERCPU_STATUS_DIR="$dir/run" PERCPU_CONF="$dir/percpu.conf"
info=$BUILD/percpu-info

# run args...: percpu-info's exit status in $rc, its stdout and stderr in
# $dir/out and $dir/err.
run() {
	"$info" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
}

# result ok what: one TAP line; on failure, what percpu-info printed.
result() {
	if [ "$1" = 0 ]; then
		tap_line OK "$2"
	else
		sed 's/^/    # out: /' "$dir/out"
		sed 's/^/    # err: /' "$dir/err"
		tap_line NOTOK "$2"
	fi
}

run --help
[ $rc = 0 ] && grep -q '^usage: percpu-info ' "$dir/out" &&
	grep -q -- '--json' "$dir/out" && [ ! -s "$dir/err" ]
result $? "--help: usage on stdout, exit 0"

v=$(sed -n 's/^#define PERCPU_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
	include/percpu/version.h | paste -sd.)
run --version
[ $rc = 0 ] && [ "$(cat "$dir/out")" = "percpu-info (percpu) $v" ]
result $? "--version: the library's version $v, exit 0"

for bad in --nosuch extra "--pid 12x" "--pid 1 --ps" "--pid"; do
	# shellcheck disable=SC2086 # split on purpose: options and values
	run $bad
	[ $rc = 2 ] && [ ! -s "$dir/out" ] &&
		grep -q '^usage: percpu-info ' "$dir/err"
	result $? "'$bad': usage on stderr, exit 2"
done

"$info" >/dev/full 2>"$dir/err"
rc=$?
[ $rc = 1 ] && grep -q 'standard output' "$dir/err"
tap_line "$([ $? = 0 ] && echo OK || echo NOTOK)" "output to a full disk: exit 1 (got $rc)"

if ! command -v jq >/dev/null 2>&1; then
	tap_line NOTOK "jq is missing (scripts/install-deps, as root)"
	tap_done
	exit
fi

# The JSON back as text lines: a list member gives one line per value.
as_text() {
	jq -r 'to_entries[] | .key as $k |
		(.value | if type == "array" then .[] else . end) |
		"\($k): \(.)"'
}

# same what "args" env...: under that environment, percpu-info --json
# args parses and says line for line what percpu-info args says.
same() {
	what=$1
	args=$2
	shift 2
	# shellcheck disable=SC2086 # args split on purpose
	env "$@" "$info" $args >"$dir/text" 2>"$dir/err"
	# shellcheck disable=SC2086
	env "$@" "$info" --json $args >"$dir/out" 2>>"$dir/err"
	rc=$?
	[ $rc = 0 ] && as_text <"$dir/out" >"$dir/back" &&
		[ -s "$dir/back" ] && cmp -s "$dir/text" "$dir/back"
	result $? "$what: --json parses and matches the text"
}

# mode_note want env...: the mode is the one expected in the text and the
# JSON, and the note line is there exactly when lock mode runs beside a
# registered area.
mode_note() {
	want=$1
	shift
	text=$(env "$@" "$info")
	mode=$(env "$@" "$info" --json | jq -r .mode)
	by=$(printf '%s\n' "$text" | sed -n 's/^registered_by: //p')
	note=$(printf '%s\n' "$text" | grep -c '^note: ')
	[ "$want" = lock ] && [ "$by" != none ] && want_note=1 || want_note=0
	echo "    # mode $mode, registered_by $by, $note note line(s)"
	[ "$mode" = "$want" ] && printf '%s\n' "$text" | grep -qx "mode: $want" &&
		[ "$note" = "$want_note" ]
	tap_line "$([ $? = 0 ] && echo OK || echo NOTOK)" \
		"${*:-no environment}: mode $want, a note iff lock beside an area"
}

same "rseq mode" ""
mode_note rseq
same "lock mode" "" PERCPU_DISABLE_RSEQ=1
mode_note lock PERCPU_DISABLE_RSEQ=1

# A newline, an escape, a quote, a backslash, a byte that is not UTF-8 and
# one character that is: one text line with the first five escaped as in
# C, the same string in JSON.
bad=$(printf 'cpu\nmode: forged\033"\\\377\342\202\254')
same "hostile PERCPU_INDEX" "" PERCPU_INDEX="$bad"
text=$(PERCPU_INDEX="$bad" "$info")
got=$(PERCPU_INDEX="$bad" "$info" --json | jq -r .option_PERCPU_INDEX)
want=$(printf 'cpu\\x0amode: forged\\x1b"\\\\\\xff\342\202\254')
[ "$(printf '%s\n' "$text" | grep -c '^mode: ')" = 1 ] &&
	printf '%s\n' "$text" | grep -qxF "option_PERCPU_INDEX: $want" &&
	[ "$got" = "$want" ]
result $? "hostile PERCPU_INDEX: one line, escaped; valid JSON"

# --pid and --ps of a running process, in JSON as in text.
"$BUILD/tests/status_helper" >"$dir/helper" 2>&1 &
pid=$!
wait_line "$dir/helper" '^ready$' >/dev/null
same "--pid" "--pid $pid"
"$info" --ps --json >"$dir/out" 2>"$dir/err"
[ "$(jq -r --arg p "$pid" '[.processes[] | select(.pid == $p)] | length' \
	"$dir/out")" = 1 ]
result $? "--ps --json: a list of processes, the helper in it"
tap_done
