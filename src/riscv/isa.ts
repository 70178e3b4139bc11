/**
 * RV32IMA encoding facts (The RISC-V Instruction Set Manual, Volume I, "RV32/64G Instruction
 * Set Listings"): major opcodes, funct3/funct5/funct7 values, the user-level counter CSRs and
 * the integer register ABI names. Pure constants and field extractors; any thread.
 *
 *   31        25 24   20 19   15 14  12 11        7 6      0
 *  +------------+-------+-------+------+-----------+--------+
 *  |   funct7   |  rs2  |  rs1  |funct3|    rd     | opcode |  R-type
 *  |      imm[11:0]     |  rs1  |funct3|    rd     | opcode |  I-type
 *  | imm[11:5]  |  rs2  |  rs1  |funct3| imm[4:0]  | opcode |  S-type
 *  |imm[12|10:5]|  rs2  |  rs1  |funct3|imm[4:1|11]| opcode |  B-type
 *  |           imm[31:12]              |    rd     | opcode |  U-type
 *  |      imm[20|10:1|11|19:12]        |    rd     | opcode |  J-type
 *  +------------+-------+-------+------+-----------+--------+
 *
 * An AMO's funct7 is funct5 (bits 31..27), aq (26) and rl (25).
 */

export const OPC_LOAD = 0x03;
export const OPC_MISC_MEM = 0x0f;
export const OPC_OP_IMM = 0x13;
export const OPC_AUIPC = 0x17;
export const OPC_STORE = 0x23;
export const OPC_AMO = 0x2f;
export const OPC_OP = 0x33;
export const OPC_LUI = 0x37;
export const OPC_BRANCH = 0x63;
export const OPC_JALR = 0x67;
export const OPC_JAL = 0x6f;
export const OPC_SYSTEM = 0x73;

/** funct7 of the base R-type ops, of SUB/SRA/SRAI, and of the M extension. */
export const FUNCT7_BASE = 0x00;
export const FUNCT7_ALT = 0x20;
export const FUNCT7_MULDIV = 0x01;

/** AMO funct5 values (bits 31..27), all with funct3 = 010 (.W). */
export const AMO_ADD = 0x00;
export const AMO_SWAP = 0x01;
export const AMO_LR = 0x02;
export const AMO_SC = 0x03;
export const AMO_XOR = 0x04;
export const AMO_OR = 0x08;
export const AMO_AND = 0x0c;
export const AMO_MIN = 0x10;
export const AMO_MAX = 0x14;
export const AMO_MINU = 0x18;
export const AMO_MAXU = 0x1c;
/** The only AMO width RV32A has: funct3 010 (.W). */
export const AMO_WIDTH_W = 2;

/** SYSTEM funct3 values: 000 is ECALL/EBREAK (and privileged ops), the rest are Zicsr. */
export const SYSTEM_PRIV = 0;
export const CSRRW = 1;
export const CSRRS = 2;
export const CSRRC = 3;
export const CSRRWI = 5;
export const CSRRSI = 6;
export const CSRRCI = 7;
/** The two SYSTEM words user mode may execute besides the CSR ops. */
export const ECALL_WORD = 0x00000073;
export const EBREAK_WORD = 0x00100073;

/** MISC-MEM funct3: FENCE and FENCE.I (Zifencei). */
export const MISC_FENCE = 0;
export const MISC_FENCE_I = 1;

/** The unprivileged counter CSRs (Zicntr), read-only from user mode; the H forms are bits 63..32. */
export const CSR_CYCLE = 0xc00;
export const CSR_TIME = 0xc01;
export const CSR_INSTRET = 0xc02;
export const CSR_CYCLEH = 0xc80;
export const CSR_TIMEH = 0xc81;
export const CSR_INSTRETH = 0xc82;

/** ABI names of x0..x31, for disassembly and fault reports. */
export const REG_NAMES: readonly string[] = Object.freeze([
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
]);

/** Argument and result registers of the Linux riscv32 system-call ABI (a0..a5, a7). */
export const REG_A0 = 10;
export const REG_A7 = 17;
export const REG_SP = 2;
export const REG_RA = 1;

export const opcodeOf = (w: number): number => w & 0x7f;
export const rdOf = (w: number): number => (w >>> 7) & 31;
export const funct3Of = (w: number): number => (w >>> 12) & 7;
export const rs1Of = (w: number): number => (w >>> 15) & 31;
export const rs2Of = (w: number): number => (w >>> 20) & 31;
export const funct7Of = (w: number): number => w >>> 25;

/** I-type immediate, sign-extended. */
export const immI = (w: number): number => w >> 20;
/** S-type immediate, sign-extended. */
export const immS = (w: number): number => ((w >> 25) << 5) | ((w >>> 7) & 31);
/** B-type immediate (a byte offset, always even), sign-extended. */
export const immB = (w: number): number =>
  ((w >> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 0x3f) << 5) | (((w >>> 8) & 0xf) << 1);
/** U-type immediate: bits 31..12 in place. */
export const immU = (w: number): number => w & 0xfffff000;
/** J-type immediate (a byte offset, always even), sign-extended. */
export const immJ = (w: number): number =>
  ((w >> 31) << 20) | (((w >>> 12) & 0xff) << 12) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 0x3ff) << 1);
