# SPDX-License-Identifier: MIT
# In a guest: the param stress test reduced to fit emulation (8 threads
# on 4 CPUs): every structure in rseq, lock and mixed mode, undisturbed,
# then in rseq mode with delays at every injection point, yields and
# signals; every section's abort path and commit are exercised. TAP.
. /tests/lib.sh
param=$BUILD/tests/param
for m in rseq lock mixed; do
	for s in spinlock list buffer memcpy increment stack; do
		if [ $m = lock ]; then set -- env PERCPU_DISABLE_RSEQ=1; else set --; fi
		PERCPU_TEST_MODE=$m run_binary "param $s $m: undisturbed" \
			"$@" "$param" -m $m -T $s -t 8 -r 20000
	done
done
for s in spinlock list buffer memcpy increment stack; do
	PERCPU_TEST_MODE=rseq run_binary "param $s rseq: delays at every point, yields, signals" \
		"$param" -m rseq -T $s -t 8 -r 3000 -D 0,1,2,3,4,5 -d 300 -y 25 -k 25
done
tap_done
