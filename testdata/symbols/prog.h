/* Test program for package symbols: shapes, inlining, recursion and a
 * static function that exists in two compilation units. */
#ifndef PROG_H
#define PROG_H

enum color { RED, GREEN = 5, BLUE };

struct point {
	int x, y;
};

struct shape {
	char name[16];
	struct point pts[3];
	enum color color;
	double scale;
	struct shape *next;
	unsigned char flags;
	short id;
	long big;
};

int hook(int v);
int walk(struct shape *s, int depth);
int fib(int n);
int util_entry(int v);
int helper(int v);
void stop(void);

extern int global_counter;

static inline int square(int v)
{
	return v * v;
}

#endif
