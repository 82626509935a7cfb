# SPDX-License-Identifier: MIT
# percpu: plain GNU make. `make` builds into $(BUILD); `make check` runs the
# tests; `make install PREFIX=...` installs. CC=clang works as well as gcc.

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
CXX := $(if $(findstring clang,$(CC)),clang++,g++)
BUILD ?= build
PREFIX ?= /usr/local
VERSION := 0.1.0
SONAME := libpercpu.so.0

OPT ?= -O2 -g
SAN ?=
WARN := -Wall -Wextra -Werror
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARN) $(SAN) -Iinclude -D_GNU_SOURCE
LIB_CFLAGS := $(CFLAGS_ALL) -fPIC -fvisibility=hidden
LDLIBS := -lpthread

LIB_SRCS := $(wildcard src/*.c)
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
INJ_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/inject/%.o)
HEADERS := include/percpu.h $(wildcard include/percpu/*.h) $(wildcard include/percpu/arch/*.h)
PUBLIC_HEADERS := include/percpu.h $(filter-out include/percpu/arch.h include/percpu/inject.h,$(wildcard include/percpu/*.h))

TOOLS := $(BUILD)/percpu-info $(BUILD)/percpu-bench
TEST_SRCS := $(wildcard tests/*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

DEMOS := $(BUILD)/percpu-stats-demo

all: $(BUILD)/libpercpu.a $(BUILD)/libpercpu.so $(TOOLS) $(DEMOS)

$(BUILD)/obj/%.o: src/%.c $(HEADERS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/inject/%.o: src/%.c $(HEADERS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -DPERCPU_INJECT -c $< -o $@

$(BUILD)/libpercpu.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libpercpu-inject.a: $(INJ_OBJS)
	rm -f $@ && ar rcs $@ $^

# -z nodelete: threads may hold pointers into the library's section
# descriptors (rseq_cs) and TLS, so dlclose() must not unmap it.
$(BUILD)/libpercpu.so: $(LIB_OBJS)
	$(CC) $(SAN) -shared -Wl,-soname,$(SONAME) -Wl,-z,nodelete -o $@.$(VERSION) $^ $(LDLIBS)
	ln -sf libpercpu.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libpercpu.so.$(VERSION) $@

$(BUILD)/%: tools/%.c $(BUILD)/libpercpu.a $(HEADERS) $(wildcard tools/*.h)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(BUILD)/libpercpu.a $(LDLIBS)

$(BUILD)/tests/seccomp_run: tests/seccomp_run.c $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< -o $@

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libpercpu-inject.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DPERCPU_INJECT $< -o $@ $(BUILD)/libpercpu-inject.a $(LDLIBS)

# Fully static variants of the tests, for the environment suite.
$(BUILD)/tests/static/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libpercpu-inject.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DPERCPU_INJECT -static $< -o $@ $(BUILD)/libpercpu-inject.a $(LDLIBS)

# Every public header compiles alone, as C11 and as C++11.
$(BUILD)/headers.ok: $(HEADERS)
	@mkdir -p $(BUILD)
	for h in $(PUBLIC_HEADERS); do \
		echo "#include \"$${h#include/}\"" | $(CC) -std=c11 $(WARN) -Iinclude -x c -fsyntax-only - || exit 1; \
		echo "#include \"$${h#include/}\"" | $(CXX) -std=c++11 $(WARN) -Iinclude -x c++ -fsyntax-only - || exit 1; \
	done
	touch $@

tests: all $(TEST_BINS) $(BUILD)/headers.ok

check: tests
	BUILD=$(BUILD) prove --exec /bin/sh tests/*.t

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

install: all
	install -d $(DESTDIR)$(PREFIX)/include/percpu/arch $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/percpu.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/percpu/*.h $(DESTDIR)$(PREFIX)/include/percpu/
	install -m 644 include/percpu/arch/*.h $(DESTDIR)$(PREFIX)/include/percpu/arch/
	install -m 644 $(BUILD)/libpercpu.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libpercpu.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libpercpu.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf libpercpu.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libpercpu.so
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' percpu.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/percpu.pc

clean:
	rm -rf $(BUILD)

.PHONY: all tests check check-env check-stress install clean
.SECONDARY:
