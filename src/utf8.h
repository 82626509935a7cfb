/* SPDX-License-Identifier: MIT */
/*
 * src/utf8.h: whether a NUL-terminated string holds UTF-8, one character at
 * a time. Shared by the registry (an exposition Prometheus can parse) and
 * the status file (values from the environment written so that a reader
 * sees them as they are, and no byte can forge a line).
 */
#ifndef PERCPU_UTF8_H
#define PERCPU_UTF8_H

#include <stddef.h>

/*
 * The length of the UTF-8 sequence at p, or 0 if it is not one: no
 * overlong form, no surrogate, nothing above U+10FFFF (as Go's
 * utf8.ValidString, which Prometheus' parser uses). A NUL ends any
 * sequence early, so it never reads past the string.
 */
static inline size_t utf8_length(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (p[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f;		/* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

#endif
