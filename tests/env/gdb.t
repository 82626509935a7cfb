#!/bin/sh
# SPDX-License-Identifier: MIT
# A debugger single-steps every operation in rseq mode. Each step aborts the
# section being stepped, so an unbounded retry loop would never return: gdb
# breaks on each op_NAME of tests/env_gdb.c and steps until it returns (or a
# step limit), then the program checks its results and prints "all done".
. "$(dirname "$0")/../lib.sh"
target=$BUILD/tests/env_gdb
limit=100000
ops=13

# No symbol server lookups: the target and its libraries are local.
unset DEBUGINFOD_URLS
if ! command -v gdb >/dev/null 2>&1; then
	echo "1..0 # SKIP gdb is not installed"
	exit 0
fi
if ! gdb -batch -nx -ex run -ex 'quit $_exitcode' /bin/true >/dev/null 2>&1
then
	echo "1..0 # SKIP gdb cannot run a program here (ptrace refused?)"
	exit 0
fi
export PERCPU_TEST_MODE=rseq
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_binary "control: the target passes without a debugger" "$target"

# $sp rises above its value at the breakpoint when the function returns.
# gdb exits with the program's exit code, or 1 if a step failed.
cat >"$tmp/step.gdb" <<EOF
set pagination off
set confirm off
define stepout
  set \$top = \$sp
  set \$n = 0
  while \$sp <= \$top && \$n < $limit
    stepi
    set \$n = \$n + 1
  end
  printf "stepped %d instructions\n", \$n
end
rbreak ^op_[a-z0-9_]*\$
run --stepped >$tmp/out
set \$hits = 0
while \$_isvoid(\$_exitcode) && \$hits <= $ops
  stepout
  set \$hits = \$hits + 1
  continue
end
quit \$_exitcode
EOF

# check STATUS DESCRIPTION: one TAP line, ok if STATUS is 0.
check() {
	if [ "$1" = 0 ]; then tap_line OK "$2"; else tap_line NOTOK "$2"; fi
}

# All the op_NAME functions returned before the step limit.
steps_ok() {
	n=0
	for s in $steps; do
		n=$((n + 1))
		[ "$s" -lt $limit ] || return 1
	done
	[ $n -eq $ops ]
}

timeout 300 gdb -batch -nx -x "$tmp/step.gdb" "$target" >"$tmp/log" 2>&1
rc=$?
[ -f "$tmp/out" ] && sed 's/^/    # /' "$tmp/out"
[ $rc -eq 0 ] || tail -n 20 "$tmp/log" | sed 's/^/    # gdb: /'
steps=$(sed -n 's/^stepped \([0-9]*\) instructions$/\1/p' "$tmp/log" | tr '\n' ' ')
echo "    # instructions stepped per operation: $steps"
check $rc "under gdb the program exits 0 (exit $rc)"
grep -qx "all done" "$tmp/out" && ! grep -q '^not ok' "$tmp/out" &&
	grep -q '^1\.\.[1-9]' "$tmp/out"
check $? "every result exact, every operation went to the lock path"
steps_ok
check $? "all $ops operations stepped to their return (limit $limit steps)"
tap_done
