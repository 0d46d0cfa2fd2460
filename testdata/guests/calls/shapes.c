/* calls: geometry helpers, in their own file for file:line breakpoints. */
#include "shapes.h"

struct shape shapes[3] = {
	{ "triangle", RED, 3, { { 0, 0 }, { 4, 0 }, { 0, 3 } } },
	{ "square", GREEN, 4, { { 0, 0 }, { 2, 0 }, { 2, 2 }, { 0, 2 } } },
	{ "line", BLUE, 2, { { 1, 1 }, { 6, 1 } } },
};

int manhattan(struct point a, struct point b)
{
	int dx = a.x > b.x ? a.x - b.x : b.x - a.x;
	int dy = a.y > b.y ? a.y - b.y : b.y - a.y;
	visits++;
	return dx + dy;
}

int perimeter(const struct shape *s)
{
	int total = 0;
	for (int i = 0; i < s->ncorners; i++) {
		struct point a = s->corners[i];
		struct point b = s->corners[(i + 1) % s->ncorners];
		total += manhattan(a, b);
	}
	return total;
}
