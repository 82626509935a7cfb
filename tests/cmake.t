#!/bin/sh
# SPDX-License-Identifier: MIT
# CMake users: `make install` into a temporary prefix, then a small CMake
# project finds it with find_package(percpu 0.1) and links percpu::percpu:
# the installed examples/request_counter.c as C and tests/cxx_api.cpp as
# C++ (-Wpedantic), which build and run. A version of another major is
# refused. CC, CXX and SAN come from `make check`.
. "$(dirname "$0")/lib.sh"
: "${CC:=gcc}" "${CXX:=g++}" "${SAN:=}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
proj=$tmp/project

check_cmd "make install PREFIX=<tmp>" make -s BUILD="$BUILD" PREFIX="$prefix" \
	DESTDIR= LIBDIR="$prefix/lib" INCLUDEDIR="$prefix/include" \
	MANDIR="$prefix/share/man" DOCDIR="$prefix/share/doc/percpu" \
	CMAKEDIR="$prefix/lib/cmake/percpu" install

mkdir -p "$proj"
cp tests/cxx_api.cpp "$proj/"
cat >"$proj/CMakeLists.txt" <<EOF2
cmake_minimum_required(VERSION 3.13)
project(consumer LANGUAGES C CXX)
find_package(percpu \${PERCPU_WANT} REQUIRED)
add_executable(counter $prefix/share/doc/percpu/examples/request_counter.c)
target_link_libraries(counter PRIVATE percpu::percpu)
add_executable(cxx_api cxx_api.cpp)
set_target_properties(cxx_api PROPERTIES CXX_STANDARD 11)
target_compile_options(cxx_api PRIVATE -Wpedantic)
target_link_libraries(cxx_api PRIVATE percpu::percpu)
EOF2

# configure build-dir version: cmake with the compilers of `make check`.
configure() {
	cmake -S "$proj" -B "$1" -DPERCPU_WANT="$2" \
		-DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
		-DCMAKE_C_FLAGS="-Wall -Wextra -Werror $SAN" \
		-DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror $SAN"
}

check_cmd "cmake: find_package(percpu 0.1)" configure "$tmp/build" 0.1
check_cmd "cmake --build" cmake --build "$tmp/build"
check_cmd "request_counter (C) runs" "$tmp/build/counter"
check_cmd "cxx_api (C++) runs" "$tmp/build/cxx_api"
check_cmd "the programs load the installed libpercpu.so.0" \
	sh -c "ldd '$tmp/build/counter' | grep -q '=> $prefix/lib/libpercpu.so.0'"
check_cmd "find_package(percpu 1) is refused" \
	sh -c "! cmake -S '$proj' -B '$tmp/build1' -DPERCPU_WANT=1 \
		-DCMAKE_PREFIX_PATH='$prefix' >/dev/null 2>&1"
tap_done
