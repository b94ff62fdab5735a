#include "base/internal.h"

void *ek_grow(void *base, size_t n, size_t *alloc, size_t elem, size_t first)
{
	size_t na;
	void *p;

	if (n < *alloc)
		return base;
	na = *alloc ? *alloc * 2 : first;
	if (na <= n)
		na = n + 1;
	if (na < *alloc || elem == 0 || na > SIZE_MAX / elem)
		return NULL;
	p = realloc(base, na * elem);
	if (p)
		*alloc = na;
	return p;
}
