// SPDX-License-Identifier: MIT
/*
 * src/runtime/info.c: what the library tells a caller about its mode:
 * percpu_mode_get(), and percpu_runtime_info_get() and the older entry
 * points, each copying as much of the facts (percpu_info_fill) as its
 * caller's struct has room for; and percpu_disable_rseq().
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "internal.h"

static const char *thread_reason(const struct percpu_thread *t)
{
	if (percpu_lock_only())
		return percpu_lock_reason();
#ifdef PERCPU_INJECT
	if (percpu_inject_thread_lock_path)
		return "forced to the lock path by a test";
#endif
	return t->reason;
}

enum percpu_mode percpu_mode_get(const char **reason)
{
	struct percpu_thread *t = percpu_self();

	if (reason)
		*reason = thread_reason(t);
	return percpu_thread_uses_rseq(t) ? PERCPU_MODE_RSEQ : PERCPU_MODE_LOCK;
}

/* The 0.1.0 symbol, for binaries linked before the rename (mode.h). */
#undef percpu_mode
PERCPU_API enum percpu_mode percpu_mode(const char **reason)
	__attribute__((alias("percpu_mode_get")));

int percpu_disable_rseq(void)
{
	percpu_init();
	percpu_process_disable("disabled at run time");
	return 0;
}

/* The bytes of the 0.1.0 struct, which had no size field. */
#define INFO_V0_END (offsetof(struct percpu_runtime_info, lock_leases) + \
		     sizeof(int))
#define INFO_V0_SIZE (INFO_V0_END - offsetof(struct percpu_runtime_info, mode))
_Static_assert(offsetof(struct percpu_runtime_info, mode) == sizeof(size_t),
	       "0.1.0's layout: the fields after size, same offsets");

/* A versioned struct starts with its size: it must reach past v0_end. */
int percpu_sized_check(const void *dst, size_t v0_end)
{
	if (!dst || *(const size_t *)dst < v0_end) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * Copy as much of `all`, the library's own version of dst's struct (`len`
 * bytes), as dst's size asks; zero what dst has past it; store the size
 * copied in dst.
 */
void percpu_sized_copy(void *dst, const void *all, size_t len)
{
	size_t size = *(const size_t *)dst;

	if (size > len) {
		memset((char *)dst + len, 0, size - len);
		size = len;
	}
	memcpy(dst, all, size);
	*(size_t *)dst = size;
}

int percpu_runtime_info_get(struct percpu_runtime_info *info)
{
	struct percpu_runtime_info all;

	if (percpu_sized_check(info, INFO_V0_END))
		return -1;
	percpu_info_fill(&all);
	percpu_sized_copy(info, &all, sizeof(all));
	return 0;
}

int percpu_runtime_info_fill(struct percpu_runtime_info *info, size_t size)
{
	if (!info) {
		errno = EINVAL;
		return -1;
	}
	info->size = size;
	return percpu_runtime_info_get(info);
}

/*
 * The 0.1.0 symbol, for binaries linked before the size field: it fills
 * that version's layout, the fields after `size`.
 */
#undef percpu_runtime_info
PERCPU_API int percpu_runtime_info(void *info_v0);
int percpu_runtime_info(void *info_v0)
{
	struct percpu_runtime_info all;

	if (!info_v0) {
		errno = EINVAL;
		return -1;
	}
	percpu_info_fill(&all);
	memcpy(info_v0, &all.mode, INFO_V0_SIZE);
	return 0;
}

