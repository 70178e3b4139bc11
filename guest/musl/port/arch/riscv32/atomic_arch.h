/* RV32A: LR.W/SC.W for compare-and-swap, AMOs for the rest. Every
 * operation is .aqrl, i.e. sequentially consistent, as musl requires. */

#define a_barrier a_barrier
static inline void a_barrier()
{
	__asm__ __volatile__ ("fence rw,rw" : : : "memory");
}

#define a_cas a_cas
static inline int a_cas(volatile int *p, int t, int s)
{
	int old, tmp;
	__asm__ __volatile__ (
		"\n1:	lr.w.aqrl %0, (%2)\n"
		"	bne %0, %3, 1f\n"
		"	sc.w.aqrl %1, %4, (%2)\n"
		"	bnez %1, 1b\n"
		"1:"
		: "=&r"(old), "=&r"(tmp)
		: "r"(p), "r"(t), "r"(s)
		: "memory");
	return old;
}

#define a_cas_p a_cas_p
static inline void *a_cas_p(volatile void *p, void *t, void *s)
{
	void *old;
	int tmp;
	__asm__ __volatile__ (
		"\n1:	lr.w.aqrl %0, (%2)\n"
		"	bne %0, %3, 1f\n"
		"	sc.w.aqrl %1, %4, (%2)\n"
		"	bnez %1, 1b\n"
		"1:"
		: "=&r"(old), "=&r"(tmp)
		: "r"(p), "r"(t), "r"(s)
		: "memory");
	return old;
}

#define a_swap a_swap
static inline int a_swap(volatile int *p, int v)
{
	int old;
	__asm__ __volatile__ ("amoswap.w.aqrl %0, %2, (%1)"
		: "=r"(old) : "r"(p), "r"(v) : "memory");
	return old;
}

#define a_fetch_add a_fetch_add
static inline int a_fetch_add(volatile int *p, int v)
{
	int old;
	__asm__ __volatile__ ("amoadd.w.aqrl %0, %2, (%1)"
		: "=r"(old) : "r"(p), "r"(v) : "memory");
	return old;
}

#define a_fetch_and a_fetch_and
static inline int a_fetch_and(volatile int *p, int v)
{
	int old;
	__asm__ __volatile__ ("amoand.w.aqrl %0, %2, (%1)"
		: "=r"(old) : "r"(p), "r"(v) : "memory");
	return old;
}

#define a_fetch_or a_fetch_or
static inline int a_fetch_or(volatile int *p, int v)
{
	int old;
	__asm__ __volatile__ ("amoor.w.aqrl %0, %2, (%1)"
		: "=r"(old) : "r"(p), "r"(v) : "memory");
	return old;
}
