/*
 * RV32I loads and stores of each width: lb/lbu, lh/lhu, lw at every naturally aligned offset of
 * a patterned buffer (sign extension, little-endian byte order), the 12-bit offset at both
 * ends, and sb/sh/sw writing only their own bytes (the low bits of the register).
 */
#include "insn.h"

/* Bytes with the sign bit set and clear, in .data so the loader must copy them in. */
static uint8_t pattern[32] __attribute__((aligned(16))) = {
	0x81, 0x7f, 0x00, 0xff, 0x80, 0x01, 0xfe, 0x7e, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
	0xf0, 0x0f, 0xaa, 0x55, 0xc3, 0x3c, 0x69, 0x96, 0x00, 0x80, 0x00, 0x80, 0xff, 0x7f, 0xff, 0x7f,
};
/* In .bss: must read as zero. */
static uint32_t zeroed[64] __attribute__((aligned(16)));

#define LOAD(op, p)                                                                              \
	({                                                                                       \
		uint32_t _r;                                                                     \
		__asm__ volatile(op " %0, 0(%1)" : "=r"(_r) : "r"(p) : "memory");               \
		_r;                                                                              \
	})

#define LOAD_OFF(op, p, off)                                                                     \
	({                                                                                       \
		uint32_t _r;                                                                     \
		__asm__ volatile(op " %0, %2(%1)" : "=r"(_r) : "r"(p), "i"(off) : "memory");    \
		_r;                                                                              \
	})

#define STORE(op, p, v) __asm__ volatile(op " %1, 0(%0)" : : "r"(p), "r"(v) : "memory")

static void all_loads(const char *op, int width)
{
	struct insn_digest d;
	insn_begin(&d, op);
	for (int off = 0; off < (int)sizeof(pattern); off += width) {
		const uint8_t *p = pattern + off;
		uint32_t r;
		if (op[1] == 'b')
			r = op[2] == 'u' ? LOAD("lbu", p) : LOAD("lb", p);
		else if (op[1] == 'h')
			r = op[2] == 'u' ? LOAD("lhu", p) : LOAD("lh", p);
		else
			r = LOAD("lw", p);
		insn_record(&d, (uint32_t)off, 0, r);
	}
	insn_end(&d);
}

static void spot_checks(void)
{
	const uint8_t *p = pattern;
	INSN_CHECK(LOAD("lb", p + 0), 0xffffff81u, "lb 0x81 (sign-extended)");
	INSN_CHECK(LOAD("lbu", p + 0), 0x81u, "lbu 0x81");
	INSN_CHECK(LOAD("lb", p + 1), 0x7fu, "lb 0x7f");
	INSN_CHECK(LOAD("lh", p + 0), 0x00007f81u, "lh 0x7f81");
	INSN_CHECK(LOAD("lh", p + 2), 0xffffff00u, "lh 0xff00 (sign-extended)");
	INSN_CHECK(LOAD("lhu", p + 2), 0x0000ff00u, "lhu 0xff00");
	INSN_CHECK(LOAD("lh", p + 26), 0xffff8000u, "lh 0x8000");
	INSN_CHECK(LOAD("lw", p + 8), 0x78563412u, "lw (little-endian)");
	INSN_CHECK(LOAD("lw", p + 0), 0xff007f81u, "lw 0xff007f81");

	/* The 12-bit offset at both ends: the effective address is base + sign-extended imm. */
	uintptr_t a = (uintptr_t)p;
	INSN_CHECK(LOAD_OFF("lbu", a + 5 - 2047, 2047), 0x01u, "lbu 2047(base)");
	INSN_CHECK(LOAD_OFF("lbu", a + 5 + 2048, -2048), 0x01u, "lbu -2048(base)");
	INSN_CHECK(LOAD_OFF("lw", a + 12 - 2044, 2044), 0xf0debc9au, "lw 2044(base)");
	INSN_CHECK(LOAD_OFF("lw", a + 12 + 2048, -2048), 0xf0debc9au, "lw -2048(base)");

	/* Stores write only their width, from the register's low bits. */
	volatile uint32_t word[2] __attribute__((aligned(8)));
	word[0] = 0xffffffff;
	word[1] = 0xffffffff;
	uint8_t *w = (uint8_t *)word;
	STORE("sb", w + 1, (uint32_t)0x12345678);
	INSN_CHECK(word[0], 0xffff78ffu, "sb at offset 1");
	STORE("sh", w + 2, (uint32_t)0xabcd1234);
	INSN_CHECK(word[0], 0x123478ffu, "sh at offset 2");
	STORE("sb", w + 0, (uint32_t)0x00);
	INSN_CHECK(word[0], 0x12347800u, "sb at offset 0");
	STORE("sw", w + 4, (uint32_t)0x0badf00d);
	INSN_CHECK(word[1], 0x0badf00du, "sw");
	INSN_CHECK(word[0], 0x12347800u, "sw left the neighbouring word alone");
	INSN_CHECK(LOAD("lb", w + 2), 0x34u, "lb after sh");
	INSN_CHECK(LOAD("lh", w + 6), 0x00000badu, "lh of the stored word's high half");

	/* A load into x0 is discarded (but still performed). */
	uint32_t r;
	__asm__ volatile("lw x0, 0(%1)\n\tmv %0, x0" : "=r"(r) : "r"(p) : "memory");
	INSN_CHECK(r, 0u, "lw into x0");

	uint32_t any = 0;
	for (int i = 0; i < 64; i++)
		any |= LOAD("lw", &zeroed[i]);
	INSN_CHECK(any, 0u, ".bss reads as zero");
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	insn_parse_args(argc, argv);
	all_loads("lb", 1);
	all_loads("lbu", 1);
	all_loads("lh", 2);
	all_loads("lhu", 2);
	all_loads("lw", 4);
	spot_checks();
	return rt_report("loadstore");
}
