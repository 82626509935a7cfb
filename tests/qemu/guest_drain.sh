# SPDX-License-Identifier: MIT
# In a guest: the remote drains of tests/drain.t in rseq, lock and mixed
# mode and with concurrency ids, without its seccomp variants: with
# membarrier refused, "the drainer took 0 items" came up now in one
# variant, now in another, in the x86-64 guests (a timing-bound check). TAP.
. /tests/lib.sh
drain=$BUILD/tests/drain
PERCPU_TEST_MODE=rseq run_binary "drain rseq" "$drain"
PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "drain lock" "$drain"
PERCPU_TEST_MODE=mixed run_binary "drain mixed" "$drain"
PERCPU_INDEX=cid PERCPU_TEST_MODE=rseq run_binary "drain cid rseq" "$drain"
tap_done
