/* crash: a NULL pointer write three calls below main. */
#include <stdio.h>

struct setting {
	const char *name;
	int *slot; /* where the value goes; NULL for "missing" */
};

static int verbose;

__attribute__((noinline)) static void store_value(int *slot, int value)
{
	*slot = value; /* slot is NULL for "missing": #PF, cr2 = 0 */
}

__attribute__((noinline)) static void apply_setting(const struct setting *s, int value)
{
	printf("crash: applying %s = %d\n", s->name, value);
	store_value(s->slot, value);
}

__attribute__((noinline)) static void parse_config(const struct setting *table, int n)
{
	for (int i = 0; i < n; i++)
		apply_setting(&table[i], i + 1);
}

int main(void)
{
	const struct setting table[] = {
		{ "verbose", &verbose },
		{ "missing", 0 },
	};
	parse_config(table, 2);
	printf("crash: not reached\n");
	return 0;
}
