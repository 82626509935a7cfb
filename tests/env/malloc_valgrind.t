#!/bin/sh
# SPDX-License-Identifier: MIT
# libpercpu-malloc preloaded under valgrind (memcheck): memcheck's own
# malloc serves the program, so its checks still find a planted heap
# overflow and a leak, and the program's output is unchanged. Ours is
# loaded, and serves at most what memcheck's redirections miss.
. "$(dirname "$0")/../lib.sh"
lib=$(cd "$BUILD" && pwd)/libpercpu-malloc.so
if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind not installed"
	exit 0
fi
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib not built"
	exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/bad.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
	char *volatile p = malloc(10), *q = malloc(20);

	p[10] = 1;	/* one past the end */
	free(p);
	memset(q, 1, 20);	/* q is never freed */
	printf("%d\n", q[3]);
	return 0;
}
C
${CC:-gcc} -O0 -g -o "$dir/bad" "$dir/bad.c" || exit 1
out=$(PERCPU_MALLOC_STATS="$dir/stats.prom" LD_PRELOAD="$lib" \
	valgrind --leak-check=full "$dir/bad" 2>&1)
echo "$out" | grep -E 'Invalid write|definitely lost|ERROR SUMMARY' | sed 's/^/    # /'
if echo "$out" | grep -q 'Invalid write of size 1'; then
	tap_line OK "memcheck finds the heap overflow: its malloc serves the program"
else
	tap_line NOTOK "memcheck did not find the heap overflow"
fi
if echo "$out" | grep -q 'definitely lost: 20 bytes in 1 blocks'; then
	tap_line OK "memcheck finds the leak"
else
	tap_line NOTOK "memcheck did not find the leak"
fi
if echo "$out" | grep -qx '1'; then
	tap_line OK "the program's output is unchanged"
else
	tap_line NOTOK "the program's output changed"
fi
# Ours is loaded but, here and for ls, never called: no statistics at exit.
if [ -f "$dir/stats.prom" ]; then
	echo "    # ours initialized: range $(sed -n 's/^percpu_malloc_range_bytes //p' "$dir/stats.prom") bytes"
else
	echo "    # ours was never called (no statistics at exit)"
fi
tap_done
