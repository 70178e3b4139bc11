/**
 * The RISC-V block's layout (src/riscv/layout.ts) against its diagram, and the assembler's
 * pseudo-instructions the other tests lean on (src/riscv/asm.ts). vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import { X } from '../../src/riscv/asm.js';
import { StopReason } from '../../src/riscv/core.js';
import { FENCE_LINE_WORDS, RESV_BUCKET, RESV_BUCKETS, RESV_MASK, RV_CTL, fenceWord, resvBase, riscvSharedBytes } from '../../src/riscv/layout.js';
import { DATA, ENGINES, RvMachine, program } from './harness.js';

describe('riscv block layout', () => {
  it('puts the control line first, one 64-byte fence line per vCPU, then the buckets, as the diagram shows', () => {
    expect(RV_CTL.icacheGen).toBe(0);
    expect(RV_CTL.WORDS).toBe(16);
    expect(FENCE_LINE_WORDS).toBe(16);
    expect(fenceWord(0)).toBe(RV_CTL.WORDS);
    expect(fenceWord(3) - fenceWord(2)).toBe(FENCE_LINE_WORDS);
    expect(resvBase(4)).toBe(fenceWord(4));
    expect(riscvSharedBytes(4)).toBe((resvBase(4) + RESV_BUCKETS * RESV_BUCKET.WORDS) * 4);
  });

  it('gives each bucket a generation and a holder count, with a power-of-two bucket count', () => {
    expect([RESV_BUCKET.gen, RESV_BUCKET.holders, RESV_BUCKET.WORDS]).toEqual([0, 1, 2]);
    expect(RESV_BUCKETS & RESV_MASK).toBe(0);
  });
});

describe.each(ENGINES)('riscv assembler pseudo-instructions ($name)', ({ hotBlock }) => {
  it('loads any 32-bit constant with li, and a label address with la', () => {
    const values = [0, 1, -1, 2047, -2048, 2048, -2049, 0x800, 0xfff, 0x1000, 0x7fffffff, -0x80000000, 0x12345678, 0xfffff800 | 0, 0x80000800 | 0];
    const m = new RvMachine(1, hotBlock);
    m.map(DATA);
    const { hart, asm } = program(m, (a) => {
      values.forEach((v, k) => a.li(X.a0, v).sw(X.a0, 4 * k, X.s0));
      a.la(X.a1, 'end', 8).label('end').ecall();
    });
    hart.set(X.s0, DATA);
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(values.map((_, k) => m.peek(DATA + 4 * k))).toEqual(values);
    expect(hart.x[X.a1]! >>> 0).toBe(asm.addressOf('end') + 8);
  });
});
