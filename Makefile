# SPDX-License-Identifier: MIT
# percpu: plain GNU make. `make` builds into $(BUILD); `make check` runs the
# tests; `make install PREFIX=...` installs, `make uninstall` removes it;
# `make bench` writes the benchmark report. CC=clang works as well as gcc.
# `make check-qemu` runs the tests in emulated guests: aarch64 (the rseq
# sections for real) and x86-64 with many CPUs (see tests/qemu/).
# `make check-deb` builds and checks the Debian packages (debian/).

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
CXX := $(if $(findstring clang,$(CC)),clang++,g++)
BUILD ?= build
PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man
# The settings file, $(SYSCONFDIR)/percpu.conf; status files in $(RUNSTATEDIR)/percpu.
SYSCONFDIR ?= /etc
RUNSTATEDIR ?= /run
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DOCDIR ?= $(PREFIX)/share/doc/percpu

# The version is set once, in include/percpu/version.h.
version_field = $(shell sed -n 's/^[#]define PERCPU_VERSION_$(1) //p' include/percpu/version.h)
VERSION := $(call version_field,MAJOR).$(call version_field,MINOR).$(call version_field,PATCH)
SONAME := libpercpu.so.$(call version_field,MAJOR)

# The user's CPPFLAGS and CFLAGS come after ours, so they win; -Iinclude
# stays first, so the tree's headers win over installed ones. -Werror is
# for CI and development (WERROR=1), not for a distribution's compiler.
OPT ?= -O2 -g
SAN ?=
WERROR ?=
WARN := -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)
CFLAGS_ALL := -std=gnu11 -Iinclude -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) $(CPPFLAGS) $(CFLAGS)
LIB_CFLAGS := $(CFLAGS_ALL) -Isrc -fPIC -fvisibility=hidden -fdata-sections -ffunction-sections \
	-DPERCPU_SYSCONFDIR='"$(SYSCONFDIR)"' -DPERCPU_RUNSTATEDIR='"$(RUNSTATEDIR)"'
LDLIBS := -lpthread
# LDFLAGS=-static links the tools and tests statically (make check-qemu);
# the shared libraries, and the tests that load one, take the rest.
LDFLAGS ?=
SO_LDFLAGS = $(filter-out -static,$(LDFLAGS))

# The library's layers, one folder each (src/internal.h is what they share).
LIB_DIRS := src/runtime src/lockpath src/memory src/stats
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_HDRS := src/internal.h $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.h))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
INJ_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/inject/%.o)
HEADERS := include/percpu.h $(wildcard include/percpu/*.h) $(wildcard include/percpu/arch/*.h)
PUBLIC_HEADERS := include/percpu.h $(filter-out include/percpu/arch.h include/percpu/inject.h,$(wildcard include/percpu/*.h))
# inject.h holds the test suite's hooks: in the tree, not installed;
# http.h is libpercpu-http's, installed with it (install-http).
# percpu.hpp is the C++ layer (C++ only; what is built from C does not
# depend on it).
CXX_HEADERS := $(wildcard include/percpu/*.hpp)
INSTALL_HEADERS := $(filter-out include/percpu/inject.h include/percpu/http.h,$(wildcard include/percpu/*.h)) $(CXX_HEADERS)

TOOLS := $(BUILD)/percpu-info $(BUILD)/percpu-bench
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))
MAN1 := $(wildcard doc/man/*.1)
MAN3 := $(filter-out doc/man/percpu_http.3,$(wildcard doc/man/*.3))
# tests/http.c needs libpercpu-http: built only with it (HAVE_HTTP below).
TEST_SRCS := $(filter-out tests/http.c,$(wildcard tests/*.c))
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%) $(BUILD)/tests/param
# Programs of several files: each directory is one program, built by its
# own rule below (the pattern rules take only tools/*.c and tests/*.c).
BENCH_SRCS := $(wildcard tools/bench/*.c)
PARAM_SRCS := $(wildcard tests/param/*.c)
BENCH_MALLOC_SRCS := $(wildcard tools/bench-malloc/*.c)

DEMOS := $(BUILD)/percpu-stats-demo
# Microbenchmarks: built with everything (so they build), not installed.
MICROBENCH := $(patsubst tools/microbench/%.c,$(BUILD)/%,$(wildcard tools/microbench/*.c))

all: $(BUILD)/libpercpu.a $(BUILD)/libpercpu.so $(TOOLS) $(DEMOS) $(EXAMPLES) $(MICROBENCH)

$(BUILD)/obj/%.o: src/%.c $(HEADERS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/inject/%.o: src/%.c $(HEADERS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -DPERCPU_INJECT -c $< -o $@

$(BUILD)/libpercpu.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libpercpu-inject.a: $(INJ_OBJS)
	rm -f $@ && ar rcs $@ $^

# -z nodelete: threads may hold pointers into the library's section
# descriptors (rseq_cs) and TLS, so dlclose() must not unmap it. The
# version script exports percpu_* only, under the node PERCPU_0.1.
$(BUILD)/libpercpu.so: $(LIB_OBJS) src/libpercpu.map
	$(CC) $(SAN) $(SO_LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/libpercpu.map -Wl,-z,nodelete -o $@.$(VERSION) $(LIB_OBJS) $(LDLIBS)
	ln -sf libpercpu.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libpercpu.so.$(VERSION) $@

# libpercpu-malloc (src/malloc/, percpu_malloc(3)): a drop-in malloc on the
# public API, with its own private copy of the library inside (the version
# script exports the malloc family and percpu_malloc_* only). The -inject
# build exports the library too, fault injection included, for the tests.
# Each variable in a section of its own (-fdata-sections, in LIB_CFLAGS)
# and the sections sorted by alignment at the link: the large tables come
# first and the small variables end up side by side, so that set-up
# touches a few pages of .bss, not one beside every table (22 -> 11 pages
# resident with 64 threads alive). Each function in a section of its own
# too (-ffunction-sections) and the unused ones dropped (--gc-sections):
# the library's calls the allocator never makes leave its text (63 -> 44
# KiB), all of which the kernel maps at the first fault (fault-around).
MALLOC_LDFLAGS := -Wl,--sort-section=alignment -Wl,--gc-sections
MALLOC_SRCS := $(wildcard src/malloc/*.c)
MALLOC_HDRS := $(wildcard src/malloc/*.h)
MALLOC_OBJS := $(MALLOC_SRCS:src/malloc/%.c=$(BUILD)/malloc/%.o)
MALLOC_INJ_OBJS := $(MALLOC_SRCS:src/malloc/%.c=$(BUILD)/malloc-inject/%.o)
MALLOC_CFLAGS := $(LIB_CFLAGS) -ftls-model=initial-exec -fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free
MALLOC_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(filter-out tests/malloc_user.c tests/malloc_pairs.c,$(wildcard tests/malloc_*.c)))

all: $(BUILD)/libpercpu-malloc.so
malloc: $(BUILD)/libpercpu-malloc.so $(BUILD)/libpercpu-malloc-inject.so

$(BUILD)/malloc/%.o: src/malloc/%.c $(HEADERS) $(MALLOC_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(MALLOC_CFLAGS) -c $< -o $@

$(BUILD)/malloc-inject/%.o: src/malloc/%.c $(HEADERS) $(MALLOC_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(MALLOC_CFLAGS) -DPERCPU_INJECT -c $< -o $@

$(BUILD)/libpercpu-malloc.so: $(MALLOC_OBJS) $(LIB_OBJS) src/malloc/malloc.map
	$(CC) $(SAN) $(SO_LDFLAGS) -shared -Wl,-soname,libpercpu-malloc.so $(MALLOC_LDFLAGS) -Wl,--version-script=src/malloc/malloc.map -Wl,-z,nodelete -o $@ $(MALLOC_OBJS) $(LIB_OBJS) $(LDLIBS)

$(BUILD)/libpercpu-malloc-inject.so: $(MALLOC_INJ_OBJS) $(INJ_OBJS) src/malloc/malloc-test.map
	$(CC) $(SAN) $(SO_LDFLAGS) -shared -Wl,-soname,libpercpu-malloc-inject.so -Wl,--version-script=src/malloc/malloc-test.map -Wl,-z,nodelete -o $@ $(MALLOC_INJ_OBJS) $(INJ_OBJS) $(LDLIBS)

# A quick measurement of the allocator against glibc (tests/malloc_pairs.sh).
malloc-pairs: $(BUILD)/tests/malloc_pairs $(BUILD)/libpercpu-malloc.so
	BUILD=$(BUILD) sh tests/malloc_pairs.sh

.PHONY: malloc malloc-pairs

# The allocator's tests (tests/malloc_*.c but malloc_user.c, which brings
# its own malloc) link its test build, so every allocation of theirs is its.
$(MALLOC_TESTS): $(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libpercpu-malloc-inject.so $(BUILD)/libpercpu-malloc.so $(HEADERS) $(MALLOC_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SO_LDFLAGS) -Isrc/malloc -DPERCPU_INJECT $< -o $@ -L$(BUILD) -l:libpercpu-malloc-inject.so -Wl,-rpath,$(abspath $(BUILD)) $(LDLIBS)

# libpercpu-http (src/http/, percpu_http(3)): a registry's /metrics over
# HTTP with GNU libmicrohttpd, a library of its own so that libpercpu keeps
# no dependency on it; built, tested and installed only where pkg-config
# finds libmicrohttpd (libmicrohttpd-dev). It links libpercpu.so; its
# static archive links the demo and tests/http, which take libpercpu
# statically too (one copy of the library in a process).
# The emulated guests' static binaries (make check-qemu) go without it.
PKG_CONFIG ?= pkg-config
HAVE_HTTP := $(if $(QEMU_GUEST_BINS),,$(shell $(PKG_CONFIG) --exists libmicrohttpd 2>/dev/null && echo 1))
HTTP_SONAME := libpercpu-http.so.$(call version_field,MAJOR)
HTTP_OBJS := $(patsubst src/http/%.c,$(BUILD)/http/%.o,$(wildcard src/http/*.c))
HTTP_LIBRARIES := $(BUILD)/libpercpu-http.a $(BUILD)/libpercpu-http.so

ifeq ($(HAVE_HTTP),1)
HTTP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmicrohttpd)
HTTP_LIBS := $(shell $(PKG_CONFIG) --libs libmicrohttpd)
all: $(HTTP_LIBRARIES)
TEST_BINS += $(BUILD)/tests/http

$(BUILD)/http/%.o: src/http/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(HTTP_CFLAGS) -c $< -o $@

$(BUILD)/libpercpu-http.a: $(HTTP_OBJS)
	rm -f $@ && ar rcs $@ $^

# The version script exports percpu_http_* only, under PERCPU_HTTP_0.1.
$(BUILD)/libpercpu-http.so: $(HTTP_OBJS) $(BUILD)/libpercpu.so src/http/libpercpu-http.map
	$(CC) $(SAN) $(SO_LDFLAGS) -shared -Wl,-soname,$(HTTP_SONAME) -Wl,--version-script=src/http/libpercpu-http.map -o $@.$(VERSION) $(HTTP_OBJS) -L$(BUILD) -lpercpu $(HTTP_LIBS) $(LDLIBS)
	ln -sf libpercpu-http.so.$(VERSION) $(BUILD)/$(HTTP_SONAME)
	ln -sf libpercpu-http.so.$(VERSION) $@

$(BUILD)/percpu-stats-demo: tools/percpu-stats-demo.c $(BUILD)/libpercpu-http.a $(BUILD)/libpercpu.a $(HEADERS)
	$(CC) $(CFLAGS_ALL) -DPERCPU_DEMO_HTTP $(LDFLAGS) $< -o $@ $(BUILD)/libpercpu-http.a $(BUILD)/libpercpu.a $(HTTP_LIBS) $(LDLIBS)

$(BUILD)/tests/http: tests/http.c $(wildcard tests/*.h) $(BUILD)/libpercpu-http.a $(BUILD)/libpercpu-inject.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -DPERCPU_INJECT $< -o $@ $(BUILD)/libpercpu-http.a $(BUILD)/libpercpu-inject.a $(HTTP_LIBS) $(LDLIBS)

install: install-http
install-http: all
	install -d $(DESTDIR)$(INCLUDEDIR)/percpu $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(MANDIR)/man3
	install -m 644 include/percpu/http.h $(DESTDIR)$(INCLUDEDIR)/percpu/
	install -m 644 $(BUILD)/libpercpu-http.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libpercpu-http.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libpercpu-http.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(HTTP_SONAME)
	ln -sf libpercpu-http.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpercpu-http.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' percpu-http.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/percpu-http.pc
	install -m 644 doc/man/percpu_http.3 $(DESTDIR)$(MANDIR)/man3/
	scripts/man-aliases doc/man/percpu_http.3 | while read name page; do \
		ln -sf $$page $(DESTDIR)$(MANDIR)/man3/$$name.3 || exit 1; \
	done
endif

# Removes what install-http put there, whether or not this build has it.
uninstall: uninstall-http
uninstall-http:
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libpercpu-http.a libpercpu-http.so.$(VERSION) $(HTTP_SONAME) libpercpu-http.so)
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/percpu-http.pc
	scripts/man-aliases doc/man/percpu_http.3 | while read name page; do \
		rm -f $(DESTDIR)$(MANDIR)/man3/$$name.3 || exit 1; \
	done
	rm -f $(DESTDIR)$(MANDIR)/man3/percpu_http.3

.PHONY: install-http uninstall-http

$(BUILD)/%: tools/%.c $(BUILD)/libpercpu.a $(HEADERS) $(wildcard tools/*.h)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) $< -o $@ $(BUILD)/libpercpu.a $(LDLIBS)

$(BUILD)/%: tools/microbench/%.c $(BUILD)/libpercpu.a $(HEADERS)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) $< -o $@ $(BUILD)/libpercpu.a $(LDLIBS)

$(BUILD)/percpu-bench: $(BENCH_SRCS) tools/bench/bench.h $(BUILD)/libpercpu.a $(HEADERS)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) $(BENCH_SRCS) -o $@ $(BUILD)/libpercpu.a $(LDLIBS)

# The allocator benchmark links libc only: LD_PRELOAD picks the allocator.
$(BUILD)/bench-malloc: $(BENCH_MALLOC_SRCS) tools/bench-malloc/bench-malloc.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) $(BENCH_MALLOC_SRCS) -o $@ $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(BUILD)/libpercpu.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) $< -o $@ $(BUILD)/libpercpu.a $(LDLIBS)

$(BUILD)/tests/seccomp_run: tests/seccomp_run.c $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) $< -o $@

$(BUILD)/tests/param: $(PARAM_SRCS) tests/param/param.h $(wildcard tests/*.h) $(BUILD)/libpercpu-inject.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -DPERCPU_INJECT $(PARAM_SRCS) -o $@ $(BUILD)/libpercpu-inject.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libpercpu-inject.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -DPERCPU_INJECT $< -o $@ $(BUILD)/libpercpu-inject.a $(LDLIBS)

# Fully static variants of the tests, for the environment suite.
$(BUILD)/tests/static/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libpercpu-inject.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DPERCPU_INJECT -static $< -o $@ $(BUILD)/libpercpu-inject.a $(LDLIBS)

# Every public header compiles alone, as C11 and as C++11, and as C11 for
# an architecture without critical sections (PERCPU_ARCH_NONE); the C++
# ones as C++11, -Wpedantic included.
$(BUILD)/headers.ok: $(HEADERS) $(CXX_HEADERS)
	@mkdir -p $(BUILD)
	for h in $(PUBLIC_HEADERS); do \
		echo "#include \"$${h#include/}\"" | $(CC) -std=c11 $(WARN) -Iinclude -x c -fsyntax-only - || exit 1; \
		echo "#include \"$${h#include/}\"" | $(CC) -std=c11 $(WARN) -DPERCPU_ARCH_NONE -Iinclude -x c -fsyntax-only - || exit 1; \
		echo "#include \"$${h#include/}\"" | $(CXX) -std=c++11 $(WARN) -Iinclude -x c++ -fsyntax-only - || exit 1; \
	done
	for h in $(CXX_HEADERS); do \
		echo "#include \"$${h#include/}\"" | $(CXX) -std=c++11 $(WARN) -Wpedantic -Iinclude -x c++ -fsyntax-only - || exit 1; \
	done
	touch $@

# The public API from C++ (tests/cxx_api.t): every type and function, and
# -Wpedantic -Werror, which is the point of the test.
$(BUILD)/tests/cxx_api: tests/cxx_api.cpp $(BUILD)/libpercpu.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++11 -Iinclude $(OPT) -Wall -Wextra -Wpedantic -Werror $(SAN) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) $< -o $@ $(BUILD)/libpercpu.a $(LDLIBS)

# The C++ wrapper (tests/cxx_wrapper.t) built by each C++ compiler there
# is, g++ and clang++, against the test build of the library (mixed mode);
# with sanitizers by $(CXX) only, whose runtime the library was built for.
CXX_WRAPPER_CXX := $(if $(SAN),$(CXX),$(foreach c,g++ clang++,$(if $(shell command -v $(c)),$(c))))
CXX_WRAPPER_BINS := $(CXX_WRAPPER_CXX:%=$(BUILD)/tests/cxx_wrapper-%)
$(BUILD)/tests/cxx_wrapper-%: tests/cxx_wrapper.cpp $(BUILD)/libpercpu-inject.a $(HEADERS) $(CXX_HEADERS)
	@mkdir -p $(dir $@)
	$* -std=c++11 -Iinclude $(OPT) -Wall -Wextra -Wpedantic -Werror $(SAN) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) -DPERCPU_INJECT $< -o $@ $(BUILD)/libpercpu-inject.a $(LDLIBS)

tests: all $(TEST_BINS) $(BUILD)/headers.ok $(BUILD)/tests/cxx_api $(CXX_WRAPPER_BINS)

# tests/install.t builds against the installed library with the same
# compilers and sanitizer flags.
# The tests need a few Debian packages (promtool, mandoc, pkg-config, ...):
# scripts/install-deps installs what is missing (as root), else says what.
deps:
	scripts/install-deps

# The tests are built by a second make, after deps: what deps installed
# (libmicrohttpd) decides what is built, and this make read the Makefile
# before it was there.
check: deps
	$(MAKE) tests
	BUILD=$(BUILD) CC="$(CC)" CXX="$(CXX)" SAN="$(SAN)" prove --timer --exec /bin/sh tests/*.t

# The slow environment suite (valgrind, gdb, thread churn, ...): tests/env/.
# gcc refuses -static with AddressSanitizer: no static variant there.
ENV_BINS := $(if $(SAN),,$(BUILD)/tests/static/unit)
check-env: tests $(ENV_BINS)
	BUILD=$(BUILD) prove --exec /bin/sh tests/env/*.t

# The full stress matrix (tests/param_matrix.sh), here and in a build whose
# sections compare their inputs twice before committing.
check-stress: tests
	$(MAKE) BUILD=$(BUILD)-twice OPT="$(OPT) -DPERCPU_COMPARE_TWICE" tests
	BUILD=$(BUILD) sh tests/param_matrix.sh full
	BUILD=$(BUILD)-twice sh tests/param_matrix.sh full

# The tests in emulated guests (tests/qemu/*.t): scripts/install-deps qemu
# installs qemu, the aarch64 cross compiler and busybox; scripts/qemu/fetch
# unpacks Debian's kernels into $(QEMU_BUILD)/fetch; the tests and tools are
# built statically for each guest (aarch64 with aarch64-linux-gnu-gcc, the
# same warnings; -Werror with WERROR=1) and packed into an initramfs whose /init runs
# them (scripts/qemu/init). One guest at a time, each under a timeout.
QEMU_BUILD ?= $(BUILD)-qemu
QEMU_CC_aarch64 := aarch64-linux-gnu-gcc
QEMU_CC_x86_64 := gcc
qemu-bins-%:
	$(MAKE) BUILD=$(QEMU_BUILD)/$*/build CC=$(QEMU_CC_$*) LDFLAGS=-static \
		QEMU_GUEST_BINS=1 qemu-guest-bins

ifdef QEMU_GUEST_BINS
qemu-guest-bins: $(TEST_BINS) $(TOOLS) $(BUILD)/tests/qemu_rss
endif

$(BUILD)/tests/qemu_rss: tests/qemu/rss.c tests/proc_mem.h $(BUILD)/libpercpu.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) $< -o $@ $(BUILD)/libpercpu.a $(LDLIBS)

check-qemu:
	scripts/install-deps qemu
	scripts/qemu/fetch $(QEMU_BUILD)/fetch
	$(MAKE) qemu-bins-aarch64 qemu-bins-x86_64
	QEMU_BUILD=$(QEMU_BUILD) prove --exec /bin/sh tests/qemu/*.t

# What CI runs of it: the aarch64 guest with its quick list (the unit
# tests in every mode, aborts, lock hand-off, drains, memory, the kill switch).
check-qemu-quick:
	scripts/install-deps qemu
	scripts/qemu/fetch $(QEMU_BUILD)/fetch
	$(MAKE) qemu-bins-aarch64
	QEMU_BUILD=$(QEMU_BUILD) QEMU_QUICK=1 prove --exec /bin/sh tests/qemu/aarch64.t

# The Debian packages (debian/, scripts/check-deb): built from a copy of
# the tree in a temporary folder, checked with lintian, their contents
# listed, a tiny program built against libpercpu-dev. About a minute.
check-deb:
	scripts/install-deps deb
	scripts/check-deb

.PHONY: check-deb

# The benchmark report (scripts/bench-report): $(BUILD)/bench/percpu-bench.csv,
# .png and .md, the ratios of both of its runs (percpu-bench --ratios) at
# the end of the .md, all three copied into bench/, the committed report.
# Not part of check. BENCH_ARGS="--reps 3" etc. passes options.
BENCH_OUT := percpu-bench.csv percpu-bench.md percpu-bench.png
bench: $(BUILD)/percpu-bench $(BUILD)/percpu-info
	rm -f $(BUILD)/bench/ratios.md
	scripts/bench-report $(BUILD) --ratios $(BUILD)/bench/ratios.md $(BENCH_ARGS)
	cat $(BUILD)/bench/ratios.md >>$(BUILD)/bench/percpu-bench.md
	rm -f $(BUILD)/bench/ratios.md
	cp $(addprefix $(BUILD)/bench/,$(BENCH_OUT)) bench/

# The allocator report (scripts/bench-malloc-report): every workload of
# bench-malloc and redis under glibc, jemalloc, tcmalloc-minimal, mimalloc
# and $(BUILD)/libpercpu-malloc.so (rseq, lock mode, cid; n/a if absent),
# into $(BUILD)/bench/percpu-malloc.csv, .png and .md. Not part of check.
# QUICK=1: one repetition, short runs. See the script for REPS, MS, etc.
# The report and its raw log are copied to bench/.
BENCH_MALLOC_OUT := percpu-malloc.csv percpu-malloc.md percpu-malloc.png percpu-malloc.log
bench-malloc: $(BUILD)/bench-malloc $(BUILD)/libpercpu-malloc.so
	scripts/bench-malloc-report $(BUILD)
	cp $(addprefix $(BUILD)/bench/,$(BENCH_MALLOC_OUT)) bench/

# Fuzzing: each fuzz/*.c is one libFuzzer harness (fuzz/lib/: what they
# share), built with clang, ASan and UBSan into $(FUZZ_BUILD). `make fuzz`
# runs each for FUZZ_SECONDS from its seed corpus fuzz/corpus/<harness>/
# (scripts/fuzz-run) and fails on the first crash. PERCPU_DISABLE_RSEQ=1 make fuzz fuzzes lock mode.
FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= build-fuzz
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_NAMES := $(patsubst fuzz/%.c,%,$(wildcard fuzz/*.c))

fuzz:
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) SAN="$(FUZZ_SAN)" $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz/%)
	scripts/fuzz-run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

FUZZ_LIB := $(wildcard fuzz/lib/*.c)
$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIB) $(wildcard fuzz/lib/*.h) $(BUILD)/libpercpu-inject.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -DPERCPU_INJECT $< $(FUZZ_LIB) -o $@ $(BUILD)/libpercpu-inject.a $(LDLIBS)

.PHONY: fuzz

install: all
	install -d $(DESTDIR)$(INCLUDEDIR)/percpu/arch $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(DOCDIR)/examples
	install -m 644 include/percpu.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/percpu/
	install -m 644 include/percpu/arch/*.h $(DESTDIR)$(INCLUDEDIR)/percpu/arch/
	install -m 644 $(BUILD)/libpercpu.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libpercpu.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libpercpu.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libpercpu.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpercpu.so
	install -m 755 $(TOOLS) $(DEMOS) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' percpu.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/percpu.pc
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/
	scripts/man-aliases $(MAN3) | while read name page; do \
		ln -sf $$page $(DESTDIR)$(MANDIR)/man3/$$name.3 || exit 1; \
	done
	install -m 644 $(EXAMPLE_SRCS) $(DESTDIR)$(DOCDIR)/examples/

# Removes what install put there; include/percpu/ is the library's own.
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/percpu.h
	rm -rf $(DESTDIR)$(INCLUDEDIR)/percpu
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libpercpu.a libpercpu.so.$(VERSION) $(SONAME) libpercpu.so)
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/percpu.pc
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(TOOLS) $(DEMOS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))
	scripts/man-aliases $(MAN3) | while read name page; do \
		rm -f $(DESTDIR)$(MANDIR)/man3/$$name.3 || exit 1; \
	done
	rm -rf $(DESTDIR)$(DOCDIR)

# CMake's find_package(percpu) (tests/cmake.t): cmake/*.in with the
# directories, version and pointer size filled in.
CMAKEDIR ?= $(LIBDIR)/cmake/percpu
CMAKE_FILES := percpu-config.cmake percpu-config-version.cmake
SIZEOF_VOID_P = $(shell echo __SIZEOF_POINTER__ | $(CC) -E -P -x c - | tr -d ' ')
install: install-cmake
install-cmake:
	install -d $(DESTDIR)$(CMAKEDIR)
	for f in $(CMAKE_FILES); do \
		sed -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
			-e 's|@VERSION@|$(VERSION)|' -e 's|@SONAME@|$(SONAME)|' \
			-e 's|@MAJOR@|$(call version_field,MAJOR)|' \
			-e 's|@SIZEOF_VOID_P@|$(SIZEOF_VOID_P)|' \
			cmake/$$f.in > $(DESTDIR)$(CMAKEDIR)/$$f || exit 1; \
	done
uninstall: uninstall-cmake
uninstall-cmake:
	rm -f $(addprefix $(DESTDIR)$(CMAKEDIR)/,$(CMAKE_FILES))
	-rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null

.PHONY: install-cmake uninstall-cmake

clean:
	rm -rf $(BUILD)

.PHONY: all deps tests check check-env check-stress check-qemu check-qemu-quick bench bench-malloc install uninstall clean
.SECONDARY:
