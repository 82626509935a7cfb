# SPDX-License-Identifier: MIT
# In a guest: the kill switch thrown under load, from rseq and from mixed
# mode (tests/killswitch.t runs 20 of these; emulation affords 2). TAP.
. /tests/lib.sh
for m in rseq mixed; do
	PERCPU_TEST_MODE=$m run_binary "killswitch from $m" \
		"$BUILD/tests/killswitch" --threads 8 --delay 0
done
tap_done
