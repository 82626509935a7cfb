#!/bin/sh
# SPDX-License-Identifier: MIT
# A quick measurement (not part of make check; `make malloc-pairs`):
# 64 live objects of 64 B, malloc+free pairs on one thread, ns per pair,
# glibc and libpercpu-malloc (rseq, lock mode, cid) interleaved in one run,
# with the load average before and after. The full comparison with
# jemalloc, tcmalloc and mimalloc is `make bench-malloc`.
: "${BUILD:=build}"
t=$BUILD/tests/malloc_pairs
lib=$(cd "$BUILD" && pwd)/libpercpu-malloc.so
size=${1:-64}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in 1 2 3; do
	echo "glibc:                $("$t" "$size")"
	echo "percpu-malloc rseq:   $(LD_PRELOAD="$lib" "$t" "$size")"
	echo "percpu-malloc lock:   $(PERCPU_DISABLE_RSEQ=1 LD_PRELOAD="$lib" "$t" "$size")"
	echo "percpu-malloc cid:    $(PERCPU_INDEX=cid LD_PRELOAD="$lib" "$t" "$size")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
