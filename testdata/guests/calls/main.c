/* calls: main -> measure_all -> measure -> perimeter -> manhattan.
 * Prints each shape's perimeter; exits with result & 0xff (32). */
#include <stdio.h>
#include "shapes.h"

int visits;
int scale = 1;
const char *color_names[] = { "red", "green", "blue" };

static int measure(const struct shape *s, int index)
{
	int p = perimeter(s) * scale;
	printf("calls: %d %s (%s) perimeter %d\n", index, s->name, color_names[s->color], p);
	return p;
}

static int measure_all(int n)
{
	int sum = 0;
	int results[3] = { 0, 0, 0 };
	for (int i = 0; i < n; i++) {
		results[i] = measure(&shapes[i], i);
		sum += results[i];
	}
	return sum;
}

int main(void)
{
	int result = measure_all(3);
	printf("calls: result %d, visits %d\n", result, visits);
	return result & 0xff;
}
