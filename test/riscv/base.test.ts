/**
 * RV32I integer and control-flow semantics of src/riscv/core.ts, on hand-assembled programs,
 * under both engines (the interpreter, and compiled blocks from the first entry). vitest
 * thread only.
 */
import { describe, expect, it } from 'vitest';
import { X } from '../../src/riscv/asm.js';
import { StopReason } from '../../src/riscv/core.js';
import { CODE, ENGINES, RvMachine, program, runProgram } from './harness.js';

describe.each(ENGINES)('riscv RV32I ($name)', ({ hotBlock }) => {
  const machine = (): RvMachine => new RvMachine(1, hotBlock);

  it('adds, subtracts and compares with 32-bit wrap-around, signed and unsigned', () => {
    const h = runProgram(machine(), (a) => a
      .li(X.a0, 0x7fffffff).addi(X.a1, X.a0, 1) // INT_MAX + 1 wraps to INT_MIN
      .li(X.a2, -1).sub(X.a3, X.zero, X.a2) // 0 - (-1) = 1
      .slt(X.a4, X.a2, X.zero).sltu(X.a5, X.a2, X.zero) // -1 < 0 signed, not unsigned
      .slti(X.a6, X.a2, 0).sltiu(X.a7, X.zero, -1) // sltiu's immediate is sign-extended, then unsigned
      .sltiu(X.t0, X.a3, 1) // seqz
      .ecall());
    expect(h.x[X.a1]).toBe(-0x80000000);
    expect(h.x[X.a3]).toBe(1);
    expect(h.x[X.a4]).toBe(1);
    expect(h.x[X.a5]).toBe(0);
    expect(h.x[X.a6]).toBe(1);
    expect(h.x[X.a7]).toBe(1);
    expect(h.x[X.t0]).toBe(0);
  });

  it('does logic ops and shifts, using only the low five bits of a register shift count', () => {
    const h = runProgram(machine(), (a) => a
      .li(X.a0, 0xf0f0f0f0).li(X.a1, 0x0ff00ff0)
      .xor(X.a2, X.a0, X.a1).or(X.a3, X.a0, X.a1).and(X.a4, X.a0, X.a1)
      .xori(X.a5, X.a0, -1).ori(X.a6, X.zero, 0x7ff).andi(X.a7, X.a0, 0xff)
      .li(X.t0, 33).sll(X.t1, X.a6, X.t0) // shift by 33 = by 1
      .srl(X.t2, X.a0, X.t0).sra(X.t3, X.a0, X.t0)
      .srli(X.t4, X.a0, 31).srai(X.t5, X.a0, 31).slli(X.t6, X.a6, 21)
      .ecall());
    expect(h.x[X.a2]! >>> 0).toBe(0xff00ff00);
    expect(h.x[X.a3]! >>> 0).toBe(0xfff0fff0);
    expect(h.x[X.a4]! >>> 0).toBe(0x00f000f0);
    expect(h.x[X.a5]! >>> 0).toBe(0x0f0f0f0f);
    expect(h.x[X.a6]).toBe(0x7ff);
    expect(h.x[X.a7]).toBe(0xf0);
    expect(h.x[X.t1]).toBe(0xffe);
    expect(h.x[X.t2]! >>> 0).toBe(0x78787878);
    expect(h.x[X.t3]! >>> 0).toBe(0xf8787878);
    expect(h.x[X.t4]).toBe(1);
    expect(h.x[X.t5]).toBe(-1);
    expect(h.x[X.t6]! >>> 0).toBe(0xffe00000);
  });

  it('keeps x0 zero: writes to it are discarded, reads of it give 0', () => {
    const h = runProgram(machine(), (a) => a
      .addi(X.zero, X.zero, 5).lui(X.zero, 0x12345).jal(X.zero, 4)
      .add(X.a0, X.zero, X.zero).addi(X.a1, X.zero, 7)
      .ecall());
    expect(h.x[0]).toBe(0);
    expect(h.get(0)).toBe(0);
    expect(h.x[X.a0]).toBe(0);
    expect(h.x[X.a1]).toBe(7);
  });

  it('builds constants with LUI and pc-relative addresses with AUIPC', () => {
    const h = runProgram(machine(), (a) => a
      .lui(X.a0, 0x80000).li(X.a1, 0x12345678).li(X.a2, -2049).li(X.a3, 0x800)
      .auipc(X.a4, 0).auipc(X.a5, 0xfffff) // pc - 4096
      .ecall());
    expect(h.x[X.a0]! >>> 0).toBe(0x80000000);
    expect(h.x[X.a1]).toBe(0x12345678);
    expect(h.x[X.a2]).toBe(-2049);
    expect(h.x[X.a3]).toBe(0x800);
    expect(h.x[X.a4]! >>> 0).toBe(CODE + 4 * 7);
    expect(h.x[X.a5]! >>> 0).toBe(CODE + 4 * 8 - 4096);
  });

  it('takes each conditional branch exactly when its signed or unsigned condition holds', () => {
    // For (a, b) pairs, collect a bit per branch: bit k set when branch k was taken.
    const pairs: [number, number][] = [[1, 2], [2, 1], [-1, 1], [1, -1], [5, 5], [0, -0x80000000]];
    for (const [va, vb] of pairs) {
      const h = runProgram(machine(), (a) => {
        a.li(X.a0, va).li(X.a1, vb).li(X.s0, 0);
        const branches = [
          (t: string) => a.beq(X.a0, X.a1, t), (t: string) => a.bne(X.a0, X.a1, t),
          (t: string) => a.blt(X.a0, X.a1, t), (t: string) => a.bge(X.a0, X.a1, t),
          (t: string) => a.bltu(X.a0, X.a1, t), (t: string) => a.bgeu(X.a0, X.a1, t),
        ];
        branches.forEach((emit, k) => {
          emit(`taken${k}`);
          a.j(`next${k}`).label(`taken${k}`).ori(X.s0, X.s0, 1 << k).label(`next${k}`);
        });
        a.ecall();
      });
      const expected = (va === vb ? 1 : 0) | (va !== vb ? 2 : 0) | (va < vb ? 4 : 0) | (va >= vb ? 8 : 0) |
        ((va >>> 0) < (vb >>> 0) ? 16 : 0) | ((va >>> 0) >= (vb >>> 0) ? 32 : 0);
      expect(h.x[X.s0], `${va} vs ${vb}`).toBe(expected);
    }
  });

  it('runs a counted loop to the right total (a backward branch taken 1000 times)', () => {
    const h = runProgram(machine(), (a) => a
      .li(X.a0, 1000).li(X.a1, 0)
      .label('loop').add(X.a1, X.a1, X.a0).addi(X.a0, X.a0, -1).bnez(X.a0, 'loop')
      .ecall());
    expect(h.x[X.a1]).toBe(500500);
    expect(h.instret).toBe(2 + 3 * 1000); // two li, then three per iteration; the ECALL does not retire
  });

  it('links JAL and JALR to pc + 4, clears bit 0 of a JALR target, and allows rd = rs1', () => {
    const { hart, asm } = program(machine(), (a) => a
      .jal(X.ra, 'f') // 0
      .mv(X.s1, X.a0) // 4: back from f
      .la(X.t0, 'g', 1) // 8, 12: t0 = g + 1 (odd)
      .jalr(X.t0, X.t0, 0) // 16: jumps to g (bit 0 cleared), t0 = 20
      .ecall() // 20
      .label('f').li(X.a0, 42).ret()
      .label('g').mv(X.s2, X.t0).jalr(X.zero, X.t0, 0));
    const m = new RvMachine(1, hotBlock);
    m.load(asm);
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.ra]! >>> 0).toBe(CODE + 4);
    expect(hart.x[X.s1]).toBe(42);
    expect(hart.x[X.s2]! >>> 0).toBe(CODE + 20);
    expect(hart.pc).toBe(CODE + 20);
  });

  it('follows branches and jumps across pages and falls through a page end into the next page', () => {
    const m = machine();
    const { hart } = program(m, (a) => a
      .li(X.a0, 0)
      .j('far') // to the next page
      .label('back').addi(X.a0, X.a0, 100).ecall()
      .padTo(CODE + 4096 - 8)
      .label('far').addi(X.a0, X.a0, 1).addi(X.a0, X.a0, 2) // the page's last two slots
      .addi(X.a0, X.a0, 4) // first slot of the next page: reached by falling through
      .beq(X.zero, X.zero, 'back'));
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.a0]).toBe(107);
  });

  it('stops exactly at the budget and resumes where it left off', () => {
    const m = machine();
    const { hart } = program(m, (a) => a
      .li(X.a0, 0).label('loop').addi(X.a0, X.a0, 1).j('loop'));
    for (const budget of [1, 7, 128, 129, 1000, 64]) {
      const before = hart.instret;
      expect(m.cores[0]!.run(hart, budget)).toBe(StopReason.Budget);
      expect(hart.instret - before).toBe(budget);
    }
    // 1 li + 2 instructions per iteration: the count of addi equals the iterations started.
    const total = 1 + 7 + 128 + 129 + 1000 + 64;
    expect(hart.x[X.a0]).toBe(Math.ceil((total - 1) / 2));
  });
});
