/*
 * Helpers for the instruction-group tests. Each group runs its instructions (through inline
 * asm, so the compiler cannot fold them) over a vector of edge-case operands and prints one
 * digest per instruction: a differential run against another implementation (qemu-riscv32,
 * the files in expected/) then catches any differing result. `-v` prints every case instead, for
 * finding which one differs. Spot checks with values from the ISA manual name the failure
 * outright.
 */
#ifndef GUEST_TESTS_INSN_H
#define GUEST_TESTS_INSN_H

#include "rt.h"

/* Operands that hit the carries, sign bits and shift-amount masking. */
static const uint32_t insn_vals[] = {
	0x00000000, 0x00000001, 0x00000002, 0x00000007, 0x0000001f, 0x00000021,
	0x7fffffff, 0x80000000, 0x80000001, 0xfffffff9, 0xffffffff, 0x12345678,
	0xfedcba98, 0x0000ffff, 0xffff0000, 0x55555555,
};
#define INSN_NVALS ((int)(sizeof(insn_vals) / sizeof(insn_vals[0])))

static int insn_verbose;

struct insn_digest {
	const char *name;
	uint32_t hash;
	int cases;
};

static inline void insn_begin(struct insn_digest *d, const char *name)
{
	d->name = name;
	d->hash = 0x811c9dc5u; /* FNV-1a offset basis */
	d->cases = 0;
}

/* Folds one result into the digest (FNV-1a over the result's four bytes). */
static inline void insn_record(struct insn_digest *d, uint32_t a, uint32_t b, uint32_t r)
{
	for (int i = 0; i < 4; i++) {
		d->hash ^= (r >> (8 * i)) & 0xff;
		d->hash *= 0x01000193u;
	}
	d->cases++;
	if (insn_verbose)
		rt_printf("%s 0x%08x 0x%08x -> 0x%08x\n", d->name, (unsigned)a, (unsigned)b, (unsigned)r);
}

static inline void insn_end(struct insn_digest *d)
{
	if (!insn_verbose)
		rt_printf("%-10s %3d cases  digest 0x%08x\n", d->name, d->cases, (unsigned)d->hash);
}

static inline void insn_parse_args(int argc, char **argv)
{
	insn_verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
}

/* rd = op rs1, rs2 */
#define INSN_RR(op, a, b)                                                                        \
	({                                                                                       \
		uint32_t _r;                                                                     \
		__asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"(a), "r"(b));                  \
		_r;                                                                              \
	})

/* rd = op rs1, imm */
#define INSN_RI(op, a, imm)                                                                      \
	({                                                                                       \
		uint32_t _r;                                                                     \
		__asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"(a), "i"(imm));                \
		_r;                                                                              \
	})

/* Every operand pair through an R-type instruction. */
#define INSN_ALL_RR(op)                                                                          \
	do {                                                                                     \
		struct insn_digest _d;                                                           \
		insn_begin(&_d, op);                                                             \
		for (int _i = 0; _i < INSN_NVALS; _i++) {                                        \
			for (int _j = 0; _j < INSN_NVALS; _j++) {                                \
				uint32_t _a = insn_vals[_i], _b = insn_vals[_j];                 \
				insn_record(&_d, _a, _b, INSN_RR(op, _a, _b));                   \
			}                                                                        \
		}                                                                                \
		insn_end(&_d);                                                                   \
	} while (0)

#define INSN_CHECK(got, want, what)                                                              \
	RT_CHECK((got) == (want), "%s = 0x%08x, expected 0x%08x", what, (unsigned)(got),          \
		 (unsigned)(want))

#endif
