#!/bin/sh
# SPDX-License-Identifier: MIT
# The C++ wrapper, include/percpu/percpu.hpp (tests/cxx_wrapper.cpp, built
# by `make tests` with g++ and with clang++, -Wpedantic -Werror), in rseq,
# lock and mixed mode. Then its cost: with each compiler, a function that
# calls var<T>::add compiles to the very code of one that calls the C
# operation on the same word (the same instructions, registers and
# relocations: the two functions sit alone at the same place in their
# objects).
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for cxx in g++ clang++; do
	bin=$BUILD/tests/cxx_wrapper-$cxx
	if [ ! -x "$bin" ]; then
		echo "ok $((tap_n += 1)) # skip $cxx: not built (no $cxx, or sanitizers)"
		continue
	fi
	PERCPU_TEST_MODE=rseq run_binary "$cxx, rseq" "$bin"
	PERCPU_TEST_MODE=lock PERCPU_DISABLE_RSEQ=1 run_binary "$cxx, lock" "$bin"
	PERCPU_TEST_MODE=mixed run_binary "$cxx, mixed" "$bin"
done

# code_of compiler type body: the disassembly of
# f(percpu::var<type> &v, type x) { return body; }, relocations included.
code_of() {
	printf '#include <percpu/percpu.hpp>\nextern "C" int f(percpu::var<%s> &v, %s x)\n{\n\treturn %s;\n}\n' \
		"$2" "$2" "$3" >"$tmp/f.cpp" &&
		$1 -std=c++11 -Iinclude -O2 -c "$tmp/f.cpp" -o "$tmp/f.o" &&
		objdump -d --no-show-raw-insn -r "$tmp/f.o" | sed -n '/<f>:/,$p'
}

# same_code compiler type c_call: var<type>::add against the C call.
same_code() {
	c=$(code_of "$1" "$2" "$3") && wrapped=$(code_of "$1" "$2" "v.add(x)") ||
		return 1
	[ -n "$c" ] && [ "$c" = "$wrapped" ] && return 0
	echo "$c" >"$tmp/c.s"
	echo "$wrapped" >"$tmp/wrapped.s"
	diff "$tmp/c.s" "$tmp/wrapped.s"
	return 1
}

for cxx in g++ clang++; do
	if ! command -v "$cxx" >/dev/null 2>&1; then
		echo "ok $((tap_n += 1)) # skip no $cxx"
		echo "ok $((tap_n += 1)) # skip no $cxx"
		continue
	fi
	check_cmd "$cxx: var<intptr_t>::add is percpu_add(), instruction for instruction" \
		same_code "$cxx" intptr_t "percpu_add(v.get(), x)"
	check_cmd "$cxx: var<uint64_t>::add is percpu_add_u64(), instruction for instruction" \
		same_code "$cxx" uint64_t "percpu_add_u64(v.get(), x)"
done
tap_done
