/* lib/nolibc: the printf family. Conversions d i u x X o p s c %, length
 * modifiers hh h l ll z t j, flags - 0 + space #, width and precision
 * (also as *). printf formats into a buffer and writes it to the console
 * once per call (or each time the buffer fills).
 *
 * Written for few instructions per output byte (guest instructions are
 * expensive under software KVM, ../../shared/MACHINE.md): literal runs of
 * the format and %s strings are copied in one block, one byte goes out
 * through an inline check, and the console gets a whole buffer at once. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <ukw/plat.h>

struct sink {
	char *p, *end; /* free space in buf */
	char *buf;
	size_t spilled; /* bytes flushed to the console or dropped */
	int console;    /* flush to the console when buf fills */
};

static size_t total(const struct sink *k) { return k->spilled + (size_t)(k->p - k->buf); }

static void flush(struct sink *k)
{
	size_t n = (size_t)(k->p - k->buf);
	if (k->console && n) {
		ukw_console_write(k->buf, n);
		k->spilled += n;
		k->p = k->buf;
	}
}

/* emit_slow handles bytes that do not fit: a console sink flushes and
 * goes on, a string sink counts them as dropped. */
static __attribute__((noinline)) void emit_slow(struct sink *k, const char *s, size_t n)
{
	while (n) {
		size_t room = (size_t)(k->end - k->p);
		if (!room) {
			if (!k->console) {
				k->spilled += n;
				return;
			}
			flush(k);
			room = (size_t)(k->end - k->p);
		}
		size_t m = n < room ? n : room;
		memcpy(k->p, s, m);
		k->p += m;
		s += m;
		n -= m;
	}
}

static inline void emit(struct sink *k, const char *s, size_t n)
{
	if (n <= (size_t)(k->end - k->p)) {
		/* memcpy inline: rep movsb advances the destination itself */
		__asm__ volatile("rep movsb" : "+D"(k->p), "+S"(s), "+c"(n) : : "memory");
	} else {
		emit_slow(k, s, n);
	}
}

static inline void put(struct sink *k, char c)
{
	if (k->p < k->end)
		*k->p++ = c;
	else
		emit_slow(k, &c, 1);
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
	char *e = tmp + sizeof tmp, *d = e;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	if (base == 10) {
		do {
			*--d = (char)('0' + v % 10);
			v /= 10;
		} while (v);
	} else {
		unsigned shift = base == 16 ? 4 : 3, mask = base - 1;
		do {
			*--d = digits[v & mask];
			v >>= shift;
		} while (v);
	}
	int n = (int)(e - d);
	if (n == 1 && *d == '0' && prec == 0)
		n = 0; /* "%.0d" of 0 prints no digits */
	if (!neg && !flags && width <= n && prec <= n) { /* the common case */
		emit(k, d, n);
		return;
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
	else if ((flags & F_ALT) && base == 8 && (n == 0 || *d != '0') && zeros == 0)
		pre = "0";
	int plen = (int)strlen(pre);
	int all = plen + zeros + n;
	if ((flags & F_ZERO) && !(flags & F_LEFT) && prec < 0 && width > all) {
		zeros += width - all;
		all = width;
	}
	if (!(flags & F_LEFT))
		pad(k, ' ', width - all);
	emit(k, pre, plen);
	pad(k, '0', zeros);
	emit(k, d, n);
	if (flags & F_LEFT)
		pad(k, ' ', width - all);
}

/* scan returns the first '%' or NUL from q on. Most text is above '%'
 * (0x25), so the inner loop has one comparison per byte. */
static const char *scan(const char *q)
{
	for (;;) {
		while ((unsigned char)*q > '%')
			q++;
		if (*q == '%' || !*q)
			return q;
		q++;
	}
}

/* dec is the common conversion, a plain %d/%u/%zu of a non-negative
 * value, without number()'s generality. */
static inline __attribute__((always_inline)) void dec(struct sink *k, uint64_t v)
{
	char tmp[20], *d = tmp + sizeof tmp;
	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	emit(k, d, (size_t)(tmp + sizeof tmp - d));
}

static void format(struct sink *k, const char *f, va_list ap)
{
	for (;;) {
		const char *q = scan(f);
		if (q != f)
			emit(k, f, (size_t)(q - f));
		if (!*q)
			return;
		const char *start = q;
		f = q + 1;
		int flags = 0, width = 0, prec = -1, len = 0;
		if ((unsigned char)*f < 'a') { /* flags, width, precision: all below 'a' */
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
		}
		uint64_t u;
		int64_t s;
	again:
		switch (*f) {
		case 'h':
			len--;
			f++;
			goto again;
		case 'l':
			len++;
			f++;
			goto again;
		case 'z':
		case 't':
		case 'j':
			len = 1;
			f++;
			goto again;
		case 'd':
		case 'i':
			s = len >= 1 ? va_arg(ap, long) : va_arg(ap, int);
			if (len == -1) s = (short)s;
			if (len <= -2) s = (signed char)s;
			if (s >= 0 && !(flags | width) && prec < 0)
				dec(k, (uint64_t)s);
			else
				number(k, s < 0 ? -(uint64_t)s : (uint64_t)s, s < 0, 10, 0, flags, width, prec);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			u = len >= 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			if (len == -1) u = (unsigned short)u;
			if (len <= -2) u = (unsigned char)u;
			if (*f == 'u' && !(flags | width) && prec < 0)
				dec(k, u);
			else
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
			emit(k, str, n);
			if (flags & F_LEFT) pad(k, ' ', width - n);
			break;
		}
		case '%':
			put(k, '%');
			break;
		default: /* unknown conversion: print it as written */
			if (!*f) {
				emit(k, start, (size_t)(f - start));
				return;
			}
			emit(k, start, (size_t)(f + 1 - start));
		}
		f++;
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink k = { buf, buf + (size ? size - 1 : 0), buf, 0, 0 };
	format(&k, fmt, ap);
	if (size)
		*k.p = 0;
	return (int)total(&k);
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
	char buf[256];
	struct sink k = { buf, buf + sizeof buf, buf, 0, 1 };
	format(&k, fmt, ap);
	flush(&k);
	return (int)k.spilled;
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
