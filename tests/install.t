#!/bin/sh
# SPDX-License-Identifier: MIT
# Consumption: the shared library exports percpu_* only, under its version
# node; `make install` into a temporary prefix gives what a user needs:
# pkg-config finds the library, examples/request_counter.c builds against
# it as C and as C++, dynamically and statically, and runs; `man percpu`
# and `man percpu_add` work; `make uninstall` leaves no file behind.
# CC, CXX and SAN (sanitizer flags) come from `make check`.
. "$(dirname "$0")/lib.sh"
: "${CC:=gcc}" "${CXX:=g++}" "${SAN:=}"
prefix=$(mktemp -d)/prefix
trap 'rm -rf "${prefix%/prefix}"' EXIT
src=examples/request_counter.c
# Explicit, so that a DESTDIR or MANDIR given to `make check` does not count.
install_vars="BUILD=$BUILD PREFIX=$prefix MANDIR=$prefix/share/man DESTDIR="

# check description command...: one TAP line; output as comments.
check() {
	what=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -z "$out" ] || echo "$out" | sed 's/^/    # /'
	[ $rc -eq 0 ] && tap_line OK "$what" || tap_line NOTOK "$what"
}

exports_only_percpu() {
	syms=$(nm -D --defined-only "$BUILD/libpercpu.so") || return 1
	echo "$syms" | grep -q ' A PERCPU_0\.1$' &&
		echo "$syms" | grep -q ' T percpu_alloc@@PERCPU_0\.1$' &&
		! echo "$syms" | grep -v -e ' A PERCPU_0\.1$' \
			-e ' [A-Za-z] percpu_[a-z0-9_]*@@PERCPU_0\.1$'
}
check "libpercpu.so exports percpu_* only, versioned PERCPU_0.1" \
	exports_only_percpu

check "make install PREFIX=<tmp>" make -s $install_vars install

PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
pc_cflags=$(pkg-config --cflags percpu)
pc_libs=$(pkg-config --libs percpu)
pc_static=$(pkg-config --libs --static percpu)
pc_all=$(echo $pc_cflags $pc_libs)
check "pkg-config --cflags --libs percpu: $pc_all" \
	test "$pc_all" = "-I$prefix/include -L$prefix/lib -lpercpu"

# needs_installed_so binary: it loads libpercpu.so.0 from the prefix.
needs_installed_so() {
	LD_LIBRARY_PATH=$prefix/lib ldd "$1" |
		grep -q "libpercpu\.so\.0 => $prefix/lib/libpercpu\.so\.0"
}

# has_no_libpercpu_so binary: libpercpu is linked in, not needed at run time.
has_no_libpercpu_so() {
	! readelf -d "$1" | grep -q 'NEEDED.*libpercpu'
}

# consume lang compiler flags...: build $src dynamically and statically.
consume() {
	lang=$1
	compiler=$2
	shift 2
	bin=$prefix/consumer-$lang
	check "$lang, dynamic: $compiler $* \$(pkg-config --cflags --libs)" \
		$compiler "$@" $SAN $pc_cflags $src -x none $pc_libs -o "$bin"
	check "$lang, dynamic: uses the installed libpercpu.so.0" \
		needs_installed_so "$bin"
	check "$lang, dynamic: runs" env LD_LIBRARY_PATH="$prefix/lib" "$bin"
	if [ -n "$SAN" ]; then
		echo "ok $((tap_n += 1)) # skip $lang, static: not with sanitizers"
		return
	fi
	check "$lang, static: $compiler -static $* \$(pkg-config --static ...)" \
		$compiler -static "$@" $pc_cflags $src -x none $pc_static \
		-o "$bin-static"
	check "$lang, static: no libpercpu.so needed" \
		has_no_libpercpu_so "$bin-static"
	check "$lang, static: runs" "$bin-static"
}
consume C "$CC" -x c -std=gnu11 -Wall -Wextra -Werror
consume C++ "$CXX" -x c++ -std=c++11 -Wall -Wextra -Werror

man_finds() {
	page=$(MANPATH=$prefix/share/man man -w "$1") &&
		echo "$page" | grep -q "^$prefix/share/man/$2"
}
check "man percpu finds the installed page" man_finds percpu man3/percpu.3
check "man percpu_add finds percpu_ops(3)" man_finds percpu_add man3/percpu_ops.3
check "man percpu-bench finds the installed page" \
	man_finds percpu-bench man1/percpu-bench.1
check "man percpu renders" \
	sh -c "MANPATH='$prefix/share/man' man percpu | grep -q percpu_disable_rseq"

rm -f "$prefix"/consumer-*
check "make uninstall PREFIX=<tmp>" make -s $install_vars uninstall
left=$(find "$prefix" ! -type d)
[ -n "$left" ] && echo "$left" | sed 's/^/    # left: /'
check "make uninstall removed every file install put there" test -z "$left"
tap_done
