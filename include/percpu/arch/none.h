/* SPDX-License-Identifier: MIT */
/*
 * percpu/arch/none.h: architectures without critical sections yet. Every
 * operation takes the lock path; the runtime never registers rseq.
 */
#ifndef PERCPU_ARCH_INCLUDE_OK
#error "include <percpu.h>, not an architecture file"
#endif
#ifndef PERCPU_ARCH_NONE_H
#define PERCPU_ARCH_NONE_H

#define PERCPU_ARCH_RSEQ 0
#define PERCPU_ARCH_NAME "none"

static inline unsigned int percpu_arch_shard_id(long id)
{
	(void)id;
	return ~0u;
}

#endif
