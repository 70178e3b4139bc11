/*
 * M extension: mul mulh mulhsu mulhu div divu rem remu over the operand vector (which holds 0,
 * -1 and INT_MIN, so division by zero and signed overflow are among the cases), and spot checks
 * of the results the ISA manual defines for them: x/0 = all ones, x%0 = x, INT_MIN/-1 = INT_MIN,
 * INT_MIN%-1 = 0; division rounds toward zero.
 */
#include "insn.h"

static void spot_checks(void)
{
	volatile uint32_t zero = 0, m1 = 0xffffffff, min = 0x80000000, seven = 7, two = 2;
	volatile uint32_t m7 = (uint32_t)-7, x = 0x12345678;
	INSN_CHECK(INSN_RR("div", x, zero), 0xffffffffu, "div x, 0");
	INSN_CHECK(INSN_RR("divu", x, zero), 0xffffffffu, "divu x, 0");
	INSN_CHECK(INSN_RR("rem", x, zero), 0x12345678u, "rem x, 0");
	INSN_CHECK(INSN_RR("remu", x, zero), 0x12345678u, "remu x, 0");
	INSN_CHECK(INSN_RR("div", m7, zero), 0xffffffffu, "div -7, 0");
	INSN_CHECK(INSN_RR("rem", m7, zero), (uint32_t)-7, "rem -7, 0");
	INSN_CHECK(INSN_RR("div", min, m1), 0x80000000u, "div INT_MIN, -1 (overflow)");
	INSN_CHECK(INSN_RR("rem", min, m1), 0u, "rem INT_MIN, -1 (overflow)");
	INSN_CHECK(INSN_RR("div", m7, two), (uint32_t)-3, "div -7, 2 (toward zero)");
	INSN_CHECK(INSN_RR("rem", m7, two), (uint32_t)-1, "rem -7, 2 (sign of the dividend)");
	INSN_CHECK(INSN_RR("div", seven, (uint32_t)-2), (uint32_t)-3, "div 7, -2");
	INSN_CHECK(INSN_RR("rem", seven, (uint32_t)-2), 1u, "rem 7, -2");
	INSN_CHECK(INSN_RR("divu", m7, two), 0x7ffffffcu, "divu 0xfffffff9, 2");
	INSN_CHECK(INSN_RR("remu", m7, two), 1u, "remu 0xfffffff9, 2");
	INSN_CHECK(INSN_RR("mul", (uint32_t)0x12345678, (uint32_t)0x9abcdef0), 0x242d2080u, "mul (low word)");
	INSN_CHECK(INSN_RR("mulhu", (uint32_t)0x12345678, (uint32_t)0x9abcdef0), 0x0b00ea4eu, "mulhu");
	INSN_CHECK(INSN_RR("mulh", (uint32_t)0x12345678, (uint32_t)0x9abcdef0), 0xf8cc93d6u, "mulh");
	INSN_CHECK(INSN_RR("mulhsu", (uint32_t)0x9abcdef0, (uint32_t)0x12345678), 0xf8cc93d6u, "mulhsu (rs1 signed)");
	INSN_CHECK(INSN_RR("mulhsu", (uint32_t)0x12345678, (uint32_t)0x9abcdef0), 0x0b00ea4eu, "mulhsu (rs2 unsigned)");
	INSN_CHECK(INSN_RR("mulh", min, min), 0x40000000u, "mulh INT_MIN, INT_MIN");
	INSN_CHECK(INSN_RR("mulhu", m1, m1), 0xfffffffeu, "mulhu 0xffffffff, 0xffffffff");
	INSN_CHECK(INSN_RR("mulh", m1, m1), 0u, "mulh -1, -1");
	INSN_CHECK(INSN_RR("mulhsu", m1, m1), 0xffffffffu, "mulhsu -1, 0xffffffff");
	INSN_CHECK(INSN_RR("mul", m1, m1), 1u, "mul -1, -1");
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	insn_parse_args(argc, argv);
	INSN_ALL_RR("mul");
	INSN_ALL_RR("mulh");
	INSN_ALL_RR("mulhsu");
	INSN_ALL_RR("mulhu");
	INSN_ALL_RR("div");
	INSN_ALL_RR("divu");
	INSN_ALL_RR("rem");
	INSN_ALL_RR("remu");
	spot_checks();
	return rt_report("muldiv");
}
