#ifndef CALLS_SHAPES_H
#define CALLS_SHAPES_H

enum color { RED, GREEN, BLUE };

struct point {
	int x, y;
};

struct shape {
	const char *name;
	enum color color;
	int ncorners;
	struct point corners[4];
};

extern struct shape shapes[3];
extern int visits;

int perimeter(const struct shape *s);
int manhattan(struct point a, struct point b);

#endif
