/*
 * A extension, single hart: the nine AMOs (old value returned, result stored) over every
 * operand pair, the aq/rl variants, and LR/SC: a pair succeeds, an SC without a reservation
 * fails and stores nothing, an SC to an address outside the reservation fails, an LR/SC
 * increment loop. (Atomicity across harts is the threads test's job.)
 */
#include "insn.h"

#define AMO(op, p, v)                                                                            \
	({                                                                                       \
		uint32_t _old;                                                                   \
		__asm__ volatile(op " %0, %2, (%1)" : "=r"(_old) : "r"(p), "r"(v) : "memory");  \
		_old;                                                                            \
	})

static volatile uint32_t cell __attribute__((aligned(64)));
/* A second reservation target, a page away from `cell`. */
static volatile uint32_t far_cell __attribute__((aligned(4096)));

#define ALL_AMO(op)                                                                              \
	do {                                                                                     \
		struct insn_digest _d;                                                           \
		insn_begin(&_d, op);                                                             \
		for (int _i = 0; _i < INSN_NVALS; _i++) {                                        \
			for (int _j = 0; _j < INSN_NVALS; _j++) {                                \
				uint32_t _m = insn_vals[_i], _s = insn_vals[_j];                 \
				cell = _m;                                                       \
				insn_record(&_d, _m, _s, AMO(op, &cell, _s));                    \
				insn_record(&_d, _m, _s, cell);                                  \
			}                                                                        \
		}                                                                                \
		insn_end(&_d);                                                                   \
	} while (0)

/* One AMO: checks both the returned old value and the stored result. */
static void amo_check(const char *what, uint32_t mem, uint32_t old, uint32_t want_new)
{
	INSN_CHECK(old, mem, what);
	RT_CHECK(cell == want_new, "%s stored 0x%08x, expected 0x%08x", what, (unsigned)cell,
		 (unsigned)want_new);
}

#define AMO_CHECK(op, mem, src, want_new)                                                        \
	do {                                                                                     \
		cell = (mem);                                                                    \
		uint32_t _old = AMO(op, &cell, (uint32_t)(src));                                 \
		amo_check(op, (mem), _old, (want_new));                                          \
	} while (0)

/* lr.w then sc.w of v; returns sc's result (0 = stored). */
static uint32_t lr_sc(volatile uint32_t *lr_addr, volatile uint32_t *sc_addr, uint32_t v, uint32_t *loaded)
{
	uint32_t got, fail;
	__asm__ volatile("lr.w %0, (%2)\n\t"
			 "sc.w %1, %4, (%3)"
			 : "=&r"(got), "=&r"(fail)
			 : "r"(lr_addr), "r"(sc_addr), "r"(v)
			 : "memory");
	*loaded = got;
	return fail;
}

static void lr_sc_checks(void)
{
	uint32_t loaded, r = 1;
	/* An SC may fail spuriously (the ISA allows it), so a successful pair gets retries. */
	cell = 0x1234;
	for (int attempt = 0; attempt < 16 && r != 0; attempt++)
		r = lr_sc(&cell, &cell, 0x5678, &loaded);
	INSN_CHECK(r, 0u, "sc.w right after lr.w of the same word");
	INSN_CHECK(loaded, 0x1234u, "lr.w loaded");
	INSN_CHECK(cell, 0x5678u, "memory after a successful sc.w");

	/* Every SC ends the reservation, so a second one must fail and store nothing. */
	uint32_t fail;
	__asm__ volatile("sc.w %0, %2, (%1)" : "=&r"(fail) : "r"(&cell), "r"(0x9999) : "memory");
	RT_CHECK(fail != 0, "sc.w without a reservation succeeded");
	INSN_CHECK(cell, 0x5678u, "memory after a failed sc.w");

	/* An SC to a word outside the reservation set must fail. */
	far_cell = 0xabcd;
	r = lr_sc(&cell, &far_cell, 0x1111, &loaded);
	RT_CHECK(r != 0, "sc.w to an address a page away from the lr.w succeeded");
	INSN_CHECK(far_cell, 0xabcdu, "memory after an sc.w outside the reservation");

	/* The acquire/release forms. */
	uint32_t old;
	cell = 7;
	__asm__ volatile("1:\n\t"
			 "lr.w.aq %0, (%1)\n\t"
			 "addi t0, %0, 1\n\t"
			 "sc.w.rl t1, t0, (%1)\n\t"
			 "bnez t1, 1b"
			 : "=&r"(old)
			 : "r"(&cell)
			 : "t0", "t1", "memory");
	INSN_CHECK(old, 7u, "lr.w.aq / sc.w.rl loop: old");
	INSN_CHECK(cell, 8u, "lr.w.aq / sc.w.rl loop: new");

	/* An LR/SC increment loop. */
	cell = 0;
	for (int i = 0; i < 1000; i++) {
		__asm__ volatile("1:\n\t"
				 "lr.w t0, (%0)\n\t"
				 "addi t0, t0, 1\n\t"
				 "sc.w t1, t0, (%0)\n\t"
				 "bnez t1, 1b"
				 :
				 : "r"(&cell)
				 : "t0", "t1", "memory");
	}
	INSN_CHECK(cell, 1000u, "1000 lr/sc increments");
}

static void spot_checks(void)
{
	AMO_CHECK("amoswap.w", 0x11111111u, 0x22222222u, 0x22222222u);
	AMO_CHECK("amoadd.w", 0xffffffffu, 1, 0u);
	AMO_CHECK("amoand.w", 0xff00ff00u, 0x0ff00ff0u, 0x0f000f00u);
	AMO_CHECK("amoor.w", 0xff00ff00u, 0x0ff00ff0u, 0xfff0fff0u);
	AMO_CHECK("amoxor.w", 0xff00ff00u, 0x0ff00ff0u, 0xf0f0f0f0u);
	AMO_CHECK("amomax.w", 0xffffffffu, 1, 1u);
	AMO_CHECK("amomaxu.w", 0xffffffffu, 1, 0xffffffffu);
	AMO_CHECK("amomin.w", 0xffffffffu, 1, 0xffffffffu);
	AMO_CHECK("amominu.w", 0xffffffffu, 1, 1u);
	AMO_CHECK("amomax.w", 0x80000000u, 0x7fffffffu, 0x7fffffffu);
	AMO_CHECK("amomin.w", 0x80000000u, 0x7fffffffu, 0x80000000u);
	AMO_CHECK("amoswap.w.aq", 1, 2, 2u);
	AMO_CHECK("amoswap.w.rl", 3, 4, 4u);
	AMO_CHECK("amoadd.w.aqrl", 5, 6, 11u);

	/* rd = x0: the result is stored, the old value discarded. */
	cell = 40;
	__asm__ volatile("amoadd.w x0, %1, (%0)" : : "r"(&cell), "r"(2) : "memory");
	INSN_CHECK(cell, 42u, "amoadd.w with rd = x0");
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	insn_parse_args(argc, argv);
	ALL_AMO("amoswap.w");
	ALL_AMO("amoadd.w");
	ALL_AMO("amoand.w");
	ALL_AMO("amoor.w");
	ALL_AMO("amoxor.w");
	ALL_AMO("amomax.w");
	ALL_AMO("amomaxu.w");
	ALL_AMO("amomin.w");
	ALL_AMO("amominu.w");
	spot_checks();
	lr_sc_checks();
	return rt_report("amo");
}
