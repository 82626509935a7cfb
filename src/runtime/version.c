/* SPDX-License-Identifier: MIT */
/* percpu_version(): the headers' version, as this library was built. */
#include "percpu/version.h"

unsigned int percpu_version(void)
{
	return PERCPU_VERSION;
}
