/**
 * The A extension (src/riscv/reservation.ts through core.ts): AMO results, LR/SC success and
 * failure, reservations broken by another vCPU's store (even of the same value) or SC, and by
 * a trap, and the alignment rule (SIGBUS). Two RvCores on one RAM and one RISC-V block,
 * interleaved deterministically by running each for an exact budget. Both engines. vitest
 * thread only; real concurrency is in atomics.smp.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { X, type Asm } from '../../src/riscv/asm.js';
import { StopReason } from '../../src/riscv/core.js';
import { SIGBUS, SIGSEGV } from '../../src/uapi/signal.js';
import { PF_WRITE } from '../../src/hw/walker.js';
import { CODE, DATA, ENGINES, RvMachine, USER_RO, USER_RW, program, runProgram } from './harness.js';

const OTHER = 0x0002_0000;

describe.each(ENGINES)('riscv A extension ($name)', ({ hotBlock }) => {
  const machine = (cpus = 1): RvMachine => new RvMachine(cpus, hotBlock);

  it('returns the old value in rd and stores the AMO result, for every AMO', () => {
    const m = machine();
    const words = [10, 0b1100, 0b1100, 0b1100, -5, -5, -5, -5, 7];
    m.poke(DATA, words);
    const h = runProgram(m, (a) => a
      .li(X.s0, DATA).li(X.a0, 3).li(X.a1, 0b1010).li(X.a2, 4).li(X.a3, -6)
      .amoaddW(X.t0, X.a0, X.s0).addi(X.s0, X.s0, 4)
      .amoxorW(X.t1, X.a1, X.s0).addi(X.s0, X.s0, 4)
      .amoandW(X.t2, X.a1, X.s0).addi(X.s0, X.s0, 4)
      .amoorW(X.t3, X.a1, X.s0).addi(X.s0, X.s0, 4)
      .amominW(X.t4, X.a2, X.s0).addi(X.s0, X.s0, 4) // min(-5, 4) = -5
      .amomaxW(X.t5, X.a2, X.s0).addi(X.s0, X.s0, 4) // max(-5, 4) = 4
      .amominuW(X.t6, X.a2, X.s0).addi(X.s0, X.s0, 4) // minu(0xfffffffb, 4) = 4
      .amomaxuW(X.s2, X.a3, X.s0).addi(X.s0, X.s0, 4) // maxu(0xfffffffb, 0xfffffffa) = 0xfffffffb
      .amoswapW(X.s3, X.a0, X.s0)
      .ecall());
    expect([h.x[X.t0], h.x[X.t1], h.x[X.t2], h.x[X.t3], h.x[X.t4], h.x[X.t5], h.x[X.t6], h.x[X.s2], h.x[X.s3]]).toEqual(words);
    const after = Array.from({ length: words.length }, (_, k) => m.peek(DATA + 4 * k));
    expect(after).toEqual([13, 0b0110, 0b1000, 0b1110, -5, 4, 4, -5, 3]);
  });

  it('succeeds an SC after an LR to the same word (rd = 0) and fails one with no reservation (rd = 1)', () => {
    const m = machine();
    m.poke(DATA, [41]);
    const h = runProgram(m, (a) => a
      .li(X.s0, DATA)
      .lrW(X.a0, X.s0).addi(X.a0, X.a0, 1).scW(X.a1, X.a0, X.s0) // succeeds
      .li(X.a2, 99).scW(X.a3, X.a2, X.s0) // the reservation is gone: fails
      .ecall());
    expect(h.x[X.a1]).toBe(0);
    expect(h.x[X.a3]).toBe(1);
    expect(m.peek(DATA)).toBe(42);
  });

  it('fails an SC to another address than the LR reserved, and drops the reservation', () => {
    const m = machine();
    m.poke(DATA, [1, 2]);
    const h = runProgram(m, (a) => a
      .li(X.s0, DATA).addi(X.s1, X.s0, 4)
      .lrW(X.a0, X.s0).scW(X.a1, X.a0, X.s1).scW(X.a2, X.a0, X.s0)
      .ecall());
    expect([h.x[X.a1], h.x[X.a2]]).toEqual([1, 1]);
    expect([m.peek(DATA), m.peek(DATA + 4)]).toEqual([1, 2]);
  });

  /** cpu 0: LR, then (after the interleaved `between`) SC of value+1; returns SC's rd and the word. */
  function lrThenSc(between: (m: RvMachine) => void, initial = 5): { rd: number; word: number } {
    const m = machine(2);
    m.poke(DATA, [initial]);
    const { hart } = program(m, (a) => a
      .li(X.s0, DATA).lrW(X.a0, X.s0) // 2 instructions: the budget below stops right after the LR
      .addi(X.a0, X.a0, 1).scW(X.a1, X.a0, X.s0).ecall());
    expect(m.cores[0]!.run(hart, 2)).toBe(StopReason.Budget);
    between(m);
    expect(m.runToStop(hart, 0)).toBe(StopReason.Ecall);
    return { rd: hart.x[X.a1]!, word: m.peek(DATA) };
  }

  /** Run a little program on cpu 1 (its own code page). */
  function onCpu1(m: RvMachine, f: (a: Asm) => void): void {
    const { hart } = program(m, (a) => { f(a); a.ecall(); }, OTHER);
    expect(m.runToStop(hart, 1)).toBe(StopReason.Ecall);
  }

  it('keeps a reservation across a budget stop when nothing intervenes', () => {
    expect(lrThenSc(() => undefined)).toEqual({ rd: 0, word: 6 });
  });

  it('breaks the reservation when another vCPU stores the same value to the word', () => {
    expect(lrThenSc((m) => onCpu1(m, (a) => a.li(X.s0, DATA).li(X.a0, 5).sw(X.a0, 0, X.s0)))).toEqual({ rd: 1, word: 5 });
  });

  it('breaks the reservation when another vCPU stores a byte of the word', () => {
    expect(lrThenSc((m) => onCpu1(m, (a) => a.li(X.s0, DATA).li(X.a0, 0).sb(X.a0, 3, X.s0)))).toEqual({ rd: 1, word: 5 });
  });

  it('breaks the reservation when another vCPU\'s LR/SC on the word succeeds first', () => {
    expect(lrThenSc((m) => onCpu1(m, (a) => a.li(X.s0, DATA).lrW(X.a0, X.s0).scW(X.a1, X.a0, X.s0)))).toEqual({ rd: 1, word: 5 });
  });

  it('breaks the reservation when another vCPU does an AMO on the word', () => {
    expect(lrThenSc((m) => onCpu1(m, (a) => a.li(X.s0, DATA).amoaddW(X.zero, X.zero, X.s0)))).toEqual({ rd: 1, word: 5 });
  });

  it('keeps the reservation when another vCPU stores to a different word', () => {
    expect(lrThenSc((m) => onCpu1(m, (a) => a.li(X.s0, DATA).li(X.a0, 5).sw(X.a0, 8, X.s0)))).toEqual({ rd: 0, word: 6 });
  });

  it('drops the reservation at a trap: an ECALL between LR and SC makes the SC fail', () => {
    const m = machine();
    m.poke(DATA, [5]);
    const { hart } = program(m, (a) => a.li(X.s0, DATA).lrW(X.a0, X.s0).ecall().scW(X.a1, X.a0, X.s0).ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    hart.finishSyscall(0);
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.a1]).toBe(1);
  });

  it('drops the reservation when an interrupt is taken between LR and SC', () => {
    const m = machine();
    m.poke(DATA, [5]);
    const { hart } = program(m, (a) => a.li(X.s0, DATA).lrW(X.a0, X.s0).scW(X.a1, X.a0, X.s0).ecall());
    expect(m.cores[0]!.run(hart, 2)).toBe(StopReason.Budget);
    m.kick(0); // an IPI is pending
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(m.pendingCalls[0]).toBeGreaterThan(0);
    expect(hart.x[X.a1]).toBe(1);
  });

  it('fails an SC whose copy-on-write fault moved the word to a new frame (the LR reserved the old one), then succeeds on retry', () => {
    const m = machine();
    const shared = m.map(DATA, USER_RO);
    m.ram.i32[(shared * 4096) >>> 2] = 5;
    m.fixer = (_cpu, va, errorCode) => {
      if ((errorCode & PF_WRITE) === 0 || (va & ~0xfff) !== DATA) return false;
      const copy = m.frame();
      m.ram.copyFrame(shared as never, copy as never);
      m.pt.map(DATA, copy, USER_RW);
      m.hw[0]!.mmu.invlpg(DATA);
      return true;
    };
    const h = runProgram(m, (a) => a
      .li(X.s0, DATA).li(X.s1, 0)
      .label('retry').addi(X.s1, X.s1, 1).lrW(X.a0, X.s0).addi(X.a0, X.a0, 1).scW(X.a1, X.a0, X.s0).bnez(X.a1, 'retry')
      .ecall());
    expect(h.x[X.s1]).toBe(2); // the first SC took the fault and failed; the second succeeded
    expect(m.peek(DATA)).toBe(6);
    expect(m.ram.i32[(shared * 4096) >>> 2]).toBe(5);
  });

  it('raises SIGBUS for a misaligned LR, SC or AMO (no emulation for atomics)', () => {
    const emit: ((a: Asm) => Asm)[] = [
      (a) => a.lrW(X.a0, X.s0), (a) => a.scW(X.a0, X.a1, X.s0), (a) => a.amoaddW(X.a0, X.a1, X.s0),
    ];
    for (const e of emit) {
      const m = machine();
      m.map(DATA);
      const { hart } = program(m, (a) => { a.li(X.s0, DATA + 2); e(a).ecall(); });
      expect(m.runToStop(hart)).toBe(StopReason.Fault);
      expect(m.cores[0]!.fault).toMatchObject({ signal: SIGBUS, cause: 'store/AMO address misaligned', addr: DATA + 2, pc: CODE + 8 });
    }
  });

  it('needs write permission for an AMO: one on a read-only page is a store/AMO page fault', () => {
    const m = machine();
    m.map(DATA, USER_RO);
    const { hart } = program(m, (a) => a.li(X.s0, DATA).amoswapW(X.a0, X.a1, X.s0).ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    expect(m.cores[0]!.fault).toMatchObject({ signal: SIGSEGV, cause: 'store/AMO page fault', addr: DATA });
  });
});
