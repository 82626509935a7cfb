#!/bin/sh
# SPDX-License-Identifier: MIT
# Status files (percpu_status_dir(3)) and percpu-info --pid / --ps: a
# running process in rseq mode, in lock mode by the environment and by the
# settings file, and switched by percpu_reload_settings(); the file's mode;
# a child of fork; removed at a normal exit, and a killed process's by the
# next process to start; the file of a dead process, of a process that
# exec'd another program, and one not the process's own are not believed.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_NUMA PERCPU_LEASE GLIBC_TUNABLES

dir=$(mktemp -d)
chmod 755 "$dir"
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$dir"' EXIT
export PERCPU_STATUS_DIR=$dir/run PERCPU_CONF=$dir/percpu.conf
info=$BUILD/percpu-info
helper=$BUILD/tests/status_helper

# start name env...: the helper in the background, once it ran an
# operation; its pid in $pid.
start() {
	out=$dir/$1.out
	shift
	env "$@" "$helper" >"$out" 2>&1 &
	pid=$!
	pids="$pids $pid"
	wait_line "$out" '^ready$' >/dev/null
}

# expect_pid name pid line...: percpu-info --pid prints each line.
expect_pid() {
	what=$1
	p=$2
	shift 2
	out=$("$info" --pid "$p" 2>&1)
	missing=
	for line in "pid: $p" "$@"; do
		echo "$out" | grep -qxF "$line" || missing="$missing [$line]"
	done
	[ -z "$missing" ] && r=OK || r=NOTOK
	[ -z "$missing" ] || echo "$out" | sed 's/^/    # /'
	tap_line $r "$what${missing:+ (missing:$missing)}"
}

rm -f "$PERCPU_CONF"
start rseq
rseq_pid=$pid
expect_pid "rseq mode" "$pid" "mode: rseq" \
	"setting_disable_rseq: 0 (default)" \
	"settings_file: $PERCPU_CONF (absent)"
perm=$(stat -c %a "$PERCPU_STATUS_DIR/$pid")
[ "$perm" = 600 ] && r=OK || r=NOTOK
tap_line $r "the status file is mode 0600 ($perm)"

start env PERCPU_DISABLE_RSEQ=1
env_pid=$pid
expect_pid "lock mode by the environment" "$pid" "mode: lock" \
	"reason: disabled by PERCPU_DISABLE_RSEQ" \
	"setting_disable_rseq: 1 (environment)"

printf 'disable_rseq = 1\nnuma = 2\n' >"$PERCPU_CONF"
chmod 644 "$PERCPU_CONF"
start file
expect_pid "lock mode by the settings file, with its note" "$pid" \
	"mode: lock" "reason: disabled by disable_rseq in the settings file" \
	"setting_disable_rseq: 1 (file)" "settings_file: $PERCPU_CONF (read)" \
	"settings_note: line 2: numa: not 0 or 1: line ignored"
file_pid=$pid

echo 'disable_rseq = 0' >"$PERCPU_CONF"
start reload
expect_pid "before the reload: rseq mode" "$pid" "mode: rseq"
echo 'disable_rseq = 1' >"$PERCPU_CONF"
kill -HUP "$pid"
wait_line "$dir/reload.out" '^reloaded$' >/dev/null
expect_pid "after percpu_reload_settings(): lock mode, republished" "$pid" \
	"mode: lock" "setting_disable_rseq: 1 (file)" \
	"reason: disabled by percpu_reload_settings(): disable_rseq in the settings file"
reload_pid=$pid

# The environment wins over the file on a reload too.
echo 'disable_rseq = 0' >"$PERCPU_CONF"
start env_wins PERCPU_DISABLE_RSEQ=0
echo 'disable_rseq = 1' >"$PERCPU_CONF"
kill -HUP "$pid"
wait_line "$dir/env_wins.out" '^reloaded$' >/dev/null
expect_pid "PERCPU_DISABLE_RSEQ=0 wins over the file on a reload" "$pid" \
	"mode: rseq" "setting_disable_rseq: 0 (environment)"
kill -TERM "$pid"
wait "$pid"
gone_pid=$pid

# Under a preloaded libpercpu-malloc every process of this script uses
# the library, percpu-info and the pipeline's own included: then the four
# and not the one that exited, else exactly the four.
listed=$("$info" --ps | sed -n 's/^pid: //p' | sort | tr '\n' ' ')
want=$(printf '%s\n' $rseq_pid $env_pid $file_pid $reload_pid | sort |
	tr '\n' ' ')
if [ -z "${LD_PRELOAD:-}" ]; then
	[ "$listed" = "$want" ] && r=OK || r=NOTOK
else
	r=OK
	for p in $want; do
		case " $listed" in *" $p "*) ;; *) r=NOTOK ;; esac
	done
	case " $listed" in *" $gone_pid "*) r=NOTOK ;; esac
fi
tap_line $r "--ps lists the four processes ($listed)"

# A child of fork is listed under its own pid; its exit leaves its
# parent's file. A child that execs another program is not listed.
kill -USR1 "$rseq_pid"
wait_for_child() {
	for i in $(seq 100); do
		child=$(sed -n 's/^child //p' "$dir/rseq.out" | sed -n "${1}p")
		[ -n "$child" ] && [ -e "$PERCPU_STATUS_DIR/$child" ] && return 0
		sleep 0.1
	done
}
wait_for_child 1
pids="$pids $child"
expect_pid "a child of fork, by its own status file" "$child" "mode: rseq"
kill -TERM "$child"
for i in $(seq 50); do
	[ -e "$PERCPU_STATUS_DIR/$child" ] || break
	sleep 0.1
done
[ ! -e "$PERCPU_STATUS_DIR/$child" ] && [ -e "$PERCPU_STATUS_DIR/$rseq_pid" ] &&
	r=OK || r=NOTOK
tap_line $r "the child's exit removes its file, not its parent's"
kill -USR2 "$rseq_pid"
wait_for_child 2
pids="$pids $child"
for i in $(seq 50); do
	[ "$(readlink "/proc/$child/exe")" != "$helper" ] &&
		[ "$(readlink "/proc/$child/exe")" != "$(readlink -f "$helper")" ] &&
		break
	sleep 0.1
done
# The file the child wrote before its exec names the helper and is not
# believed. The program it exec'd may use the library too (under
# libpercpu-malloc preloaded, sleep does) and publish its own: then only a
# file that names that program may be shown.
r=OK
if out=$("$info" --pid "$child" 2>/dev/null); then
	exe=$(stat -L -c '%d:%i' "/proc/$child/exe")
	printf '%s\n' "$out" | grep -qx "exe: $exe" || r=NOTOK
else
	[ -e "$PERCPU_STATUS_DIR/$child" ] || r=NOTOK
fi
tap_line $r "a child that exec'd another program is not believed"
kill -KILL "$child"

kill -TERM "$rseq_pid"
wait "$rseq_pid"
[ ! -e "$PERCPU_STATUS_DIR/$rseq_pid" ] && r=OK || r=NOTOK
tap_line $r "a normal exit removes the status file"

kill -KILL "$env_pid"
wait "$env_pid" 2>/dev/null
[ -e "$PERCPU_STATUS_DIR/$env_pid" ] && r=OK || r=NOTOK
tap_line $r "a killed process leaves its file"
# percpu-info uses the library: its own start sweeps the directory.
"$info" --pid "$env_pid" >/dev/null 2>&1 && r=NOTOK || r=OK
[ -e "$PERCPU_STATUS_DIR/$env_pid" ] && r=NOTOK
[ -e "$PERCPU_STATUS_DIR/$file_pid" ] || r=NOTOK
tap_line $r "the next process to start removes it, and only it"

# Values from the environment are written escaped: a newline in a setting
# or in the settings file's path cannot add a line to the process's file.
bad=$(printf 'cpu\nmode: forged\033\377')
start hostile PERCPU_INDEX="$bad" PERCPU_CONF="$dir/a
mode: forged"
out=$("$info" --pid "$pid" 2>&1)
[ "$(printf '%s\n' "$out" | grep -c '^mode: ')" = 1 ] &&
	printf '%s\n' "$out" | grep -qxF "mode: rseq" &&
	printf '%s\n' "$out" | grep -qF 'cpu\x0amode: forged\x1b\xff' &&
	printf '%s\n' "$out" |
	grep -qxF "settings_file: $dir/a\\x0amode: forged (absent)" &&
	r=OK || r=NOTOK
[ $r = OK ] || printf '%s\n' "$out" | sed 's/^/    # /'
tap_line $r "a newline in PERCPU_INDEX and PERCPU_CONF: escaped, one mode line"
kill "$pid"

# Files forged for a live process that does not use the library, from a
# real one: pid, start time and executable replaced.
sleep 30 &
sleeper=$!
pids="$pids $sleeper"
start_time=$(sed 's/.*) //' "/proc/$sleeper/stat" | cut -d' ' -f20)
exe=$(stat -L -c %d:%i "/proc/$sleeper/exe")
forge() {
	sed -e "s/^pid: .*/pid: $sleeper/" -e "s/^start: .*/start: $1/" \
		-e "s/^exe: .*/exe: $2/" "$PERCPU_STATUS_DIR/$file_pid" \
		>"$PERCPU_STATUS_DIR/$sleeper"
}
forge "$start_time" "$exe"
"$info" --pid "$sleeper" >/dev/null 2>&1 && r=OK || r=NOTOK
tap_line $r "a file with the process's pid, start time and executable is believed"
forge "$((start_time - 1))" "$exe"
"$info" --pid "$sleeper" >/dev/null 2>&1 && r=NOTOK || r=OK
tap_line $r "not with another start time (a dead process's)"
forge "$start_time" "$exe"
chown 65534 "$PERCPU_STATUS_DIR/$sleeper"
"$info" --pid "$sleeper" >/dev/null 2>&1 && r=NOTOK || r=OK
tap_line $r "not if another user owns it"
rm -f "$PERCPU_STATUS_DIR/$sleeper"
mkfifo -m 600 "$PERCPU_STATUS_DIR/$sleeper"
timeout 10 "$info" --pid "$sleeper" >/dev/null 2>&1
rc=$?
[ $rc = 1 ] && r=OK || r=NOTOK
tap_line $r "a FIFO in its place is skipped, not waited on (exit $rc)"
tap_done
