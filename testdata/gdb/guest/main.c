/*
 * The gdb test guest: small functions with stable source markers that the
 * gdbstub tests use for `break FILE:LINE` (a marker is a comment "mark:NAME"
 * on the line a test breaks at). Built with -O0 so that every line has code.
 */

#define COM1 0x3f8

static inline void outb(unsigned short port, unsigned char v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

int watched;           /* written once by bump(): the watchpoint target */
volatile int release;  /* spin() loops until a debugger sets it */
long spins;            /* iterations spin() ran */
int scale = 3;         /* tests change it with `set var` */

void put(const char *s)
{
	while (*s)
		outb(COM1, (unsigned char)*s++);
}

int add(int a, int b)
{
	int sum = a + b;   /* mark:add */
	return sum;
}

int compute(int n)
{
	int total = 0;
	for (int i = 1; i <= n; i++)
		total = add(total, i);   /* mark:compute-loop */
	return total * scale;   /* mark:compute-ret */
}

void bump(void)
{
	int before = watched;
	watched = before + 7;   /* mark:bump-write */
	put("bumped\n");   /* mark:after-bump */
}

void spin(void)
{
	while (!release)
		spins++;   /* mark:spin */
}

int main(void)
{
	put("gdb guest up\n");
	int r = compute(4);   /* mark:main-compute */
	bump();
	spin();
	put("gdb guest done\n");
	return r + watched;   /* 10*scale + 7: 37 unless a debugger changed something */
}
