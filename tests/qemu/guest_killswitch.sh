# SPDX-License-Identifier: MIT
# In a guest: the kill switch thrown under load, from rseq and from mixed
# mode (tests/killswitch.t runs 20 of these; emulation affords a few).
# Every run must pass; as on the host, some run of each mode must have had
# a round straddle the switch, which a slow guest may not schedule (0 in 3
# runs was seen under load with 8 workers; 16 on 4 CPUs leave more off
# a CPU across it): up to 6 runs until one does. TAP.
. /tests/lib.sh
log=/tmp/killswitch.straddled
for m in rseq mixed; do
	rm -f "$log"
	for try in 1 2 3 4 5 6; do
		out=$(PERCPU_TEST_MODE=$m "$BUILD/tests/killswitch" --threads 16 \
			--delay 0 --straddled "$log" 2>&1)
		rc=$?
		echo "$out" | sed 's/^/    # /'
		[ $rc -eq 0 ] && ! grep -q '^[1-9]' "$log" || break
	done
	if [ $rc -eq 0 ] && grep -q '^[1-9]' "$log"; then
		tap_line OK "killswitch from $m (run $try straddled the switch)"
	else
		tap_line NOTOK "killswitch from $m (exit $rc, $try runs)"
	fi
done
tap_done
