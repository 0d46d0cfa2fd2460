/* lib/alloc-buddy: a binary buddy allocator (Knuth, TAOCP vol. 1, 2.5).
 * The heap is carved into the largest aligned power-of-two blocks that fit;
 * each block starts with a 16-byte header (order, free flag); free blocks
 * are kept on doubly linked lists per order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ukw/plat.h>

#ifndef CONFIG_ALLOC_BUDDY_MAX_ORDER
#define CONFIG_ALLOC_BUDDY_MAX_ORDER 26
#endif
#define MIN_ORDER 5 /* 32-byte blocks: 16 header + 16 payload */
#define MAX_ORDER CONFIG_ALLOC_BUDDY_MAX_ORDER
#define MAGIC 0xb0dd

struct block {
	uint16_t magic;
	uint8_t order, free;
	uint32_t pad;
	uint64_t pad2;
	struct block *next, *prev; /* only while free */
};

static struct block *free_list[MAX_ORDER + 1];
static uint64_t heap_lo, heap_hi;

static void push(struct block *b, int order)
{
	b->magic = MAGIC;
	b->order = order;
	b->free = 1;
	b->prev = 0;
	b->next = free_list[order];
	if (b->next)
		b->next->prev = b;
	free_list[order] = b;
}

static void unlink(struct block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		free_list[b->order] = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->free = 0;
}

void ukw_alloc_init(uint64_t start, uint64_t end)
{
	start = (start + 31) & ~31ull;
	heap_lo = start;
	heap_hi = end;
	while (end - start >= (1ull << MIN_ORDER) && start < end) {
		int o = MAX_ORDER;
		/* the largest block that is aligned (relative to heap_lo) and fits */
		while (o > MIN_ORDER && (((start - heap_lo) & ((1ull << o) - 1)) || start + (1ull << o) > end))
			o--;
		push((struct block *)start, o);
		start += 1ull << o;
	}
}

void *malloc(size_t n)
{
	if (n > (1ull << MAX_ORDER) - 16)
		return 0;
	int want = MIN_ORDER;
	while ((1ull << want) < n + 16)
		want++;
	int o = want;
	while (o <= MAX_ORDER && !free_list[o])
		o++;
	if (o > MAX_ORDER)
		return 0;
	struct block *b = free_list[o];
	unlink(b);
	while (o > want) { /* split, keeping the lower half */
		o--;
		push((struct block *)((uint64_t)b + (1ull << o)), o);
	}
	b->magic = MAGIC;
	b->order = want;
	b->free = 0;
	return (char *)b + 16;
}

void free(void *p)
{
	if (!p)
		return;
	struct block *b = (struct block *)((char *)p - 16);
	if (b->magic != MAGIC || b->free)
		abort(); /* double free or a pointer malloc never returned */
	int o = b->order;
	while (o < MAX_ORDER) {
		uint64_t off = (uint64_t)b - heap_lo;
		struct block *buddy = (struct block *)(heap_lo + (off ^ (1ull << o)));
		if ((uint64_t)buddy + (1ull << o) > heap_hi || buddy->magic != MAGIC ||
		    !buddy->free || buddy->order != o)
			break;
		unlink(buddy);
		if (buddy < b)
			b = buddy;
		o++;
	}
	push(b, o);
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
	struct block *b = (struct block *)((char *)p - 16);
	size_t cap = (1ull << b->order) - 16;
	if (n <= cap)
		return p;
	void *q = malloc(n);
	if (q) {
		memcpy(q, p, cap);
		free(p);
	}
	return q;
}
