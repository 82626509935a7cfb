// SPDX-License-Identifier: MIT
/* fuzz/lib/buf.c: the harnesses' growable string (harness.h). */
#include <string.h>
#include "harness.h"

void put(struct buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		CHECK(b->p, "out of memory");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}
