/* lib/nolibc: the printf family. Conversions d i u x X o p s c %, length
 * modifiers hh h l ll z t j, flags - 0 + space #, width and precision
 * (also as *). printf buffers a line and writes it to the console. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <ukw/plat.h>

struct sink {
	char *buf;
	size_t size, len; /* len: bytes in buf (may pass size: they are dropped) */
	size_t total;     /* every byte produced */
	int console;      /* flush to the console when buf fills */
};

static void flush(struct sink *k)
{
	if (k->console && k->len) {
		ukw_console_write(k->buf, k->len < k->size ? k->len : k->size);
		k->len = 0;
	}
}

static void put(struct sink *k, char c)
{
	if (k->console && k->len == k->size)
		flush(k);
	if (k->len < k->size)
		k->buf[k->len] = c;
	k->len++;
	k->total++;
	if (k->console && c == '\n')
		flush(k);
}

static void pad(struct sink *k, char c, int n)
{
	while (n-- > 0)
		put(k, c);
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16 };

static void number(struct sink *k, uint64_t v, int neg, int base, int upper, int flags, int width, int prec)
{
	char tmp[24];
	int n = 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	if (v == 0 && prec != 0)
		tmp[n++] = '0';
	while (v) {
		tmp[n++] = digits[v % base];
		v /= base;
	}
	int zeros = prec > n ? prec - n : 0;
	const char *pre = "";
	if (neg)
		pre = "-";
	else if (flags & F_PLUS)
		pre = "+";
	else if (flags & F_SPACE)
		pre = " ";
	else if ((flags & F_ALT) && base == 16 && n)
		pre = upper ? "0X" : "0x";
	else if ((flags & F_ALT) && base == 8 && tmp[n - 1] != '0')
		pre = "0";
	int plen = strlen(pre);
	int total = plen + zeros + n;
	if ((flags & F_ZERO) && !(flags & F_LEFT) && prec < 0 && width > total) {
		zeros += width - total;
		total = width;
	}
	if (!(flags & F_LEFT))
		pad(k, ' ', width - total);
	while (*pre)
		put(k, *pre++);
	pad(k, '0', zeros);
	while (n)
		put(k, tmp[--n]);
	if (flags & F_LEFT)
		pad(k, ' ', width - total);
}

static void format(struct sink *k, const char *f, va_list ap)
{
	for (; *f; f++) {
		if (*f != '%') {
			put(k, *f);
			continue;
		}
		const char *start = f++;
		int flags = 0, width = 0, prec = -1, len = 0;
		for (;; f++) {
			if (*f == '-') flags |= F_LEFT;
			else if (*f == '0') flags |= F_ZERO;
			else if (*f == '+') flags |= F_PLUS;
			else if (*f == ' ') flags |= F_SPACE;
			else if (*f == '#') flags |= F_ALT;
			else break;
		}
		if (*f == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = -width;
			}
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				width = width * 10 + (*f++ - '0');
		}
		if (*f == '.') {
			f++;
			prec = 0;
			if (*f == '*') {
				prec = va_arg(ap, int);
				f++;
			} else {
				while (*f >= '0' && *f <= '9')
					prec = prec * 10 + (*f++ - '0');
			}
		}
		for (;; f++) {
			if (*f == 'h') len--;
			else if (*f == 'l') len++;
			else if (*f == 'z' || *f == 't' || *f == 'j') len = 1;
			else break;
		}
		uint64_t u;
		int64_t s;
		switch (*f) {
		case 'd':
		case 'i':
			s = len >= 1 ? va_arg(ap, long) : va_arg(ap, int);
			if (len == -1) s = (short)s;
			if (len <= -2) s = (signed char)s;
			number(k, s < 0 ? -(uint64_t)s : (uint64_t)s, s < 0, 10, 0, flags, width, prec);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			u = len >= 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			if (len == -1) u = (unsigned short)u;
			if (len <= -2) u = (unsigned char)u;
			number(k, u, 0, *f == 'u' ? 10 : *f == 'o' ? 8 : 16, *f == 'X', flags, width, prec);
			break;
		case 'p':
			u = (uint64_t)va_arg(ap, void *);
			number(k, u, 0, 16, 0, flags | F_ALT, width, prec);
			break;
		case 'c':
			if (!(flags & F_LEFT)) pad(k, ' ', width - 1);
			put(k, (char)va_arg(ap, int));
			if (flags & F_LEFT) pad(k, ' ', width - 1);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			int n = prec >= 0 ? (int)strnlen(str, prec) : (int)strlen(str);
			if (!(flags & F_LEFT)) pad(k, ' ', width - n);
			for (int i = 0; i < n; i++)
				put(k, str[i]);
			if (flags & F_LEFT) pad(k, ' ', width - n);
			break;
		}
		case '%':
			put(k, '%');
			break;
		default: /* unknown conversion: print it as written */
			for (; start <= f && *start; start++)
				put(k, *start);
			if (!*f)
				return;
		}
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink k = { buf, size ? size - 1 : 0, 0, 0, 0 };
	format(&k, fmt, ap);
	if (size)
		buf[k.len < k.size ? k.len : k.size] = 0;
	return (int)k.total;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int sprintf(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, (size_t)-1 / 2, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	char buf[128];
	struct sink k = { buf, sizeof buf, 0, 0, 1 };
	format(&k, fmt, ap);
	flush(&k);
	return (int)k.total;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int putchar(int c)
{
	ukw_console_putc((char)c);
	return (unsigned char)c;
}

int puts(const char *s)
{
	ukw_console_write(s, strlen(s));
	ukw_console_putc('\n');
	return 0;
}
