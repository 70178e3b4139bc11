/*
 * RV32I control transfer: the six conditional branches (taken and not taken) over every
 * operand pair, forward and backward branches, jal's link and jalr's link, offset and cleared
 * low bit, including jalr with rd = rs1 (the target uses the old value).
 */
#include "insn.h"

/* 1 if `op a, b` branches forward, else 0. */
#define BRANCH(op, a, b)                                                                         \
	({                                                                                       \
		uint32_t _t;                                                                     \
		__asm__ volatile(op " %1, %2, 1f\n\t"                                            \
				 "li %0, 0\n\t"                                                  \
				 "j 2f\n"                                                        \
				 "1:\n\t"                                                        \
				 "li %0, 1\n"                                                    \
				 "2:"                                                            \
				 : "=&r"(_t)                                                     \
				 : "r"(a), "r"(b));                                              \
		_t;                                                                              \
	})

#define ALL_BRANCH(op)                                                                           \
	do {                                                                                     \
		struct insn_digest _d;                                                           \
		insn_begin(&_d, op);                                                             \
		for (int _i = 0; _i < INSN_NVALS; _i++) {                                        \
			for (int _j = 0; _j < INSN_NVALS; _j++) {                                \
				uint32_t _a = insn_vals[_i], _b = insn_vals[_j];                 \
				insn_record(&_d, _a, _b, BRANCH(op, _a, _b));                    \
			}                                                                        \
		}                                                                                \
		insn_end(&_d);                                                                   \
	} while (0)

static void spot_checks(void)
{
	volatile uint32_t m1 = 0xffffffff, zero = 0, one = 1, min = 0x80000000, max = 0x7fffffff;
	INSN_CHECK(BRANCH("beq", one, one), 1u, "beq 1, 1 taken");
	INSN_CHECK(BRANCH("beq", one, zero), 0u, "beq 1, 0 taken");
	INSN_CHECK(BRANCH("bne", one, zero), 1u, "bne 1, 0 taken");
	INSN_CHECK(BRANCH("blt", m1, zero), 1u, "blt -1, 0 taken");
	INSN_CHECK(BRANCH("blt", min, max), 1u, "blt INT_MIN, INT_MAX taken");
	INSN_CHECK(BRANCH("bltu", m1, zero), 0u, "bltu 0xffffffff, 0 taken");
	INSN_CHECK(BRANCH("bge", zero, m1), 1u, "bge 0, -1 taken");
	INSN_CHECK(BRANCH("bge", one, one), 1u, "bge 1, 1 (equal) taken");
	INSN_CHECK(BRANCH("bgeu", zero, m1), 0u, "bgeu 0, 0xffffffff taken");
	INSN_CHECK(BRANCH("bgeu", m1, m1), 1u, "bgeu equal taken");

	/* A backward branch: a countdown loop runs exactly n times. */
	uint32_t n = 100, count;
	__asm__ volatile("li %0, 0\n"
			 "1:\n\t"
			 "addi %0, %0, 1\n\t"
			 "addi %1, %1, -1\n\t"
			 "bnez %1, 1b"
			 : "=&r"(count), "+r"(n));
	INSN_CHECK(count, 100u, "iterations of a backward-branch loop");

	/* jal: the link is the address of the next instruction. */
	uint32_t link, abs;
	__asm__ volatile("jal %0, 1f\n"
			 "1:\n\t"
			 "lui %1, %%hi(1b)\n\t"
			 "addi %1, %1, %%lo(1b)"
			 : "=&r"(link), "=&r"(abs));
	INSN_CHECK(link, abs, "jal link (pc + 4)");

	/* jal over an instruction that must not run. */
	uint32_t skipped;
	__asm__ volatile("li %0, 1\n\t"
			 "jal x0, 1f\n\t"
			 "li %0, 2\n"
			 "1:"
			 : "=&r"(skipped));
	INSN_CHECK(skipped, 1u, "jal x0 skips the next instruction");

	/*
	 * jalr: target = (rs1 + imm) & ~1. Jump to label 2 through a base 4 bytes short of it
	 * with bit 0 set, and imm 4: the low bit is cleared, the link is the next instruction.
	 */
	uint32_t base, after, hit;
	__asm__ volatile("lui %0, %%hi(2f - 3)\n\t"
			 "addi %0, %0, %%lo(2f - 3)\n\t"
			 "li %2, 0\n\t"
			 "jalr %1, 4(%0)\n"
			 "1:\n\t"
			 "li %2, 99\n"
			 "2:\n\t"
			 "addi %2, %2, 1\n\t"
			 "lui %3, %%hi(1b)\n\t"
			 "addi %3, %3, %%lo(1b)"
			 : "=&r"(base), "=&r"(link), "=&r"(hit), "=&r"(after));
	(void)base;
	INSN_CHECK(hit, 1u, "jalr landed on the target with bit 0 cleared");
	INSN_CHECK(link, after, "jalr link (pc + 4)");

	/* jalr rd == rs1: the target comes from the old register value. */
	uint32_t r, out;
	__asm__ volatile("lui %0, %%hi(3f)\n\t"
			 "addi %0, %0, %%lo(3f)\n\t"
			 "li %1, 0\n\t"
			 "jalr %0, 0(%0)\n\t"
			 "li %1, 99\n"
			 "3:\n\t"
			 "addi %1, %1, 1"
			 : "=&r"(r), "=&r"(out));
	INSN_CHECK(out, 1u, "jalr rd == rs1 jumps to the old rs1");
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	insn_parse_args(argc, argv);
	ALL_BRANCH("beq");
	ALL_BRANCH("bne");
	ALL_BRANCH("blt");
	ALL_BRANCH("bge");
	ALL_BRANCH("bltu");
	ALL_BRANCH("bgeu");
	spot_checks();
	return rt_report("branch");
}
