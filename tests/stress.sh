# SPDX-License-Identifier: MIT
# Sourced by the stress_*.t scripts after lib.sh, with PERCPU_TEST_MODE
# set: each kind of preemption alone (so a failure names its cause), then
# all together, for a time and for a fixed number of rounds.
stress=$BUILD/tests/stress
all="--yield 50 --migrate 100 --self-pin 1000 --signals 20 --delay 300"

run_binary "stress $PERCPU_TEST_MODE: yields" "$stress" --seconds 1 --yield 20
run_binary "stress $PERCPU_TEST_MODE: re-pinning" \
	"$stress" --seconds 1 --migrate 50 --self-pin 500
run_binary "stress $PERCPU_TEST_MODE: signals" \
	"$stress" --seconds 1 --signals 10
run_binary "stress $PERCPU_TEST_MODE: injected delays" \
	"$stress" --seconds 1 --delay 1000
# $all is split into words on purpose.
run_binary "stress $PERCPU_TEST_MODE: all at once" "$stress" --seconds 2 $all
run_binary "stress $PERCPU_TEST_MODE: all at once, 5000 rounds" \
	"$stress" --iterations 5000 $all
# Lock mode stops leasing a shard for a while after each revocation
# (src/lockpath/lease.c), so with 6 workers per CPU the runs above hardly lease:
# here a revoked shard may be leased again at once, and leaseholders keep
# meeting lock holders from the other CPUs.
if [ "$PERCPU_TEST_MODE" = lock ]; then
	run_binary "stress lock: shard leases granted again at once" \
		"$stress" --seconds 2 --delay 300 --lease-no-ban 1
fi
tap_done
