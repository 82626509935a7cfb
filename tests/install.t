#!/bin/sh
# SPDX-License-Identifier: MIT
# Consumption: the shared library exports percpu_* only, under its version
# node; `make install` into a temporary prefix gives what a user needs:
# pkg-config finds the library, the installed copy of
# examples/request_counter.c builds against it as C and as C++, dynamically
# and statically, and runs, as does a C++ program on percpu/percpu.hpp;
# inject.h (the tests' hooks) is not installed;
# `man percpu` and `man percpu_add` work; percpu-stats-demo is installed;
# where libpercpu-http is built, pkg-config percpu-http builds a server
# against the installed copy, which runs; `make uninstall` leaves no file
# behind. The 0.1.0 names of renamed functions are still exported. Binary
# compatibility: a program built against these headers needs PERCPU_0.2;
# one built against the 0.1 headers (from git history) runs on this
# library; the state both read agrees in a program holding copies of it.
# CC, CXX and SAN (sanitizer flags) come from `make check`.
. "$(dirname "$0")/lib.sh"
: "${CC:=gcc}" "${CXX:=g++}" "${SAN:=}"
prefix=$(mktemp -d)/prefix
trap 'rm -rf "${prefix%/prefix}"' EXIT
src=$prefix/share/doc/percpu/examples/request_counter.c
# Explicit, so that directories given to `make check` do not count.
install_vars="BUILD=$BUILD PREFIX=$prefix MANDIR=$prefix/share/man DESTDIR=
LIBDIR=$prefix/lib INCLUDEDIR=$prefix/include DOCDIR=$prefix/share/doc/percpu
CMAKEDIR=$prefix/lib/cmake/percpu"

exports_only_percpu() {
	syms=$(nm -D --defined-only "$BUILD/libpercpu.so") || return 1
	echo "$syms" | grep -q ' A PERCPU_0\.1$' &&
		echo "$syms" | grep -q ' A PERCPU_0\.2$' &&
		echo "$syms" | grep -q ' T percpu_alloc@@PERCPU_0\.1$' &&
		echo "$syms" | grep -q ' B percpu_rt@@PERCPU_0\.1$' &&
		echo "$syms" | grep -q ' B percpu_rt_v2@@PERCPU_0\.2$' &&
		! echo "$syms" | grep -v -e ' A PERCPU_0\.[12]$' \
			-e ' [A-Za-z] percpu_[a-z0-9_]*@@PERCPU_0\.1$' \
			-e ' B percpu_rt_v2@@PERCPU_0\.2$'
}
check_cmd "libpercpu.so exports percpu_* only: PERCPU_0.1, and percpu_rt_v2 in PERCPU_0.2" \
	exports_only_percpu

# Programs linked against 0.1.0 call these (now macros in the headers).
exports_old_names() {
	syms=$(nm -D --defined-only "$BUILD/libpercpu.so") || return 1
	for f in percpu_mode percpu_runtime_info percpu_histogram_snapshot; do
		echo "$syms" | grep -q " T $f@@PERCPU_0\.1$" || return 1
	done
}
check_cmd "libpercpu.so still exports the 0.1.0 names" exports_old_names

# The binary-compatibility checks build against the build's library, in
# a directory beside the prefix.
abi=${prefix%/prefix}/abi
mkdir -p "$abi"

# on_build_lib binary env...: the binary on the build's library.
on_build_lib() {
	bin=$1
	shift
	env LD_LIBRARY_PATH="$BUILD" "$@" "$bin"
}
# three_modes binary what: one check each in rseq mode, lock mode and
# with concurrency ids.
three_modes() {
	check_cmd "$2 (rseq)" on_build_lib "$1"
	check_cmd "$2 (lock mode)" on_build_lib "$1" PERCPU_DISABLE_RSEQ=1
	check_cmd "$2 (cid indexing)" on_build_lib "$1" PERCPU_INDEX=cid
}

# tests/abi_v1.c, built as position-dependent code (-fno-pic: clang's
# -no-pie alone still reads both through the GOT).
build_abi_v1() {
	$CC $SAN -fno-pic -no-pie -std=gnu11 -Wall -Wextra -Werror -Iinclude \
		tests/abi_v1.c -L"$BUILD" -lpercpu -o "$abi/abi-v1" &&
		readelf -rW "$abi/abi-v1" | grep -q '_COPY .* percpu_rt@PERCPU_0\.1' &&
		readelf -rW "$abi/abi-v1" | grep -q '_COPY .* percpu_rt_v2@PERCPU_0\.2'
}
check_cmd "tests/abi_v1.c, position-dependent: copies of percpu_rt@PERCPU_0.1 and percpu_rt_v2" \
	build_abi_v1
three_modes "$abi/abi-v1" "percpu_rt@PERCPU_0.1 agrees with percpu_rt_v2"

# The 0.1 headers: those of the last commit before the gates (0.2). A
# copy without that history (a tarball, a shallow clone) skips.
OLD_HEADERS=50f3156
old_headers() {
	mkdir -p "$abi/old" &&
		git archive "$OLD_HEADERS" include 2>/dev/null |
		tar -xf - -C "$abi/old" 2>/dev/null &&
		grep -q 'PERCPU_VERSION_MINOR 1$' "$abi/old/include/percpu/version.h"
}
# examples/request_counter.c built against the 0.1 headers checks its
# totals itself.
if old_headers; then
	check_cmd "a program built against the 0.1 headers links to percpu_rt@PERCPU_0.1" \
		sh -c "$CC $SAN -std=gnu11 -I'$abi/old/include' examples/request_counter.c \
			-L'$BUILD' -lpercpu -lpthread -o '$abi/old-counter' &&
			objdump -T '$abi/old-counter' | grep -q 'PERCPU_0\.1.*percpu_rt\$' &&
			! objdump -T '$abi/old-counter' | grep -q PERCPU_0\.2"
	three_modes "$abi/old-counter" "it runs on this library, exact totals"
else
	tap_skip "a program built against the 0.1 headers" "no git history ($OLD_HEADERS)"
fi

check_cmd "make install PREFIX=<tmp>" make -s $install_vars install
check_cmd "the examples are installed under share/doc/percpu/examples" \
	cmp examples/request_counter.c "$src"
# An installed header includes inject.h only under #ifdef PERCPU_INJECT.
no_inject_h() {
	! test -e "$prefix/include/percpu/inject.h" || return 1
	! grep -rh -B1 '#include.*inject\.h' "$prefix/include" |
		grep -v -e 'inject\.h' -e '^--$' -e '^#ifdef PERCPU_INJECT$' |
		grep -q .
}
check_cmd "inject.h is not installed, nor included without PERCPU_INJECT" \
	no_inject_h

PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
pc_cflags=$(pkg-config --cflags percpu)
pc_libs=$(pkg-config --libs percpu)
pc_static=$(pkg-config --libs --static percpu)
pc_all=$(echo $pc_cflags $pc_libs)
check_cmd "pkg-config --cflags --libs percpu: $pc_all" \
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
	check_cmd "$lang, dynamic: $compiler $* \$(pkg-config --cflags --libs)" \
		$compiler "$@" $SAN $pc_cflags $src -x none $pc_libs -o "$bin"
	check_cmd "$lang, dynamic: uses the installed libpercpu.so.0" \
		needs_installed_so "$bin"
	check_cmd "$lang, dynamic: runs" env LD_LIBRARY_PATH="$prefix/lib" "$bin"
	if [ -n "$SAN" ]; then
		echo "ok $((tap_n += 1)) # skip $lang, static: not with sanitizers"
		return
	fi
	check_cmd "$lang, static: $compiler -static $* \$(pkg-config --static ...)" \
		$compiler -static "$@" $pc_cflags $src -x none $pc_static \
		-o "$bin-static"
	check_cmd "$lang, static: no libpercpu.so needed" \
		has_no_libpercpu_so "$bin-static"
	check_cmd "$lang, static: runs" "$bin-static"
}
consume C "$CC" -x c -std=gnu11 -Wall -Wextra -Werror
consume C++ "$CXX" -x c++ -std=c++11 -Wall -Wextra -Werror
check_cmd "a program built against these headers needs PERCPU_0.2 (percpu_rt_v2)" \
	sh -c "objdump -T '$prefix/consumer-C' | grep -q 'PERCPU_0\.2.*percpu_rt_v2\$'"

# The C++ wrapper is installed with the headers and works from there.
wrapper_consumer() {
	printf '#include <percpu/percpu.hpp>\nint main()\n{\n\tpercpu::var<long> v;\n\n\tv.add(2);\n\treturn v.sum() == 2 ? 0 : 1;\n}\n' \
		>"$prefix/consumer-wrapper.cpp" &&
		$CXX -std=c++11 -Wall -Wextra -Wpedantic -Werror $SAN $pc_cflags \
			"$prefix/consumer-wrapper.cpp" $pc_libs \
			-o "$prefix/consumer-wrapper" &&
		LD_LIBRARY_PATH=$prefix/lib "$prefix/consumer-wrapper"
}
check_cmd "C++: percpu/percpu.hpp installed; a program using it builds and runs" \
	wrapper_consumer

man_finds() {
	page=$(MANPATH=$prefix/share/man man -w "$1") &&
		echo "$page" | grep -q "^$prefix/share/man/$2"
}
check_cmd "man percpu finds the installed page" man_finds percpu man3/percpu.3
check_cmd "man percpu_add finds percpu_ops(3)" man_finds percpu_add man3/percpu_ops.3
check_cmd "man percpu-bench finds the installed page" \
	man_finds percpu-bench man1/percpu-bench.1
check_cmd "man percpu renders" \
	sh -c "MANPATH='$prefix/share/man' man percpu | grep -q percpu_disable_rseq"

check_cmd "percpu-stats-demo is installed" \
	sh -c "'$prefix/bin/percpu-stats-demo' --help >/dev/null"
check_cmd "man percpu-stats-demo finds the installed page" \
	man_finds percpu-stats-demo man1/percpu-stats-demo.1

# http_consumer: a server on port 0, started and stopped, built with
# pkg-config percpu-http against the installed libraries.
http_consumer() {
	cat >"$prefix/consumer-http.c" <<'EOF'
#include <stdio.h>
#include <percpu.h>
#include <percpu/http.h>

int main(void)
{
	struct percpu_registry *r = percpu_registry_new();
	struct percpu_http *h = percpu_http_start(r, "127.0.0.1", 0);

	if (!h || percpu_http_port(h) <= 0)
		return 1;
	percpu_http_stop(h);
	percpu_registry_free(r);
	return 0;
}
EOF
	$CC $SAN -Wall -Wextra -Werror $(pkg-config --cflags percpu-http) \
		"$prefix/consumer-http.c" $(pkg-config --libs percpu-http) \
		-o "$prefix/consumer-http"
}
if [ -e "$BUILD/libpercpu-http.so" ]; then
	check_cmd "pkg-config percpu-http: a server builds against the installed copy" \
		http_consumer
	check_cmd "it runs, with the installed libpercpu-http.so.0" \
		env LD_LIBRARY_PATH="$prefix/lib" "$prefix/consumer-http"
	check_cmd "man percpu_http_start finds percpu_http(3)" \
		man_finds percpu_http_start man3/percpu_http.3
else
	echo "ok $((tap_n += 1)) # skip libpercpu-http: not built (no libmicrohttpd)"
fi

rm -f "$prefix"/consumer-*
check_cmd "make uninstall PREFIX=<tmp>" make -s $install_vars uninstall
left=$(find "$prefix" ! -type d)
[ -n "$left" ] && echo "$left" | sed 's/^/    # left: /'
check_cmd "make uninstall removed every file install put there" test -z "$left"
tap_done
