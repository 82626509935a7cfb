/* SPDX-License-Identifier: MIT */
/*
 * tests/env_sanitizer.h: UNDER_SANITIZER is 1 in a build with AddressSanitizer
 * or ThreadSanitizer, whose run time changes what some checks measure: a
 * failed mmap aborts the process, and every atomic takes a lock of theirs.
 */
#ifndef PERCPU_TESTS_ENV_SANITIZER_H
#define PERCPU_TESTS_ENV_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

#endif
