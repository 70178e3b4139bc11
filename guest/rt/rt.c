/*
 * The guest runtime's C part: start-up after crt0.S, output, strings, option parsing, the
 * clock. Threads are in thread.c.
 */
#include "rt.h"

const uint32_t *rt_auxv;
char **rt_environ;
/* sp as the kernel left it at _start (the args test checks the layout from it). */
uint32_t *rt_initial_sp;
int rt_failures;

/* The main thread's descriptor: tp points here, as a clone'd thread's tp points at its own. */
static struct rt_thread main_thread;

/*
 * Called from _start with the initial stack pointer: sp[0] = argc, then argv[argc] and its
 * NULL, envp[] and its NULL, then the auxiliary vector.
 */
__attribute__((noreturn, used)) void __rt_start(uint32_t *sp)
{
	rt_initial_sp = sp;
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	char **p = envp;
	while (*p)
		p++;
	rt_environ = envp;
	rt_auxv = (const uint32_t *)(p + 1);

	__asm__ volatile("mv tp, %0" : : "r"(&main_thread));
	/* The main thread's tid, and where the kernel clears it if the main thread ever exits alone. */
	main_thread.tid = (int)sys_set_tid_address(&main_thread.tid);
	rt_exit(main(argc, argv, envp));
}

uint32_t rt_getauxval(uint32_t key, int *found)
{
	for (const uint32_t *a = rt_auxv; a[0] != AT_NULL; a += 2) {
		if (a[0] == key) {
			if (found)
				*found = 1;
			return a[1];
		}
	}
	if (found)
		*found = 0;
	return 0;
}

void rt_exit(int status)
{
	sys_exit_group(status);
}

struct rt_thread *rt_thread_self(void)
{
	struct rt_thread *t;
	__asm__("mv %0, tp" : "=r"(t));
	return t;
}

/* ---- memory and strings ------------------------------------------------------------------ */
/*
 * Byte loops on purpose: these must not be turned back into calls to themselves, which the
 * Makefile prevents with -fno-tree-loop-distribute-patterns.
 */

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x - *y;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

/* ---- output ------------------------------------------------------------------------------ */

#define OUT_BUF 256

/* Where formatted output goes: a file descriptor (flushed in 256-byte writes) or a buffer. */
struct out {
	int fd;      /* -1: into dst */
	char *dst;   /* snprintf's buffer, or NULL */
	size_t cap;  /* its size including the terminating NUL */
	int len;     /* bytes in buf (fd mode) */
	int total;   /* bytes produced so far (snprintf: even past cap) */
	char buf[OUT_BUF];
};

static void out_flush(struct out *o)
{
	int off = 0;
	while (off < o->len) {
		long r = sys_write(o->fd, o->buf + off, (size_t)(o->len - off));
		if (r <= 0)
			break; /* nowhere to report it */
		off += (int)r;
	}
	o->len = 0;
}

static void out_char(struct out *o, char c)
{
	if (o->fd < 0) {
		if ((size_t)o->total + 1 < o->cap)
			o->dst[o->total] = c;
		o->total++;
		return;
	}
	if (o->len == OUT_BUF)
		out_flush(o);
	o->buf[o->len++] = c;
	o->total++;
}

static void out_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

/*
 * n / 10 for 64-bit n without libgcc's __udivdi3 (programs link with -nostdlib): the
 * shift-and-add reciprocal from Hacker's Delight (divu10), widened to 64 bits.
 */
static uint64_t udiv10_64(uint64_t n, unsigned *rem)
{
	uint64_t q = (n >> 1) + (n >> 2);
	q += q >> 4;
	q += q >> 8;
	q += q >> 16;
	q += q >> 32;
	q >>= 3;
	uint64_t r = n - ((q << 3) + (q << 1));
	if (r > 9) {
		q++;
		r -= 10;
	}
	*rem = (unsigned)r;
	return q;
}

/* Digits of v in `base` (10 or 16), most significant first, into buf; returns the count. */
static int format_u64(char *buf, uint64_t v, int base, int upper)
{
	char tmp[24];
	int n = 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	do {
		unsigned d;
		if (base == 16) {
			d = (unsigned)(v & 15);
			v >>= 4;
		} else {
			v = udiv10_64(v, &d);
		}
		tmp[n++] = digits[d];
	} while (v);
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static void out_format(struct out *o, const char *fmt, va_list ap);

int rt_vdprintf(int fd, const char *fmt, va_list ap)
{
	struct out o;
	o.fd = fd;
	o.dst = 0;
	o.cap = 0;
	o.len = 0;
	o.total = 0;
	out_format(&o, fmt, ap);
	out_flush(&o);
	return o.total;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	struct out o;
	o.fd = -1;
	o.dst = buf;
	o.cap = size;
	o.len = 0;
	o.total = 0;
	va_list ap;
	va_start(ap, fmt);
	out_format(&o, fmt, ap);
	va_end(ap);
	if (size)
		buf[(size_t)o.total < size ? (size_t)o.total : size - 1] = 0;
	return o.total;
}

static void out_format(struct out *o, const char *fmt, va_list ap)
{
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			out_char(o, *f);
			continue;
		}
		f++;
		int left = 0, zero = 0, width = 0, longs = 0;
		for (;; f++) {
			if (*f == '-')
				left = 1;
			else if (*f == '0')
				zero = 1;
			else
				break;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		while (*f == 'l') {
			longs++;
			f++;
		}
		char num[24];
		const char *s = num;
		int n = 0, neg = 0;
		switch (*f) {
		case 'd':
		case 'i': {
			int64_t v = longs >= 2 ? va_arg(ap, int64_t) : (int64_t)va_arg(ap, int32_t);
			uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			neg = v < 0;
			n = format_u64(num, u, 10, 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = longs >= 2 ? va_arg(ap, uint64_t) : (uint64_t)va_arg(ap, uint32_t);
			n = format_u64(num, v, *f == 'u' ? 10 : 16, *f == 'X');
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			num[0] = '0';
			num[1] = 'x';
			n = 2 + format_u64(num + 2, v, 16, 0);
			break;
		}
		case 'c':
			num[0] = (char)va_arg(ap, int);
			n = 1;
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			n = (int)strlen(s);
			break;
		case '%':
			num[0] = '%';
			n = 1;
			break;
		case '\0':
			f--; /* a lone '%' at the end: print nothing for it */
			continue;
		default:
			/* Unknown conversion: print it as written so the mistake is visible. */
			num[0] = '%';
			num[1] = *f;
			n = 2;
			break;
		}
		int len = n + neg;
		if (!left && !zero)
			out_pad(o, ' ', width - len);
		if (neg)
			out_char(o, '-');
		if (!left && zero)
			out_pad(o, '0', width - len);
		for (int i = 0; i < n; i++)
			out_char(o, s[i]);
		if (left)
			out_pad(o, ' ', width - len);
	}
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = rt_vdprintf(1, fmt, ap);
	va_end(ap);
	return n;
}

int rt_eprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = rt_vdprintf(2, fmt, ap);
	va_end(ap);
	return n;
}

int rt_report(const char *name)
{
	if (rt_failures == 0) {
		rt_printf("%s: all checks passed\n", name);
		return 0;
	}
	rt_printf("%s: %d checks FAILED\n", name, rt_failures);
	return rt_failures > 255 ? 255 : rt_failures;
}

/* ---- numbers and options ----------------------------------------------------------------- */

int rt_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		v = base == 16 ? (v << 4) + d : (v << 3) + (v << 1) + d;
		if (v > 0xffffffffu)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static void usage(const char *prog, struct rt_opt *opts, int nopts)
{
	rt_eprintf("usage: %s", prog);
	for (int i = 0; i < nopts; i++)
		rt_eprintf(" [-%c N]", opts[i].flag);
	rt_eprintf("\n");
	for (int i = 0; i < nopts; i++)
		rt_eprintf("  -%c N  %s, %u..%u (default %u)\n", opts[i].flag, opts[i].name,
			   (unsigned)opts[i].min, (unsigned)opts[i].max, (unsigned)*opts[i].value);
}

void rt_parse_opts(const char *prog, int argc, char **argv, struct rt_opt *opts, int nopts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		struct rt_opt *o = 0;
		if (a[0] == '-' && a[1] && !a[2]) {
			for (int k = 0; k < nopts; k++) {
				if (opts[k].flag == a[1])
					o = &opts[k];
			}
		}
		if (!o) {
			rt_eprintf("%s: unknown option '%s'\n", prog, a);
			usage(prog, opts, nopts);
			rt_exit(2);
		}
		uint32_t v;
		if (i + 1 >= argc || rt_parse_u32(argv[i + 1], &v) != 0 || v < o->min || v > o->max) {
			rt_eprintf("%s: -%c (%s): must be an integer from %u to %u, got '%s'\n", prog,
				   o->flag, o->name, (unsigned)o->min, (unsigned)o->max, i + 1 < argc ? argv[i + 1] : "");
			rt_exit(2);
		}
		*o->value = v;
		i++;
	}
}

/* ---- time -------------------------------------------------------------------------------- */

uint64_t rt_monotonic_ns(void)
{
	struct kernel_timespec ts;
	if (sys_clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long rt_sleep_ns(uint64_t ns)
{
	struct kernel_timespec req;
	/* Whole seconds by repeated subtraction: no 64-bit division without libgcc. */
	req.tv_sec = 0;
	while (ns >= 1000000000u) {
		ns -= 1000000000u;
		req.tv_sec++;
	}
	req.tv_nsec = (int64_t)ns;
	return sys_clock_nanosleep(CLOCK_MONOTONIC, 0, &req, 0);
}
