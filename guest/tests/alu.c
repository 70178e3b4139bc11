/*
 * RV32I integer computation: register-register (add sub sll slt sltu xor srl sra or and),
 * register-immediate (addi slti sltiu xori ori andi slli srli srai) with immediates at the
 * ends of the 12-bit range, lui, auipc, and x0 as source and destination.
 */
#include "insn.h"

/* Every operand through an I-type instruction, for each immediate in the list. */
#define ALL_RI(op, ...)                                                                          \
	do {                                                                                     \
		struct insn_digest _d;                                                           \
		insn_begin(&_d, op);                                                             \
		for (int _i = 0; _i < INSN_NVALS; _i++) {                                        \
			uint32_t _a = insn_vals[_i];                                             \
			__VA_ARGS__                                                              \
		}                                                                                \
		insn_end(&_d);                                                                   \
	} while (0)
#define IMM(op, imm) insn_record(&_d, _a, (uint32_t)(imm), INSN_RI(op, _a, imm));
#define IMM12(op)                                                                                \
	IMM(op, -2048) IMM(op, -1) IMM(op, 0) IMM(op, 1) IMM(op, 7) IMM(op, 0x555) IMM(op, 2047)
#define SHAMT(op) IMM(op, 0) IMM(op, 1) IMM(op, 4) IMM(op, 16) IMM(op, 31)

static void spot_checks(void)
{
	volatile uint32_t one = 1, max = 0x7fffffff, min = 0x80000000, m1 = 0xffffffff, zero = 0;
	INSN_CHECK(INSN_RR("add", max, one), 0x80000000u, "add 0x7fffffff, 1");
	INSN_CHECK(INSN_RR("sub", zero, one), 0xffffffffu, "sub 0, 1");
	INSN_CHECK(INSN_RR("sll", one, (uint32_t)31), 0x80000000u, "sll 1, 31");
	INSN_CHECK(INSN_RR("sll", one, (uint32_t)33), 2u, "sll 1, 33 (shift amount masked to 5 bits)");
	INSN_CHECK(INSN_RR("srl", min, (uint32_t)31), 1u, "srl 0x80000000, 31");
	INSN_CHECK(INSN_RR("sra", min, (uint32_t)31), 0xffffffffu, "sra 0x80000000, 31");
	INSN_CHECK(INSN_RR("sra", min, (uint32_t)33), 0xc0000000u, "sra 0x80000000, 33");
	INSN_CHECK(INSN_RR("slt", m1, one), 1u, "slt -1, 1");
	INSN_CHECK(INSN_RR("sltu", m1, one), 0u, "sltu 0xffffffff, 1");
	INSN_CHECK(INSN_RR("slt", min, max), 1u, "slt INT_MIN, INT_MAX");
	INSN_CHECK(INSN_RR("sltu", min, max), 0u, "sltu 0x80000000, 0x7fffffff");
	INSN_CHECK(INSN_RR("xor", (uint32_t)0xff00ff00, (uint32_t)0x0ff00ff0), 0xf0f0f0f0u, "xor");
	INSN_CHECK(INSN_RR("or", (uint32_t)0xff00ff00, (uint32_t)0x0ff00ff0), 0xfff0fff0u, "or");
	INSN_CHECK(INSN_RR("and", (uint32_t)0xff00ff00, (uint32_t)0x0ff00ff0), 0x0f000f00u, "and");
	INSN_CHECK(INSN_RI("addi", zero, -2048), 0xfffff800u, "addi 0, -2048 (sign-extended)");
	INSN_CHECK(INSN_RI("addi", max, 1), 0x80000000u, "addi 0x7fffffff, 1");
	INSN_CHECK(INSN_RI("slti", m1, 0), 1u, "slti -1, 0");
	INSN_CHECK(INSN_RI("sltiu", one, -1), 1u, "sltiu 1, -1 (immediate is 0xffffffff)");
	INSN_CHECK(INSN_RI("sltiu", m1, -1), 0u, "sltiu 0xffffffff, -1");
	INSN_CHECK(INSN_RI("xori", (uint32_t)0x12345678, -1), 0xedcba987u, "xori x, -1 (not)");
	INSN_CHECK(INSN_RI("andi", m1, 0x7ff), 0x7ffu, "andi -1, 0x7ff");
	INSN_CHECK(INSN_RI("ori", zero, -2048), 0xfffff800u, "ori 0, -2048");
	INSN_CHECK(INSN_RI("srai", min, 4), 0xf8000000u, "srai 0x80000000, 4");
	INSN_CHECK(INSN_RI("srli", min, 4), 0x08000000u, "srli 0x80000000, 4");
	INSN_CHECK(INSN_RI("slli", (uint32_t)0x12345678, 4), 0x23456780u, "slli 0x12345678, 4");

	uint32_t r;
	__asm__ volatile("lui %0, 0xfffff" : "=r"(r));
	INSN_CHECK(r, 0xfffff000u, "lui 0xfffff");
	__asm__ volatile("lui %0, 0x80000" : "=r"(r));
	INSN_CHECK(r, 0x80000000u, "lui 0x80000");

	/* auipc against the label's absolute address (lui/addi, medlow). */
	uint32_t pc0, pc1, abs;
	__asm__ volatile("1: auipc %0, 0\n\t"
			 "auipc %1, 1\n\t"
			 "lui %2, %%hi(1b)\n\t"
			 "addi %2, %2, %%lo(1b)"
			 : "=&r"(pc0), "=&r"(pc1), "=&r"(abs));
	INSN_CHECK(pc0, abs, "auipc 0 (the instruction's own address)");
	INSN_CHECK(pc1, abs + 4 + 0x1000, "auipc 1 at the next instruction");

	/* x0: writes are discarded, reads are zero. */
	__asm__ volatile("li t0, 5\n\t"
			 "add x0, t0, t0\n\t"
			 "addi x0, x0, 7\n\t"
			 "add %0, x0, x0"
			 : "=r"(r)
			 :
			 : "t0");
	INSN_CHECK(r, 0u, "x0 after writes");
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	insn_parse_args(argc, argv);
	INSN_ALL_RR("add");
	INSN_ALL_RR("sub");
	INSN_ALL_RR("sll");
	INSN_ALL_RR("slt");
	INSN_ALL_RR("sltu");
	INSN_ALL_RR("xor");
	INSN_ALL_RR("srl");
	INSN_ALL_RR("sra");
	INSN_ALL_RR("or");
	INSN_ALL_RR("and");
	ALL_RI("addi", IMM12("addi"));
	ALL_RI("slti", IMM12("slti"));
	ALL_RI("sltiu", IMM12("sltiu"));
	ALL_RI("xori", IMM12("xori"));
	ALL_RI("ori", IMM12("ori"));
	ALL_RI("andi", IMM12("andi"));
	ALL_RI("slli", SHAMT("slli"));
	ALL_RI("srli", SHAMT("srli"));
	ALL_RI("srai", SHAMT("srai"));
	spot_checks();
	return rt_report("alu");
}
