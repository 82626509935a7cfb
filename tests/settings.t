#!/bin/sh
# SPDX-License-Identifier: MIT
# The settings file (percpu-info(1), FILES): what it sets, the environment
# over it, the files it refuses (owner, permissions, type, size) and the
# lines it ignores, each with its note. percpu-info prints what its own
# library read; PERCPU_CONF points it at files made here.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_NUMA PERCPU_LEASE GLIBC_TUNABLES

dir=$(mktemp -d)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
conf=$dir/percpu.conf
info=$BUILD/percpu-info

# expect name line...: percpu-info (run as $run, under $conf) prints each line.
expect() {
	what=$1
	shift
	out=$(PERCPU_CONF=$conf $run "$info" 2>&1)
	missing=
	for line in "$@"; do
		echo "$out" | grep -qxF "$line" || missing="$missing [$line]"
	done
	[ -z "$missing" ] && r=OK || r=NOTOK
	[ -z "$missing" ] || echo "$out" | sed 's/^/    # /'
	tap_line $r "$what${missing:+ (missing:$missing)}"
}

# put mode text: the settings file, root's and of that mode.
put() {
	rm -rf "$conf"
	printf '%s' "$2" >"$conf"
	chmod "$1" "$conf"
}

run=
rm -f "$conf"
expect "no file: every default" "setting_disable_rseq: 0 (default)" \
	"setting_index: cpu (default)" "setting_leases: 1 (default)" \
	"setting_numa: auto (default)" "settings_file: $conf (absent)" \
	"mode: rseq"

put 644 '# the kill switch
  disable_rseq=1   # off
leases = 0
numa	=	0
index = cpu
'
expect "a file sets each setting, blanks and comments aside" \
	"setting_disable_rseq: 1 (file)" "setting_leases: 0 (file)" \
	"setting_numa: 0 (file)" "setting_index: cpu (file)" \
	"settings_file: $conf (read)" "mode: lock" \
	"reason: disabled by disable_rseq in the settings file" \
	"lock_leases: no"

put 600 'index = cid
'
if "$info" | grep -qx "mm_cid_usable: yes"; then
	expect "index = cid in the file" "setting_index: cid (file)" \
		"index: cid"
else
	expect "index = cid in the file, mm_cid not usable" \
		"setting_index: cid (file)" "index: cpu"
fi

put 644 'disable_rseq = 1
index = cid
'
run="env PERCPU_DISABLE_RSEQ=0 PERCPU_INDEX=cpu"
expect "the environment over the file" "mode: rseq" \
	"setting_disable_rseq: 0 (environment)" \
	"setting_index: cpu (environment)" "index: cpu"
run="env PERCPU_DISABLE_RSEQ="
expect "an empty variable leaves it to the file" "mode: lock" \
	"setting_disable_rseq: 1 (file)"
run=

put 664 'disable_rseq = 1
'
expect "a file writable by its group is ignored" "mode: rseq" \
	"setting_disable_rseq: 0 (default)" "settings_file: $conf (ignored)" \
	"settings_note: $conf: writable by group or others: ignored"
put 646 'disable_rseq = 1
'
expect "a file writable by others is ignored" "mode: rseq" \
	"settings_note: $conf: writable by group or others: ignored"

put 644 'disable_rseq = 1
'
chown 65534 "$conf"
expect "a file of another user is ignored" "mode: rseq" \
	"settings_note: $conf: owned by neither root nor this user: ignored"

rm -f "$conf"
mkdir "$conf"
expect "a directory is ignored" "mode: rseq" \
	"settings_note: $conf: not a regular file: ignored"
rmdir "$conf"
mkfifo -m 644 "$conf"
expect "a FIFO is ignored, not waited on" "mode: rseq" \
	"settings_note: $conf: not a regular file: ignored"
rm -f "$conf"

put 644 "$(printf 'disable_rseq = 1\n'; head -c 4200 /dev/zero | tr '\0' '#')"
expect "a file over 4096 bytes is ignored whole" "mode: rseq" \
	"settings_note: $conf: longer than 4096 bytes: ignored"

put 644 'bogus = 1
disable_rseq
index = numa
leases = 2
numa = 0
disable_rseq = 1
'
expect "bad lines are ignored, each with a note; good ones apply" \
	"settings_note: line 1: bogus: unknown key: line ignored" \
	"settings_note: line 2: disable_rseq: no '=': line ignored" \
	"settings_note: line 3: index: not cpu or cid: line ignored" \
	"settings_note: line 4: leases: not 0 or 1: line ignored" \
	"setting_numa: 0 (file)" "setting_index: cpu (default)" \
	"setting_leases: 1 (default)" "mode: lock" "settings_file: $conf (read)"

# A PERCPU_CONF file may be the user's own: a user could set the variables
# anyway. Run as an unprivileged user (nobody) where setpriv exists.
if command -v setpriv >/dev/null 2>&1; then
	put 644 'disable_rseq = 1
'
	chown 65534 "$conf"
	run="setpriv --reuid=65534 --regid=65534 --clear-groups"
	expect "a PERCPU_CONF file of the user who runs it is read" \
		"mode: lock" "settings_file: $conf (read)"
	run=
else
	tap_line OK "# SKIP setpriv is missing"
fi
tap_done
