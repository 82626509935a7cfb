#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's first program, taken from the README as a reader would: it
# compiles with the compile line the README gives, without a warning
# under -Wall -Wextra, and prints the exact total in rseq and in lock mode.
. "$(dirname "$0")/lib.sh"
unset PERCPU_DISABLE_RSEQ PERCPU_INDEX PERCPU_NUMA PERCPU_LEASE GLIBC_TUNABLES

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The reader's folder is the source tree after `make`: include/ and build/.
ln -s "$PWD/include" "$dir/include"
ln -s "$(cd "$BUILD" && pwd)" "$dir/build"

# The first ```c block after "## A first program", and the `cc` line of
# the ```sh block that follows it.
awk '/^## A first program/ { f = 1 } f && /^```c$/ { p = 1; next }
	p && /^```$/ { exit } p' README.md >"$dir/hits.c"
line=$(awk '/^## A first program/ { f = 1 } f && /^```sh$/ { p = 1; next }
	p && /^cc / { print; exit }' README.md)
echo "    # $line"
# A sanitized build's library needs the sanitizer's runtime at link time.
[ -z "${SAN:-}" ] || line="${CC:-cc} $SAN ${line#cc }"
[ -s "$dir/hits.c" ] && [ -n "$line" ]
tap_line "$([ $? = 0 ] && echo OK || echo NOTOK)" "README: a program and its compile line"

out=$(cd "$dir" && sh -c "$line" 2>&1)
rc=$?
echo "$out" | sed 's/^/    # /'
[ $rc = 0 ] && tap_line OK "the compile line builds and runs it" ||
	tap_line NOTOK "the compile line builds and runs it (exit $rc)"
[ "$out" = "4000000 hits, rseq mode (registered by libc)" ] ||
	echo "$out" | grep -qx '4000000 hits, rseq mode (registered by percpu)'
tap_line "$([ $? = 0 ] && echo OK || echo NOTOK)" "rseq mode: the exact total, as the README says"

out=$(cd "$dir" && PERCPU_DISABLE_RSEQ=1 ./hits 2>&1)
[ "$out" = "4000000 hits, lock mode (disabled by PERCPU_DISABLE_RSEQ)" ]
tap_line "$([ $? = 0 ] && echo OK || echo NOTOK)" "lock mode: the exact total (got: $out)"

warn=$(cd "$dir" && ${CC:-cc} -Wall -Wextra -O2 -Iinclude -c hits.c \
	-o hits.o 2>&1)
[ -z "$warn" ] || echo "$warn" | sed 's/^/    # /'
[ -z "$warn" ] && r=OK || r=NOTOK
tap_line $r "no warning under ${CC:-cc} -Wall -Wextra"

n=$(wc -l <README.md)
[ "$n" -lt 200 ] && r=OK || r=NOTOK
tap_line $r "README.md under 200 lines ($n)"
tap_done
