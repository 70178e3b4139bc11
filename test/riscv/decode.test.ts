/**
 * Unit tests for src/riscv/decode.ts and disasm.ts: every RV32IMA encoding decodes to its op,
 * everything user mode may not execute decodes as Illegal, and the disassembler names what the
 * decoder saw. vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import { Asm, X, encAmo, encI, encR } from '../../src/riscv/asm.js';
import { DECODED_STRIDE, Op, X_SINK, decodeInto, opOf } from '../../src/riscv/decode.js';
import { disassemble } from '../../src/riscv/disasm.js';
import { OPC_MISC_MEM, OPC_OP, OPC_OP_IMM, OPC_SYSTEM } from '../../src/riscv/isa.js';

function decode(word: number): { op: Op; rd: number; rs1: number; rs2: number; imm: number; extra: number } {
  const slot = new Int32Array(DECODED_STRIDE);
  decodeInto(word, slot, 0);
  const w = slot[0]!;
  return { op: opOf(w), rd: (w >>> 8) & 63, rs1: (w >>> 16) & 31, rs2: w >>> 24, imm: slot[1]!, extra: slot[3]! };
}

const one = (f: (a: Asm) => void): number => {
  const a = new Asm(0);
  f(a);
  return a.assemble()[0]!;
};

describe('riscv decoder', () => {
  it('decodes every RV32I, M and A instruction the assembler makes to its own op', () => {
    const cases: [Op, (a: Asm) => void][] = [
      [Op.Lui, (a) => a.lui(X.a0, 0x12345)], [Op.Auipc, (a) => a.auipc(X.a0, 1)],
      [Op.Jal, (a) => a.jal(X.ra, 8)], [Op.Jalr, (a) => a.jalr(X.ra, X.a0, 4)],
      [Op.Beq, (a) => a.beq(X.a0, X.a1, 8)], [Op.Bne, (a) => a.bne(X.a0, X.a1, 8)],
      [Op.Blt, (a) => a.blt(X.a0, X.a1, 8)], [Op.Bge, (a) => a.bge(X.a0, X.a1, 8)],
      [Op.Bltu, (a) => a.bltu(X.a0, X.a1, 8)], [Op.Bgeu, (a) => a.bgeu(X.a0, X.a1, 8)],
      [Op.Lb, (a) => a.lb(X.a0, 1, X.a1)], [Op.Lh, (a) => a.lh(X.a0, 2, X.a1)], [Op.Lw, (a) => a.lw(X.a0, 4, X.a1)],
      [Op.Lbu, (a) => a.lbu(X.a0, 1, X.a1)], [Op.Lhu, (a) => a.lhu(X.a0, 2, X.a1)],
      [Op.Sb, (a) => a.sb(X.a0, 1, X.a1)], [Op.Sh, (a) => a.sh(X.a0, 2, X.a1)], [Op.Sw, (a) => a.sw(X.a0, 4, X.a1)],
      [Op.Addi, (a) => a.addi(X.a0, X.a1, -1)], [Op.Slti, (a) => a.slti(X.a0, X.a1, 3)],
      [Op.Sltiu, (a) => a.sltiu(X.a0, X.a1, 3)], [Op.Xori, (a) => a.xori(X.a0, X.a1, 3)],
      [Op.Ori, (a) => a.ori(X.a0, X.a1, 3)], [Op.Andi, (a) => a.andi(X.a0, X.a1, 3)],
      [Op.Slli, (a) => a.slli(X.a0, X.a1, 31)], [Op.Srli, (a) => a.srli(X.a0, X.a1, 31)], [Op.Srai, (a) => a.srai(X.a0, X.a1, 31)],
      [Op.Add, (a) => a.add(X.a0, X.a1, X.a2)], [Op.Sub, (a) => a.sub(X.a0, X.a1, X.a2)],
      [Op.Sll, (a) => a.sll(X.a0, X.a1, X.a2)], [Op.Slt, (a) => a.slt(X.a0, X.a1, X.a2)],
      [Op.Sltu, (a) => a.sltu(X.a0, X.a1, X.a2)], [Op.Xor, (a) => a.xor(X.a0, X.a1, X.a2)],
      [Op.Srl, (a) => a.srl(X.a0, X.a1, X.a2)], [Op.Sra, (a) => a.sra(X.a0, X.a1, X.a2)],
      [Op.Or, (a) => a.or(X.a0, X.a1, X.a2)], [Op.And, (a) => a.and(X.a0, X.a1, X.a2)],
      [Op.Mul, (a) => a.mul(X.a0, X.a1, X.a2)], [Op.Mulh, (a) => a.mulh(X.a0, X.a1, X.a2)],
      [Op.Mulhsu, (a) => a.mulhsu(X.a0, X.a1, X.a2)], [Op.Mulhu, (a) => a.mulhu(X.a0, X.a1, X.a2)],
      [Op.Div, (a) => a.div(X.a0, X.a1, X.a2)], [Op.Divu, (a) => a.divu(X.a0, X.a1, X.a2)],
      [Op.Rem, (a) => a.rem(X.a0, X.a1, X.a2)], [Op.Remu, (a) => a.remu(X.a0, X.a1, X.a2)],
      [Op.LrW, (a) => a.lrW(X.a0, X.a1, true, false)], [Op.ScW, (a) => a.scW(X.a0, X.a2, X.a1, false, true)],
      [Op.AmoSwap, (a) => a.amoswapW(X.a0, X.a2, X.a1)], [Op.AmoAdd, (a) => a.amoaddW(X.a0, X.a2, X.a1)],
      [Op.AmoXor, (a) => a.amoxorW(X.a0, X.a2, X.a1)], [Op.AmoAnd, (a) => a.amoandW(X.a0, X.a2, X.a1)],
      [Op.AmoOr, (a) => a.amoorW(X.a0, X.a2, X.a1)], [Op.AmoMin, (a) => a.amominW(X.a0, X.a2, X.a1)],
      [Op.AmoMax, (a) => a.amomaxW(X.a0, X.a2, X.a1)], [Op.AmoMinu, (a) => a.amominuW(X.a0, X.a2, X.a1)],
      [Op.AmoMaxu, (a) => a.amomaxuW(X.a0, X.a2, X.a1)],
      [Op.Fence, (a) => a.fence()], [Op.FenceI, (a) => a.fenceI()],
      [Op.Ecall, (a) => a.ecall()], [Op.Ebreak, (a) => a.ebreak()],
    ];
    for (const [op, emit] of cases) expect(decode(one(emit)).op, disassemble(one(emit))).toBe(op);
    // Together with the ops no instruction decodes to by itself, the list covers every op.
    const covered = new Set<number>([...cases.map(([op]) => op), Op.Undecoded, Op.Illegal, Op.BranchMisaligned,
      Op.JalMisaligned, Op.CsrRead, Op.PageEnd]);
    for (let op = 0; op <= Op.PageEnd; op++) expect(covered.has(op), `op ${op}`).toBe(true);
  });

  it('extracts sign-extended immediates and register fields', () => {
    expect(decode(one((a) => a.addi(X.a0, X.a1, -2048)))).toMatchObject({ rd: X.a0, rs1: X.a1, imm: -2048 });
    expect(decode(one((a) => a.sw(X.a2, -4, X.sp)))).toMatchObject({ rs1: X.sp, rs2: X.a2, imm: -4 });
    expect(decode(one((a) => a.beq(X.a0, X.a1, -4096)))).toMatchObject({ imm: -4096, extra: -1024 });
    expect(decode(one((a) => a.jal(X.ra, 0xffffe)))).toMatchObject({ imm: 0xffffe, extra: 0xffffe >> 2 });
    expect(decode(one((a) => a.jal(X.ra, -0x100000)))).toMatchObject({ imm: -0x100000 });
    expect(decode(one((a) => a.lui(X.a0, 0xfffff)))).toMatchObject({ imm: 0xfffff000 | 0 });
    expect(decode(one((a) => a.srai(X.a0, X.a1, 17)))).toMatchObject({ op: Op.Srai, imm: 17 });
  });

  it('gives an instruction whose destination is x0 the sink register, never x0 itself', () => {
    expect(decode(one((a) => a.addi(X.zero, X.a1, 5))).rd).toBe(X_SINK);
    expect(decode(one((a) => a.lw(X.zero, 0, X.a1))).rd).toBe(X_SINK);
    expect(decode(one((a) => a.addi(X.a0, X.zero, 5))).rs1).toBe(0);
  });

  it('decodes counter reads (CSRRS/CSRRC with x0, CSRRSI/CSRRCI with 0) and nothing that writes a counter', () => {
    for (const csr of [0xc00, 0xc01, 0xc02, 0xc80, 0xc81, 0xc82]) {
      expect(decode(one((a) => a.csrrs(X.a0, csr, X.zero)))).toMatchObject({ op: Op.CsrRead, imm: csr });
      expect(decode(one((a) => a.csrrc(X.a0, csr, X.zero))).op).toBe(Op.CsrRead);
      expect(decode(one((a) => a.csrrsi(X.a0, csr, 0))).op).toBe(Op.CsrRead);
      expect(decode(one((a) => a.csrrci(X.a0, csr, 0))).op).toBe(Op.CsrRead);
      expect(decode(one((a) => a.csrrs(X.a0, csr, X.a1))).op).toBe(Op.Illegal);
      expect(decode(one((a) => a.csrrw(X.zero, csr, X.zero))).op).toBe(Op.Illegal);
      expect(decode(one((a) => a.csrrwi(X.a0, csr, 0))).op).toBe(Op.Illegal);
      expect(decode(one((a) => a.csrrsi(X.a0, csr, 1))).op).toBe(Op.Illegal);
    }
    // fflags (no F extension), hpmcounter3 (not enabled for user mode), sstatus (privileged).
    for (const csr of [0x001, 0xc03, 0x100]) expect(decode(one((a) => a.csrrs(X.a0, csr, X.zero))).op).toBe(Op.Illegal);
  });

  it('decodes FENCE with any fm/rs1/rd and FENCE.I with any imm (reserved fields are ignored)', () => {
    expect(decode(one((a) => a.fence(0b1111, 0b1111))).op).toBe(Op.Fence);
    expect(decode(0x8330000f).op).toBe(Op.Fence); // fence.tso
    expect(decode(0x0100000f).op).toBe(Op.Fence); // pause
    expect(decode(encI(0x123, 5, 1, 7, OPC_MISC_MEM)).op).toBe(Op.FenceI);
  });

  it('marks branches and jumps to misaligned targets, keeping the branch condition', () => {
    const b = decode(one((a) => a.bltu(X.a0, X.a1, 6)));
    expect(b).toMatchObject({ op: Op.BranchMisaligned, imm: 6, extra: 6 });
    expect(decode(one((a) => a.jal(X.ra, 10))).op).toBe(Op.JalMisaligned);
  });

  it('decodes as illegal what RV32IMA user mode may not execute', () => {
    const illegal = [
      0x00000000, // the all-zero word is defined illegal
      0xffffffff,
      0x00004501, // a compressed (RVC) encoding: no C extension
      encI(0, 1, 3, 1, 0x03), // ld: RV64 only
      encI(0, 1, 6, 1, 0x03), // lwu: RV64 only
      encI(0, 1, 3, 1, 0x23), // sd
      encR(0x01, 0, 1, 1, 1, OPC_OP_IMM) | (1 << 25), // slli with shamt[5]: RV64 only
      encR(0x40, 0, 1, 5, 1, OPC_OP_IMM), // a reserved srli/srai funct7
      encR(0x20, 2, 1, 1, 1, OPC_OP), // sll with funct7 0100000: reserved
      encR(0x02, 2, 1, 0, 1, OPC_OP), // unknown funct7
      encI(0, 1, 1, 1, 0x67), // jalr with funct3 != 0
      (0x63 | (2 << 12)) >>> 0, // branch funct3 010
      encAmo(0x02, 1, 3, 2), // lr.w with rs2 != 0
      encAmo(0x05, 1, 3, 2), // unknown AMO funct5
      encR(0, 3, 2, 3, 1, 0x2f), // AMO with funct3 011 (.D)
      0x10200073, // sret
      0x30200073, // mret
      0x10500073, // wfi
      0x12000073, // sfence.vma
      encI(0, 0, 4, 0, OPC_SYSTEM), // SYSTEM funct3 100
      encI(0, 0, 2, 0, OPC_MISC_MEM), // cbo.*: not in RV32IMA
      0x00000053, // fadd.s: no F extension
    ];
    for (const w of illegal) expect(decode(w).op, `0x${(w >>> 0).toString(16)}`).toBe(Op.Illegal);
  });
});

describe('riscv disassembler', () => {
  it('prints instructions as an assembler would write them', () => {
    expect(disassemble(one((a) => a.lw(X.a0, 8, X.sp)))).toBe('lw a0, 8(sp)');
    expect(disassemble(one((a) => a.sw(X.a0, -4, X.s0)))).toBe('sw a0, -4(s0)');
    expect(disassemble(one((a) => a.add(X.t0, X.t1, X.t2)))).toBe('add t0, t1, t2');
    expect(disassemble(one((a) => a.amoaddW(X.a0, X.a1, X.a2)))).toBe('amoadd.w a0, a1, (a2)');
    expect(disassemble(one((a) => a.csrrs(X.a0, 0xc01, X.zero)))).toBe('csrr a0, time');
    expect(disassemble(0)).toBe('illegal 0x0');
  });
});
