/* SPDX-License-Identifier: MIT */
/*
 * percpu/version.h: the version of these headers, and of the library a
 * program runs with. The Makefile reads the numbers from here (the shared
 * library's file name, its soname and percpu.pc), so they are set once.
 */
#ifndef PERCPU_VERSION_H
#define PERCPU_VERSION_H

#include "common.h"

#define PERCPU_VERSION_MAJOR 0
#define PERCPU_VERSION_MINOR 2
#define PERCPU_VERSION_PATCH 0

/* One number that compares in version order: 0.1.0 is 0x000100. */
#define PERCPU_VERSION_ENCODE(major, minor, patch) \
	(((major) << 16) | ((minor) << 8) | (patch))
#define PERCPU_VERSION PERCPU_VERSION_ENCODE(PERCPU_VERSION_MAJOR, \
	PERCPU_VERSION_MINOR, PERCPU_VERSION_PATCH)

PERCPU_EXTERN_C_BEGIN

/*
 * percpu_version: the version of the library running, as PERCPU_VERSION
 * encodes it; it differs from PERCPU_VERSION when the program was built
 * against other headers than the shared library it loaded. A number
 * rather than a string, so that a program can compare it. Thread- and
 * async-signal-safe.
 */
PERCPU_API unsigned int percpu_version(void);

PERCPU_EXTERN_C_END

#endif
