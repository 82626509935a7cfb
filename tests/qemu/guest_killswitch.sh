# SPDX-License-Identifier: MIT
# In a guest: the kill switch thrown under load, from rseq and from mixed
# mode (tests/killswitch.t runs 20 of these; emulation affords 2). The
# test also asks that some round straddled the switch, which a slow guest
# may not schedule: a run whose only failure is that one is tried again,
# up to 3 times; any other failure counts at once. TAP.
. /tests/lib.sh
for m in rseq mixed; do
	for try in 1 2 3; do
		out=$(PERCPU_TEST_MODE=$m "$BUILD/tests/killswitch" --threads 8 --delay 0 2>&1)
		rc=$?
		echo "$out" | sed 's/^/    # /'
		bad=$(echo "$out" | grep '^not ok' | grep -v 'rounds began before the switch and ended after it')
		echo "$out" | grep -q '^not ok' && [ -z "$bad" ] && [ $try -lt 3 ] || break
		echo "    # try $try: no round straddled the switch; again"
	done
	if [ $rc -eq 0 ]; then tap_line OK "killswitch from $m (try $try)"
	else tap_line NOTOK "killswitch from $m (exit $rc, try $try)"; fi
done
tap_done
