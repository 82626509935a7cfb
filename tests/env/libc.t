#!/bin/sh
# SPDX-License-Identifier: MIT
# The library under each libc set-up, with the mode and reason each must
# give: glibc's registration, glibc's switched off by its tunable (the
# library registers its own), a fully static binary (where the weak
# __rseq_offset and __rseq_size still resolve), and the shared library
# dlopen()ed and dlclose()d 1000 times while threads operate through it.
# Every test program links the static library: the unit runs stand for them.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/modes.sh"
static=$BUILD/tests/static/unit
dlopen=$BUILD/tests/env_dlopen

run_in_mode "unit, glibc registers" rseq "registered by libc" \
	"$BUILD/tests/unit"
run_in_mode "unit, glibc tunable off" rseq "registered by percpu" \
	env GLIBC_TUNABLES=$TUNABLE_OFF "$BUILD/tests/unit"

# static_cases: the fully static unit tests in each mode. Without a
# program interpreter, nothing is loaded at run time.
static_cases() {
	if [ -x "$static" ] && ! readelf -l "$static" | grep -q INTERP; then
		tap_line OK "static/unit is fully static"
	else
		tap_line NOTOK "static/unit is fully static (missing or dynamic)"
	fi
	run_in_mode "static unit, glibc registers" rseq "registered by libc" \
		"$static"
	run_in_mode "static unit, PERCPU_DISABLE_RSEQ" lock \
		"disabled by PERCPU_DISABLE_RSEQ" \
		env PERCPU_DISABLE_RSEQ=1 "$static"
	run_in_mode "static unit, glibc tunable off" rseq \
		"registered by percpu" env GLIBC_TUNABLES=$TUNABLE_OFF "$static"
}

# gcc refuses -static with AddressSanitizer.
if nm "$BUILD/tests/unit" | grep -q __asan_init; then
	echo "ok $((tap_n += 1)) # SKIP no static binary with AddressSanitizer"
else
	static_cases
fi

# Had env_dlopen linked the library, dlopen() would test nothing.
if [ -x "$dlopen" ] && ! nm "$dlopen" | grep -q percpu_; then
	tap_line OK "env_dlopen does not link the library"
else
	tap_line NOTOK "env_dlopen does not link the library (missing or linked)"
fi
run_in_mode "dlopen, glibc registers" rseq "registered by libc" \
	"$dlopen" "$BUILD/libpercpu.so"
run_in_mode "dlopen, PERCPU_DISABLE_RSEQ" lock \
	"disabled by PERCPU_DISABLE_RSEQ" \
	env PERCPU_DISABLE_RSEQ=1 "$dlopen" "$BUILD/libpercpu.so"
run_in_mode "dlopen, glibc tunable off" rseq "registered by percpu" \
	env GLIBC_TUNABLES=$TUNABLE_OFF "$dlopen" "$BUILD/libpercpu.so"
tap_done
