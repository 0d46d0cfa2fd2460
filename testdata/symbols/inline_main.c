/* main begins with a call to a static function that gcc inlines (-O1 and
 * up): `break main` lands on the inlined body's first instruction.
 * symbols/inlinestop_test.go compares how gdb shows stops there. */
volatile int sink;

static int setup(int argc)
{
	sink = argc * 3;
	return sink + 1;
}

int main(int argc, char **argv)
{
	int r = setup(argc);
	sink = r;
	(void)argv;
	return sink & 1;
}
