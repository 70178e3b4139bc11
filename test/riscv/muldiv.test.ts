/**
 * The M extension (src/riscv/muldiv.ts and its use by both engines): multiply-high against a
 * BigInt reference for random and edge operands, RISC-V's division-by-zero and overflow
 * results, and the same ops run as programs. vitest thread only. No fixed seed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { X } from '../../src/riscv/asm.js';
import { Op } from '../../src/riscv/decode.js';
import { mulDiv, mulhu } from '../../src/riscv/muldiv.js';
import { ENGINES, RvMachine, runProgram } from './harness.js';

const INT_MIN = -0x80000000;
const s64 = (v: number): bigint => BigInt(v | 0);
const u64 = (v: number): bigint => BigInt(v >>> 0);
/** Bits 63..32 of a product, as int32. */
const hi = (p: bigint): number => Number(BigInt.asIntN(32, p >> 32n));

/** RISC-V's M semantics, written from the spec's table with BigInt. */
function reference(op: Op, a: number, b: number): number {
  switch (op) {
    case Op.Mulh: return hi(s64(a) * s64(b));
    case Op.Mulhsu: return hi(s64(a) * u64(b));
    case Op.Mulhu: return hi(u64(a) * u64(b));
    case Op.Div:
      if (b === 0) return -1;
      if (a === INT_MIN && b === -1) return INT_MIN;
      return Number(BigInt.asIntN(32, s64(a) / s64(b)));
    case Op.Divu: return b === 0 ? -1 : Number(BigInt.asIntN(32, u64(a) / u64(b)));
    case Op.Rem:
      if (b === 0) return a;
      if (a === INT_MIN && b === -1) return 0;
      return Number(BigInt.asIntN(32, s64(a) % s64(b)));
    case Op.Remu: return b === 0 ? a : Number(BigInt.asIntN(32, u64(a) % u64(b)));
    default: throw new Error(`no reference for op ${op}`);
  }
}

const OPS = [Op.Mulh, Op.Mulhsu, Op.Mulhu, Op.Div, Op.Divu, Op.Rem, Op.Remu] as const;
const EDGES = [0, 1, -1, 2, -2, INT_MIN, 0x7fffffff, 0xffff, 0x10000, -0x10000, 3, 7];
const int32 = fc.oneof(fc.integer({ min: INT_MIN, max: 0x7fffffff }), fc.constantFrom(...EDGES));

describe('riscv M extension', () => {
  it('matches a BigInt reference for every op on edge operands', () => {
    for (const op of OPS) {
      for (const a of EDGES) for (const b of EDGES) expect(mulDiv(op, a, b), `op ${op}: ${a}, ${b}`).toBe(reference(op, a, b));
    }
  });

  it('matches a BigInt reference for every op on random operands', () => {
    fc.assert(fc.property(fc.constantFrom(...OPS), int32, int32, (op, a, b) => mulDiv(op, a, b) === reference(op, a, b)), { numRuns: 3000 });
  });

  it('computes the unsigned high word of 0xffffffff squared', () => {
    expect(mulhu(-1, -1) >>> 0).toBe(0xfffffffe);
  });
});

describe.each(ENGINES)('riscv M programs ($name)', ({ hotBlock }) => {
  it('divides by zero and overflows without trapping, as the spec tabulates', () => {
    const h = runProgram(new RvMachine(1, hotBlock), (a) => a
      .li(X.a0, 7).li(X.a1, 0)
      .div(X.s0, X.a0, X.a1).divu(X.s1, X.a0, X.a1).rem(X.s2, X.a0, X.a1).remu(X.s3, X.a0, X.a1)
      .li(X.a2, INT_MIN).li(X.a3, -1)
      .div(X.s4, X.a2, X.a3).rem(X.s5, X.a2, X.a3)
      .li(X.a4, -7).li(X.a5, 2)
      .div(X.s6, X.a4, X.a5).rem(X.s7, X.a4, X.a5) // truncation toward zero: -3, -1
      .mul(X.s8, X.a2, X.a3).mulh(X.s9, X.a2, X.a3).mulhu(X.s10, X.a3, X.a3).mulhsu(X.s11, X.a3, X.a3)
      .ecall());
    expect([h.x[X.s0], h.x[X.s1], h.x[X.s2], h.x[X.s3]]).toEqual([-1, -1, 7, 7]);
    expect([h.x[X.s4], h.x[X.s5]]).toEqual([INT_MIN, 0]);
    expect([h.x[X.s6], h.x[X.s7]]).toEqual([-3, -1]);
    expect(h.x[X.s8]).toBe(INT_MIN); // INT_MIN * -1 wraps
    expect(h.x[X.s9]).toBe(0); // high word of +2^31
    expect(h.x[X.s10]).toBe(-2); // 0xfffffffe
    expect(h.x[X.s11]).toBe(-1); // -1 * 0xffffffff = -0xffffffff: high word all ones
  });
});
