/* SPDX-License-Identifier: MIT */
/*
 * percpu.h: fast per-CPU operations for user programs. The one header to
 * include. See README.md for an overview and each header for the contract.
 */
#ifndef PERCPU_H
#define PERCPU_H

#include "percpu/common.h"
#include "percpu/version.h"
#include "percpu/memory.h"
#include "percpu/mode.h"
#include "percpu/ops.h"
#include "percpu/lock.h"
#include "percpu/multi.h"
#include "percpu/list.h"
#include "percpu/stack.h"
#include "percpu/remote.h"
#include "percpu/stats.h"

#endif
