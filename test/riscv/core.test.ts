/**
 * RvCore's run loop (src/riscv/core.ts) and Hart (hart.ts): how a run stops (ECALL with the
 * Linux riscv32 syscall registers, EBREAK, SIGILL, an interrupt that asks to stop), interrupts
 * taken between instructions, the counter CSRs, hart context save/restore, and the two engines
 * agreeing on random programs. vitest thread only. No fixed seed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/lib/errors.js';
import { PvclockWriter } from '../../src/hw/pvclock.js';
import { Asm, X } from '../../src/riscv/asm.js';
import { POLL_INTERVAL, StopReason } from '../../src/riscv/core.js';
import { SIGILL } from '../../src/uapi/signal.js';
import { HART_CONTEXT_WORDS, Hart } from '../../src/riscv/hart.js';
import { MAX_BLOCK_INSNS } from '../../src/riscv/jit.js';
import { CODE, DATA, ENGINES, RvMachine, program } from './harness.js';

describe.each(ENGINES)('riscv run loop ($name)', ({ hotBlock }) => {
  const machine = (): RvMachine => new RvMachine(1, hotBlock);

  it('stops at ECALL with pc on it and the call in a7, a0..a5; finishSyscall returns a0 and moves on', () => {
    const m = machine();
    const { hart } = program(m, (a) => a
      .li(X.a7, 64).li(X.a0, 1).li(X.a1, 0x1234).li(X.a2, 3).li(X.a3, 4).li(X.a4, 5).li(X.a5, 6)
      .ecall().mv(X.s0, X.a0).li(X.a7, 93).ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.pc).toBe(CODE + 4 * 8); // li a1, 0x1234 is two instructions
    expect(hart.syscallNumber()).toBe(64);
    expect([0, 1, 2, 3, 4, 5].map((k) => hart.syscallArg(k))).toEqual([1, 0x1234, 3, 4, 5, 6]);
    hart.finishSyscall(-9);
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.s0]).toBe(-9);
    expect(hart.syscallNumber()).toBe(93);
    expect(hart.instret).toBe(10); // ECALLs do not retire
  });

  it('stops at EBREAK with pc on it', () => {
    const m = machine();
    const { hart } = program(m, (a) => a.nop().ebreak());
    expect(m.runToStop(hart)).toBe(StopReason.Ebreak);
    expect(hart.pc).toBe(CODE + 4);
  });

  it('kills an illegal instruction with SIGILL naming the pc and the word', () => {
    const m = machine();
    const { hart } = program(m, (a) => a.li(X.a0, 1).word(0x00000000));
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    expect(m.cores[0]!.fault).toMatchObject({ signal: SIGILL, cause: 'illegal instruction', pc: CODE + 4, insn: 0, addr: CODE + 4 });
    expect(m.cores[0]!.describeFault()).toBe(`SIGILL (illegal instruction) at pc 0x${(CODE + 4).toString(16)}: illegal 0x0 [0x00000000], address 0x${(CODE + 4).toString(16)}`);
    expect(hart.instret).toBe(1);
  });

  it('kills a jump to a misaligned target with SIGBUS on the jump, without linking', () => {
    const m = machine();
    const { hart } = program(m, (a) => a.li(X.t0, CODE + 0x102).li(X.ra, 5).jalr(X.ra, X.t0, 0));
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    expect(m.cores[0]!.fault).toMatchObject({ signal: 7, cause: 'instruction address misaligned', pc: CODE + 12, addr: CODE + 0x102 });
    expect(hart.x[X.ra]).toBe(5);
  });

  it('takes a pending interrupt before the next instruction and, when the hook asks, stops there to resume later', () => {
    const m = machine();
    const { hart } = program(m, (a) => a
      .li(X.a0, 0).li(X.a1, 1000).label('loop').addi(X.a0, X.a0, 1).blt(X.a0, X.a1, 'loop').ecall());
    expect(m.cores[0]!.run(hart, 301)).toBe(StopReason.Budget);
    m.kick(0);
    m.stopOnPending = true;
    const pc = hart.pc;
    const retired = hart.instret;
    expect(m.cores[0]!.run(hart, 1000)).toBe(StopReason.Interrupt);
    expect(m.pendingCalls[0]).toBe(1);
    expect(hart.pc).toBe(pc); // nothing ran after the boundary
    expect(hart.instret).toBe(retired);
    m.stopOnPending = false;
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.a0]).toBe(1000);
    expect(hart.instret).toBe(2 + 2 * 1000);
  });

  it('takes an interrupt that arrives mid-run within one poll interval (plus at most one compiled block)', () => {
    const m = machine();
    const { hart } = program(m, (a) => a
      .li(X.s0, DATA).lw(X.t0, 0, X.s0) // faults once: the handler's CPU gets an IPI meanwhile
      .label('loop').addi(X.a0, X.a0, 1).j('loop'));
    let atKick = -1;
    m.fixer = () => {
      m.map(DATA);
      m.kick(0);
      return true;
    };
    m.onPending = () => { atKick = hart.instret; };
    expect(m.cores[0]!.run(hart, 10_000)).toBe(StopReason.Budget);
    expect(m.pendingCalls[0]).toBe(1);
    expect(atKick).toBeGreaterThan(0);
    expect(atKick).toBeLessThanOrEqual(POLL_INTERVAL + MAX_BLOCK_INSNS);
  });

  it('reads instret (instructions retired before the read), cycle and time, with their high halves', () => {
    const m = machine();
    // A pvclock record whose system_time counts from host boot: above 2^32 ns, so timeh is used.
    new PvclockWriter(m.hw[0]!.machineWords, 0).update(0);
    const before = m.hw[0]!.pvclock.read();
    const { hart } = program(m, (a) => a
      .nop().nop()
      .csrrs(X.a0, 0xc02, X.zero).csrrs(X.a1, 0xc82, X.zero)
      .csrrs(X.a2, 0xc00, X.zero).csrrs(X.a3, 0xc00, X.zero).csrrs(X.a4, 0xc80, X.zero)
      // The 64-bit read idiom: timeh, time, timeh again until the high half held still.
      .label('again').csrrs(X.a6, 0xc81, X.zero).csrrs(X.a5, 0xc01, X.zero).csrrs(X.t0, 0xc81, X.zero).bne(X.a6, X.t0, 'again')
      .ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    const after = m.hw[0]!.pvclock.read();
    expect(hart.x[X.a0]).toBe(2);
    expect(hart.x[X.a1]).toBe(0);
    expect((hart.x[X.a3]! - hart.x[X.a2]!) >>> 0).toBeLessThan(2 ** 31); // cycle does not go back
    const time = (hart.x[X.a6]! >>> 0) * 2 ** 32 + (hart.x[X.a5]! >>> 0);
    expect(hart.x[X.a6]).toBeGreaterThan(0);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
  });
});

describe('riscv hart', () => {
  it('saves and restores x1..x31, pc and instret through guest-memory words', () => {
    const h = new Hart(0x10000, 0x7fff0000);
    for (let r = 1; r < 32; r++) h.set(r, r * 0x01010101);
    h.instret = 2 ** 40 + 7;
    const words = new Int32Array(HART_CONTEXT_WORDS + 2);
    h.saveTo(words, 2);
    const g = new Hart();
    g.restoreFrom(words, 2);
    expect(Array.from(g.x.subarray(0, 32))).toEqual(Array.from(h.x.subarray(0, 32)));
    expect(g.pc).toBe(0x10000);
    expect(g.instret).toBe(2 ** 40 + 7);
  });

  it('discards writes to x0 and rejects register numbers outside 0..31', () => {
    const h = new Hart();
    h.set(0, 5);
    expect(h.get(0)).toBe(0);
    expect(() => h.get(32)).toThrow(InternalError);
    expect(() => h.syscallArg(6)).toThrow(InternalError);
  });

  it('refuses a budget that is not a positive integer', () => {
    const m = new RvMachine();
    expect(() => m.cores[0]!.run(new Hart(CODE), 0)).toThrow(InternalError);
    expect(() => m.cores[0]!.run(new Hart(CODE), 1.5)).toThrow(InternalError);
  });
});

/** A random instruction over the registers a0..a5 and t0..t2 (s0 = DATA base, s1 = loop counter). */
type RandomOp = (a: Asm, skipLabel: string) => void;

const REGS = [X.zero, X.a0, X.a1, X.a2, X.a3, X.a4, X.a5, X.t0, X.t1, X.t2];
const DEST = REGS.slice(1);
const reg = fc.constantFrom(...REGS);
const dest = fc.oneof(fc.constantFrom(...DEST), fc.constant(X.zero));
const imm12 = fc.integer({ min: -2048, max: 2047 });
const offset = fc.integer({ min: 0, max: 1020 });
const R_OPS = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu'] as const;
const I_OPS = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi'] as const;
const SHIFTS = ['slli', 'srli', 'srai'] as const;
const LOADS = ['lb', 'lbu', 'lh', 'lhu', 'lw'] as const;
const STORES = ['sb', 'sh', 'sw'] as const;
const BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'] as const;
const AMOS = ['amoswapW', 'amoaddW', 'amoxorW', 'amoandW', 'amoorW', 'amominW', 'amomaxW', 'amominuW', 'amomaxuW'] as const;

/** An op that prints as its assembly in a counterexample. */
const named = (text: string, emit: RandomOp): RandomOp => Object.assign(emit, { [fc.toStringMethod]: () => text });
const r = (n: number): string => Object.keys(X)[n]!;

const straightOps: fc.Arbitrary<RandomOp>[] = [
  fc.tuple(fc.constantFrom(...R_OPS), dest, reg, reg).map(([op, d, s1, s2]) => named(`${op} ${r(d)}, ${r(s1)}, ${r(s2)}`, (a) => { a[op](d, s1, s2); })),
  fc.tuple(fc.constantFrom(...I_OPS), dest, reg, imm12).map(([op, d, s1, i]) => named(`${op} ${r(d)}, ${r(s1)}, ${i}`, (a) => { a[op](d, s1, i); })),
  fc.tuple(fc.constantFrom(...SHIFTS), dest, reg, fc.integer({ min: 0, max: 31 })).map(([op, d, s1, i]) => named(`${op} ${r(d)}, ${r(s1)}, ${i}`, (a) => { a[op](d, s1, i); })),
  fc.tuple(dest, fc.integer({ min: 0, max: 0xfffff })).map(([d, i]) => named(`lui ${r(d)}, ${i}`, (a) => { a.lui(d, i); })),
  fc.tuple(dest, fc.integer({ min: 0, max: 0xfffff })).map(([d, i]) => named(`auipc ${r(d)}, ${i}`, (a) => { a.auipc(d, i); })),
  fc.tuple(fc.constantFrom(...LOADS), dest, offset).map(([op, d, o]) => named(`${op} ${r(d)}, ${o}(s0)`, (a) => { a[op](d, o, X.s0); })),
  fc.tuple(fc.constantFrom(...STORES), reg, offset).map(([op, s, o]) => named(`${op} ${r(s)}, ${o}(s0)`, (a) => { a[op](s, o, X.s0); })),
  // LR/SC and AMOs on the data page's first word (they take no offset).
  fc.tuple(fc.constantFrom(...AMOS), dest, reg).map(([op, d, s2]) => named(`${op} ${r(d)}, ${r(s2)}, (s0)`, (a) => { a[op](d, s2, X.s0); })),
  dest.map((d) => named(`lr.w ${r(d)}, (s0)`, (a) => { a.lrW(d, X.s0); })),
  fc.tuple(dest, reg).map(([d, s2]) => named(`sc.w ${r(d)}, ${r(s2)}, (s0)`, (a) => { a.scW(d, s2, X.s0); })),
];
const randomOp: fc.Arbitrary<RandomOp> = fc.oneof(
  ...straightOps,
  fc.tuple(fc.constantFrom(...BRANCHES), reg, reg).map(([op, s1, s2]) => named(`${op} ${r(s1)}, ${r(s2)}, +8`, (a, skip) => { a[op](s1, s2, skip); })),
);

/** Run one random program on one engine; returns the registers, the data page and instret. */
function runRandom(hotBlock: number, ops: RandomOp[], init: number[], data: number[]): { x: number[]; data: number[]; instret: number } {
  const m = new RvMachine(1, hotBlock);
  m.poke(DATA, data);
  const { hart } = program(m, (a) => {
    a.li(X.s0, DATA).li(X.s1, 3).label('top');
    // Each op may branch over the next one (a forward branch to the following label).
    ops.forEach((op, k) => {
      op(a, `after${k + 1}`);
      a.label(`after${k}`);
    });
    a.label(`after${ops.length}`).addi(X.s1, X.s1, -1).bnez(X.s1, 'top').ecall();
  });
  DEST.forEach((r, k) => hart.set(r, init[k]!));
  const r = m.runToStop(hart);
  if (r !== StopReason.Ecall) throw new Error(`random program stopped with ${r}: ${m.cores[0]!.describeFault()}`);
  return {
    x: Array.from(hart.x.subarray(0, 32)),
    data: Array.from({ length: 256 }, (_, k) => m.peek(DATA + 4 * k)),
    instret: hart.instret,
  };
}

describe('riscv engines agree', () => {
  it('gives the same registers, memory and instret from the interpreter and from compiled blocks on random programs', () => {
    fc.assert(fc.property(
      fc.array(randomOp, { minLength: 1, maxLength: 40 }),
      fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { minLength: DEST.length, maxLength: DEST.length }),
      fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { minLength: 256, maxLength: 256 }),
      (ops, init, data) => {
        const interpreted = runRandom(0, ops, init, data);
        const compiled = runRandom(1, ops, init, data);
        expect(compiled).toEqual(interpreted);
      },
    ), { numRuns: 150 });
  });
});

/**
 * A loop body of random ALU ops, loads and stores with no branch of its own, closed by
 * `addi s1, s1, -1; bnez s1, top`: compiled, the whole loop is one block that goes round by
 * itself (jit.ts, loopsToStart), as often as each run's budget allows.
 */
function runLoop(hotBlock: number, body: RandomOp[], rounds: number, budget: number, init: number[], data: number[]): { x: number[]; data: number[]; instret: number; pc: number } {
  const m = new RvMachine(1, hotBlock);
  m.poke(DATA, data);
  const { hart } = program(m, (a) => {
    a.li(X.s0, DATA).li(X.s1, rounds).label('top');
    body.forEach((op) => op(a, 'unused'));
    a.addi(X.s1, X.s1, -1).bnez(X.s1, 'top').label('unused').ecall();
  });
  DEST.forEach((r, k) => hart.set(r, init[k]!));
  const r = m.runToStop(hart, 0, budget, 1_000_000);
  if (r !== StopReason.Ecall) throw new Error(`loop stopped with ${r}: ${m.cores[0]!.describeFault()}`);
  return { x: Array.from(hart.x.subarray(0, 32)), data: Array.from({ length: 256 }, (_, k) => m.peek(DATA + 4 * k)), instret: hart.instret, pc: hart.pc };
}

const straightOp = fc.oneof(...straightOps);

describe('riscv looping blocks', () => {
  it('a loop compiled as one self-looping block gives the interpreter\'s registers, memory and instret, whatever the budget cuts', () => {
    fc.assert(fc.property(
      fc.array(straightOp, { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 400 }),
      fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { minLength: DEST.length, maxLength: DEST.length }),
      fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { minLength: 256, maxLength: 256 }),
      (body, rounds, budget, init, data) => {
        expect(runLoop(1, body, rounds, budget, init, data)).toEqual(runLoop(0, body, rounds, budget, init, data));
      },
    ), { numRuns: 120 });
  });

  it('a misaligned AMO inside a compiled loop hands its slot back: SIGBUS at the same pc and instret as the interpreter', () => {
    const run = (hotBlock: number): { pc: number; a0: number; instret: number; signal: number | undefined } => {
      const m = new RvMachine(1, hotBlock);
      m.map(DATA);
      const { hart } = program(m, (a) => a
        .li(X.t0, DATA).li(X.a0, 0)
        // Round 100 moves t0 off alignment: the AMO then faults.
        .label('top').amoaddW(X.zero, X.a0, X.t0).addi(X.a0, X.a0, 1).li(X.t1, 100).bne(X.a0, X.t1, 'same').addi(X.t0, X.t0, 2)
        .label('same').j('top'));
      expect(m.runToStop(hart, 0, 333, 100)).toBe(StopReason.Fault);
      return { pc: hart.pc, a0: hart.x[X.a0]!, instret: hart.instret, signal: m.cores[0]!.fault?.signal };
    };
    const interpreted = run(0);
    expect(interpreted).toMatchObject({ a0: 100, signal: 7 });
    expect(run(1)).toEqual(interpreted);
  });

  it('a self-looping block that faults in a later round stops exactly where the interpreter does: pc, registers and instret', () => {
    const run = (hotBlock: number): { pc: number; a0: number; t0: number; instret: number } => {
      const m = new RvMachine(1, hotBlock);
      // Two data pages mapped, the third not: the store loop faults on its 2049th round.
      m.map(DATA);
      m.map(DATA + 0x1000);
      const { hart } = program(m, (a) => a
        .li(X.t0, DATA).li(X.a0, 0)
        .label('top').sw(X.a0, 0, X.t0).addi(X.a0, X.a0, 1).addi(X.t0, X.t0, 4).j('top'));
      expect(m.runToStop(hart, 0, 700, 100)).toBe(StopReason.Fault);
      return { pc: hart.pc, a0: hart.x[X.a0]!, t0: hart.x[X.t0]!, instret: hart.instret };
    };
    const interpreted = run(0);
    expect(interpreted).toMatchObject({ a0: 2048, t0: DATA + 0x2000 });
    expect(run(1)).toEqual(interpreted);
  });
});
