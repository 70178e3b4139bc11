/*
 * Zicntr counters readable from user mode: cycle, time, instret and their high halves
 * (rdcycle/rdcycleh, rdtime/rdtimeh, rdinstret/rdinstreth: csrrs rd, csr, x0). Values differ
 * from run to run, so only properties are printed: each 64-bit counter reads consistently
 * (high-low-high), cycle and instret advance over a loop, time advances over a sleep and never
 * goes backwards.
 */
#include "rt.h"

#define CSR_READ(name)                                                                           \
	({                                                                                       \
		uint32_t _v;                                                                     \
		__asm__ volatile("csrr %0, " name : "=r"(_v));                                  \
		_v;                                                                              \
	})

/* A 64-bit counter from two 32-bit reads, retried if the low half wrapped in between. */
#define CSR_READ64(lo, hi)                                                                       \
	({                                                                                       \
		uint32_t _h, _l, _h2;                                                            \
		do {                                                                             \
			_h = CSR_READ(hi);                                                       \
			_l = CSR_READ(lo);                                                       \
			_h2 = CSR_READ(hi);                                                      \
		} while (_h != _h2);                                                             \
		((uint64_t)_h << 32) | _l;                                                       \
	})

static uint64_t cycle(void) { return CSR_READ64("cycle", "cycleh"); }
static uint64_t instret(void) { return CSR_READ64("instret", "instreth"); }
static uint64_t timer(void) { return CSR_READ64("time", "timeh"); }

static void spin(int n)
{
	for (volatile int i = 0; i < n; i++)
		;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	/* The pseudo-instructions assemble to the same csrrs as csrr. */
	uint32_t a, b, c;
	__asm__ volatile("rdcycle %0\n\trdtime %1\n\trdinstret %2" : "=r"(a), "=r"(b), "=r"(c));
	rt_printf("rdcycle, rdtime, rdinstret: readable\n");

	uint64_t c0 = cycle(), i0 = instret(), t0 = timer();
	spin(10000);
	uint64_t c1 = cycle(), i1 = instret(), t1 = timer();
	RT_CHECK(c1 > c0, "cycle did not advance over a 10000-iteration loop (%llu -> %llu)",
		 (unsigned long long)c0, (unsigned long long)c1);
	RT_CHECK(i1 > i0, "instret did not advance over a 10000-iteration loop (%llu -> %llu)",
		 (unsigned long long)i0, (unsigned long long)i1);
	RT_CHECK(t1 >= t0, "time went backwards (%llu -> %llu)", (unsigned long long)t0,
		 (unsigned long long)t1);
	rt_printf("cycle and instret advance over a loop\n");

	RT_CHECK(rt_sleep_ns(2000000) == 0, "clock_nanosleep failed");
	uint64_t t2 = timer();
	RT_CHECK(t2 > t1, "time did not advance over a 2 ms sleep (%llu -> %llu)",
		 (unsigned long long)t1, (unsigned long long)t2);
	rt_printf("time advances over a sleep\n");

	uint64_t prev = timer();
	int backwards = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t now = timer();
		if (now < prev)
			backwards++;
		prev = now;
	}
	RT_CHECK(backwards == 0, "time went backwards %d times in 1000 reads", backwards);
	rt_printf("time is monotonic over 1000 reads\n");
	(void)a;
	(void)b;
	(void)c;
	return rt_report("csr");
}
