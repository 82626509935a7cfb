/* SPDX-License-Identifier: MIT */
/*
 * src/runtime/text.h: building short text in a fixed buffer. The settings and the
 * status file are made underneath malloc, where snprintf may allocate (it
 * does for some conversions): these append plain strings and numbers only,
 * and truncate rather than overflow.
 */
#ifndef PERCPU_TEXT_H
#define PERCPU_TEXT_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

struct text {
	char *buf;
	size_t cap;	/* including the terminating NUL */
	size_t len;
};

static inline void text_add(struct text *t, const char *s)
{
	while (*s && t->len + 1 < t->cap)
		t->buf[t->len++] = *s++;
	t->buf[t->len] = '\0';
}

static inline void text_add_uint(struct text *t, unsigned long v)
{
	char digits[24];
	int n = (int)sizeof(digits) - 1;

	digits[n] = '\0';
	do
		digits[--n] = (char)('0' + v % 10);
	while ((v /= 10) && n > 0);
	text_add(t, digits + n);
}

/* Write all of s to fd, again after EINTR: 0, or -1 as write(2) failed. */
static inline int text_write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
