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
#include <string.h>
#include <unistd.h>
#include "utf8.h"
#include "runtime/sys.h"

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
		ssize_t n = sys_write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A value from the environment or the settings file, as percpu-info prints
 * its own: a backslash doubled, a control character or a byte that is not
 * UTF-8 as \xNN, so that a newline in a value cannot start a line of its
 * own in a status file (a forged `mode:` line), and a reader sees the
 * value as it was.
 */
static inline void text_add_escaped(struct text *t, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char piece[5];
	size_t n;

	for (; *p; p += n) {
		n = utf8_length(p);
		if (*p == '\\') {
			piece[0] = piece[1] = '\\';
			piece[2] = '\0';
		} else if (!n || *p < 0x20 || *p == 0x7f) {
			piece[0] = '\\';
			piece[1] = 'x';
			piece[2] = hex[*p >> 4];
			piece[3] = hex[*p & 15];
			piece[4] = '\0';
		} else {
			memcpy(piece, p, n);
			piece[n] = '\0';
		}
		if (t->len + strlen(piece) >= t->cap)
			return;	/* whole characters only: the rest is cut */
		text_add(t, piece);
		n = n ? n : 1;
	}
}

#endif
