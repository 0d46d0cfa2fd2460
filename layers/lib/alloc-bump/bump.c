/* lib/alloc-bump: malloc moves a pointer forward; free does nothing. Every
 * block has a 16-byte header holding its size, for realloc. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ukw/plat.h>

#ifndef CONFIG_ALLOC_BUMP_HEAP_KIB
#define CONFIG_ALLOC_BUMP_HEAP_KIB 0
#endif

static uint64_t next, limit;

void ukw_alloc_init(uint64_t start, uint64_t end)
{
	next = (start + 15) & ~15ull;
	limit = end;
	if (CONFIG_ALLOC_BUMP_HEAP_KIB && next + CONFIG_ALLOC_BUMP_HEAP_KIB * 1024ull < limit)
		limit = next + CONFIG_ALLOC_BUMP_HEAP_KIB * 1024ull;
}

void *malloc(size_t n)
{
	uint64_t need = 16 + ((n + 15) & ~(size_t)15);
	if (n > limit || need > limit - next)
		return 0;
	uint64_t *h = (uint64_t *)next;
	h[0] = n;
	next += need;
	return h + 2;
}

void *calloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return 0;
	void *p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	size_t old = ((uint64_t *)p)[-2];
	if (n <= old)
		return p;
	void *q = malloc(n);
	if (q)
		memcpy(q, p, old);
	return q;
}

void free(void *p) { (void)p; }
