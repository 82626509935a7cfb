# SPDX-License-Identifier: MIT
# Host side of the guest tests (make check-qemu): boot a guest that runs a
# list of test scripts (scripts/qemu/init) and turn its console output into
# TAP here: one line for the boot, one per script run in the guest (ok only
# if it exited 0, printed a plan and no "not ok"), the guest's own TAP
# shown as diagnostics. QEMU_BUILD is where make check-qemu built things.
: "${QEMU_BUILD:=build-qemu}"
guest_n=0
top=$(cd "$(dirname "$0")/../.." && pwd)

# guest NAME ARCH TIMEOUT LIST [QEMU OPTIONS...] [-- KERNEL ARGS]: LIST is
# a file of scripts to run in the guest, one per line with its arguments.
# GUEST_KERNEL=amd64-6.1 boots the 6.1 kernel instead (x86-64).
guest() {
	g_name=$1 g_arch=$2 g_limit=$3 g_list=$4
	shift 4
	case $g_arch in
	aarch64) g_deb=arm64 g_busybox=$QEMU_BUILD/fetch/arm64/bin/busybox ;;
	*) g_deb=amd64 g_busybox=/bin/busybox ;;
	esac
	g_kernel=$(ls "$QEMU_BUILD/fetch/${GUEST_KERNEL:-$g_deb}/boot/"vmlinuz-* | head -n1)
	g_log=$QEMU_BUILD/$g_name.log
	"$top/scripts/qemu/mkinitrd" "$QEMU_BUILD/$g_arch" "$g_busybox" \
		"$QEMU_BUILD/$g_name.cpio.gz" "$g_list" || return 1
	# A guest that never reached /init failed in the emulated kernel's
	# boot, before any code of ours ran (the 64-CPU guest under TCG
	# oopses in sched_clock_cpu now and then): boot it once more, and say
	# so. Its console stays in NAME.log.1.
	for g_try in 1 2; do
		g_t0=$(date +%s)
		"$top/scripts/qemu/boot" "$g_arch" "$g_kernel" \
			"$QEMU_BUILD/$g_name.cpio.gz" "$g_limit" "$@" 2>&1 |
			tr -d '\r' >"$g_log"
		g_secs=$(($(date +%s) - g_t0))
		grep -q '^### GUEST ' "$g_log" && break
		[ $g_try = 1 ] && mv "$g_log" "$g_log.1" &&
			echo "# $g_name: the guest did not reach /init; booting it again (console in $g_log.1)"
	done
	awk -v n="$guest_n" -v count="$QEMU_BUILD/$g_name.count" \
		-v name="$g_name" -v secs="$g_secs" -v limit="$g_limit" '
	function verdict() {
		if (rc == 0 && !bad && plan) {
			printf "ok %d - %s: %s (%d ok lines, %.1f s)%s\n", ++n, name,
				what, oks, ended - started, skip ? " # SKIP " skip : ""
		} else {
			printf "not ok %d - %s: %s (exit %s, %d not ok)\n", ++n,
				name, what, rc, bad
		}
	}
	/^### GUEST / {
		sub(/^### GUEST up=/, "")
		up = $1
		sub(/^[^ ]* /, "")
		printf "ok %d - %s: booted to /init in %s s of guest time: %s\n",
			++n, name, up, $0
		booted = 1
		next
	}
	/^### BEGIN / {
		what = $0
		sub(/^### BEGIN /, "", what)
		sub(/ +$/, "", what)
		inside = 1; bad = 0; plan = 0; oks = 0; skip = ""
		next
	}
	/^### END / {
		split($0, f, /[ =]/)
		for (i = 1; i in f; i++) {
			if (f[i] == "rc") rc = f[i + 1]
			if (f[i] == "started") started = f[i + 1]
			if (f[i] == "ended") ended = f[i + 1]
		}
		inside = 0
		verdict()
		next
	}
	/^### DONE/ { done = 1; next }
	inside {
		print "    # " $0
		if ($0 ~ /^not ok/) bad++
		if ($0 ~ /^ok/) oks++
		if ($0 ~ /^1\.\.[1-9]/) plan = 1
		if ($0 ~ /^1\.\.0 # SKIP/) { plan = 1; skip = $0; sub(/^1\.\.0 # SKIP */, "", skip) }
		next
	}
	{ tail[++t] = $0 }
	END {
		if (inside) {
			rc = "none: the guest stopped inside it"
			verdict()
		}
		if (!booted)
			printf "not ok %d - %s: the guest did not reach /init\n", ++n, name
		if (done)
			printf "ok %d - %s: finished and powered off, %d s on the host\n",
				++n, name, secs
		else
			printf "not ok %d - %s: did not finish within %d s\n", ++n,
				name, limit
		if (!done || !booted)
			for (i = t > 30 ? t - 30 : 1; i <= t; i++)
				print "    # console: " tail[i]
		print n >count
	}' "$g_log"
	guest_n=$(cat "$QEMU_BUILD/$g_name.count")
}

# guest_done: the plan, after the last guest.
guest_done() {
	echo "1..$guest_n"
}
