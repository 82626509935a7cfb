#!/bin/sh
# SPDX-License-Identifier: MIT
# A set-user-ID program ignores the variables that point the library
# elsewhere (secure_getenv(3)): PERCPU_CONF, PERCPU_STATUS_DIR and the
# settings' own. percpu-info is copied into a temporary folder, made
# set-user-ID root there, and run as an unprivileged user created for the
# test (nobody where useradd is missing), beside a plain copy that must
# honour the same variables. Needs root and a folder mounted without
# nosuid; skipped otherwise.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_NUMA PERCPU_LEASE GLIBC_TUNABLES

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	tap_line OK "# SKIP needs root and setpriv"
	tap_done
	exit 0
fi
dir=$(mktemp -d)
chmod 755 "$dir"
user=percpu-t$$
trap 'rm -rf "$dir"; [ -n "$made" ] && userdel "$user" 2>/dev/null' EXIT
made=
if useradd --system --no-create-home --shell /usr/sbin/nologin "$user" \
	2>/dev/null; then
	made=1
	uid=$(id -u "$user")
	gid=$(id -g "$user")
else
	uid=65534
	gid=65534
fi
if findmnt -no OPTIONS -T "$dir" 2>/dev/null | grep -qw nosuid; then
	tap_line OK "# SKIP $dir is mounted nosuid"
	tap_done
	exit 0
fi
cp "$BUILD/percpu-info" "$dir/plain"
cp "$BUILD/percpu-info" "$dir/suid"
chmod 4755 "$dir/suid"
printf 'disable_rseq = 1\n' >"$dir/percpu.conf"
chmod 644 "$dir/percpu.conf"
chown "$uid" "$dir/percpu.conf"

# as_user prog: prog run as the test user, under every variable.
as_user() {
	setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		env PERCPU_CONF="$dir/percpu.conf" PERCPU_INDEX=cid \
		PERCPU_STATUS_DIR="$dir/status-$(basename "$1")" "$1" 2>&1
}

out=$(as_user "$dir/plain")
echo "$out" | sed 's/^/    # /'
echo "$out" | grep -qxF "settings_file: $dir/percpu.conf (read)" &&
	echo "$out" | grep -qx "mode: lock" &&
	echo "$out" | grep -qxF "setting_index: cid (environment)" &&
	r=OK || r=NOTOK
tap_line $r "a plain program as uid $uid honours PERCPU_CONF and PERCPU_INDEX"

out=$(as_user "$dir/suid")
echo "$out" | sed 's/^/    # /'
echo "$out" | grep -q "^settings_file: $dir/" && r=NOTOK || r=OK
echo "$out" | grep -q "^settings_file: /" || r=NOTOK
tap_line $r "the set-user-ID copy ignores PERCPU_CONF"
echo "$out" | grep -qxF "setting_index: cid (environment)" && r=NOTOK || r=OK
echo "$out" | grep -qxF "option_PERCPU_INDEX: (unset)" || r=NOTOK
tap_line $r "and PERCPU_INDEX"
[ -e "$dir/status-suid" ] && r=NOTOK || r=OK
tap_line $r "and PERCPU_STATUS_DIR (no $dir/status-suid)"
tap_done
