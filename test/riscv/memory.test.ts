/**
 * RV32 loads and stores through the vCPU's MMU and TLB (src/riscv/memory.ts, core.ts): widths
 * and extension, the misaligned-access rules, page faults (SIGSEGV naming pc, instruction and
 * address; demand paging by a fault handler that maps the page), fetch faults, A/D bits, TLB
 * counts and the --check coherence checker seeing RV32 accesses. Both engines. vitest thread
 * only.
 */
import { describe, expect, it } from 'vitest';
import type { CoherenceSource, CoherenceViolation } from '../../src/hw/mmu.js';
import { PTE_A, PTE_D, PTE_P } from '../../src/hw/paging.js';
import { PF_PROT, PF_USER, PF_WRITE } from '../../src/hw/walker.js';
import { X } from '../../src/riscv/asm.js';
import { StopReason } from '../../src/riscv/core.js';
import { SIGSEGV } from '../../src/uapi/signal.js';
import { describeFault } from '../../src/riscv/fault.js';
import { Hart } from '../../src/riscv/hart.js';
import { CODE, DATA, ENGINES, RvMachine, USER_RO, USER_RW, program, runProgram } from './harness.js';

describe.each(ENGINES)('riscv memory ($name)', ({ hotBlock }) => {
  const machine = (): RvMachine => new RvMachine(1, hotBlock);

  it('loads bytes, halves and words little-endian, sign- or zero-extended', () => {
    const m = machine();
    m.poke(DATA, [0x8081f0f1 | 0, 0x7f00ff01]);
    const h = runProgram(m, (a) => a
      .li(X.s0, DATA)
      .lb(X.a0, 0, X.s0).lbu(X.a1, 0, X.s0).lh(X.a2, 0, X.s0).lhu(X.a3, 0, X.s0).lw(X.a4, 0, X.s0)
      .lb(X.a5, 3, X.s0).lh(X.a6, 2, X.s0).lb(X.a7, 7, X.s0).lhu(X.t0, 6, X.s0)
      .ecall());
    expect([h.x[X.a0], h.x[X.a1], h.x[X.a2], h.x[X.a3], h.x[X.a4]]).toEqual([-15, 0xf1, -3855, 0xf0f1, 0x8081f0f1 | 0]);
    expect([h.x[X.a5], h.x[X.a6], h.x[X.a7], h.x[X.t0]]).toEqual([-128, -32639, 0x7f, 0x7f00]);
  });

  it('stores only the bytes of its width', () => {
    const m = machine();
    m.poke(DATA, [0x11111111, 0x22222222]);
    runProgram(m, (a) => a
      .li(X.s0, DATA).li(X.a0, 0xaabbccdd)
      .sb(X.a0, 1, X.s0).sh(X.a0, 6, X.s0)
      .ecall());
    expect(m.peek(DATA) >>> 0).toBe(0x1111dd11);
    expect(m.peek(DATA + 4) >>> 0).toBe(0xccdd2222);
  });

  it('emulates misaligned loads and stores, also across a page boundary', () => {
    const m = machine();
    m.map(DATA);
    m.map(DATA + 0x1000);
    const h = runProgram(m, (a) => a
      .li(X.s0, DATA).li(X.a0, 0x04030201).li(X.s1, DATA + 0xffe)
      .sw(X.a0, 1, X.s0).lw(X.a1, 1, X.s0).lh(X.a2, 3, X.s0).lhu(X.a3, 1, X.s0)
      .sw(X.a0, 0, X.s1).lw(X.a4, 0, X.s1).li(X.a5, 0xbeef).sh(X.a5, 1, X.s1).lh(X.a6, 1, X.s1)
      .ecall());
    expect(h.x[X.a1]).toBe(0x04030201);
    expect(h.x[X.a2]).toBe(0x0403); // bytes 3 and 4
    expect(h.x[X.a3]).toBe(0x0201);
    expect(h.x[X.a4]).toBe(0x04030201);
    expect(h.x[X.a6]).toBe(0xbeef - 0x10000); // sign-extended
    expect(m.peek(DATA) >>> 0).toBe(0x03020100);
    expect(m.peek(DATA + 0x1000) & 0xff).toBe(0xbe);
  });

  it('faults a misaligned store whose second page is unmapped without storing its first bytes', () => {
    const m = machine();
    m.poke(DATA + 0xffc, [0x55555555]);
    const { hart } = program(m, (a) => a.li(X.s1, DATA + 0xffe).li(X.a0, -1).sw(X.a0, 0, X.s1).ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    expect(m.cores[0]!.fault).toMatchObject({ signal: SIGSEGV, cause: 'store/AMO page fault', addr: DATA + 0x1000, pc: CODE + 12 });
    expect(m.peek(DATA + 0xffc) >>> 0).toBe(0x55555555);
  });

  it('kills a store to a read-only page with SIGSEGV naming pc, instruction and address, before it retires', () => {
    const m = machine();
    m.map(DATA, USER_RO);
    const { hart } = program(m, (a) => a.li(X.s0, DATA).li(X.a0, 9).li(X.a1, 1).sw(X.a0, 8, X.s0).li(X.a1, 2).ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    const f = m.cores[0]!.fault!;
    expect(f).toMatchObject({ signal: SIGSEGV, cause: 'store/AMO page fault', pc: CODE + 12, addr: DATA + 8 });
    expect(f.errorCode).toBe(PF_PROT | PF_WRITE | PF_USER);
    expect(describeFault(f)).toBe(
      `SIGSEGV (store/AMO page fault) at pc 0x${(CODE + 12).toString(16)}: sw a0, 8(s0) [0x00a42423], address 0x${(DATA + 8).toString(16)}`);
    expect(hart.pc).toBe(CODE + 12);
    expect(hart.x[X.a1]).toBe(1);
    expect(hart.instret).toBe(3); // three one-instruction li (DATA is a bare lui); not the store
  });

  it('kills a load from an unmapped page with SIGSEGV, leaving its destination register alone', () => {
    const m = machine();
    const { hart } = program(m, (a) => a.li(X.a0, 77).li(X.s0, 0x7000_0000).lw(X.a0, 4, X.s0).ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    expect(m.cores[0]!.fault).toMatchObject({ signal: SIGSEGV, cause: 'load page fault', addr: 0x7000_0004, pc: CODE + 8 });
    expect(hart.x[X.a0]).toBe(77);
  });

  it('kills a fetch from an unmapped page with an instruction page fault (no instruction word)', () => {
    const m = machine();
    const { hart } = program(m, (a) => a.li(X.t0, 0x5000_0000).jalr(X.ra, X.t0, 0));
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    expect(m.cores[0]!.fault).toMatchObject({ signal: SIGSEGV, cause: 'instruction page fault', pc: 0x5000_0000, insn: null, addr: 0x5000_0000 });
    expect(hart.x[X.ra]! >>> 0).toBe(CODE + 8); // the jump retired; the fetch at its target faulted
    expect(m.cores[0]!.describeFault()).toContain('instruction not fetched');
  });

  it('retries an access after the page-fault handler maps the page (demand paging), for data and for code', () => {
    const m = machine();
    // Code at CODE jumps to a second code page that is not mapped yet; both touch unmapped data.
    const second = 0x0002_0000;
    const { hart } = program(m, (a) => a
      .li(X.s0, DATA).li(X.a0, 5).sw(X.a0, 0, X.s0).lw(X.a1, 0, X.s0)
      .li(X.t0, second).jalr(X.zero, X.t0, 0));
    const later = program(new RvMachine(1, hotBlock), (a) => a.addi(X.a1, X.a1, 1).ecall(), second).asm.assemble();
    m.fixer = (_cpu, va) => {
      const page = va & ~0xfff;
      if (page === DATA) m.map(DATA);
      else if (page === second) m.poke(second, later, USER_RW);
      else return false;
      return true;
    };
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.a1]).toBe(6);
    expect(m.faults[0]!.map(([va]) => va)).toEqual([DATA, second]);
  });

  it('stores into the new frame after a copy-on-write fault, leaving the shared frame alone', () => {
    const m = machine();
    const shared = m.map(DATA, USER_RO);
    m.ram.i32[(shared * 4096) >>> 2] = 11;
    m.fixer = (_cpu, va, errorCode) => {
      if ((errorCode & PF_WRITE) === 0 || (va & ~0xfff) !== DATA) return false;
      // do_wp_page: copy the frame, map the copy writable; the stale read-only entry is flushed.
      const copy = m.frame();
      m.ram.copyFrame(shared as never, copy as never);
      m.pt.map(DATA, copy, USER_RW);
      m.hw[0]!.mmu.invlpg(DATA);
      return true;
    };
    const h = runProgram(m, (a) => a.li(X.s0, DATA).lw(X.a0, 0, X.s0).addi(X.a0, X.a0, 1).sw(X.a0, 0, X.s0).lw(X.a1, 0, X.s0).ecall());
    expect([h.x[X.a0], h.x[X.a1]]).toEqual([12, 12]);
    expect(m.ram.i32[(shared * 4096) >>> 2]).toBe(11);
    expect(m.peek(DATA)).toBe(12);
  });

  it('sets A on a read and A and D on a write in the PTE, and counts TLB hits and misses', () => {
    const m = machine();
    m.map(DATA);
    m.map(DATA + 0x1000);
    const counters = m.hw[0]!.counters;
    runProgram(m, (a) => a
      .li(X.s0, DATA).li(X.s1, DATA + 0x1000).li(X.a0, 1)
      .lw(X.a1, 0, X.s0).lw(X.a1, 4, X.s0).sw(X.a0, 0, X.s1).sw(X.a0, 4, X.s1)
      .ecall());
    const pteRead = m.pt.read(m.pt.pteAddr(DATA));
    const pteWritten = m.pt.read(m.pt.pteAddr(DATA + 0x1000));
    expect(pteRead & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(pteWritten & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    expect(counters.tlbWalks).toBeGreaterThanOrEqual(3); // the code page, then one per data page
    expect(counters.tlbHits).toBeGreaterThanOrEqual(2); // the second access to each data page
  });

  it('reports a stale TLB entry an RV32 load uses to the --check coherence checker', () => {
    const m = machine();
    const frame = m.map(DATA);
    const violations: CoherenceViolation[] = [];
    let tlbGen = 1;
    let completed = 0;
    let seen = 0;
    const source: CoherenceSource = {
      beforeWalk: () => { seen = tlbGen; },
      insertGen: () => seen,
      completedGen: () => completed,
      coveringFlush: () => ({ seq: completed, start: -1, end: -1, cpu: 1 }),
      settledChange: () => 0,
      report: (v) => violations.push(v),
    };
    m.hw[0]!.mmu.enableCheck(source);
    const { hart } = program(m, (a) => a
      .li(X.s0, DATA).lw(X.a0, 0, X.s0).ebreak().lw(X.a0, 0, X.s0).ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Ebreak);
    // Remap DATA to another frame and "complete" a shootdown that never reached this TLB.
    m.pt.map(DATA, m.frame(), USER_RW);
    tlbGen++;
    completed = tlbGen;
    hart.pc += 4;
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ va: DATA, cachedPfn: frame });
  });

  it('leaves the registers a compiled block already wrote when a later access in it faults', () => {
    const m = machine();
    const { hart } = program(m, (a) => a
      .li(X.a0, 1).li(X.a1, 2).li(X.s0, 0x7000_0000)
      .addi(X.a0, X.a0, 10).lw(X.a1, 0, X.s0).addi(X.a0, X.a0, 100)
      .ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    expect(hart.x[X.a0]).toBe(11);
    expect(hart.x[X.a1]).toBe(2);
    expect(hart.pc).toBe(CODE + 16);
    expect(hart.instret).toBe(4);
  });

  it('runs a hart whose pc is misaligned into SIGBUS, not into the middle of an instruction', () => {
    const m = machine();
    program(m, (a) => a.nop().ecall());
    const hart = new Hart(CODE + 2);
    expect(m.runToStop(hart)).toBe(StopReason.Fault);
    expect(m.cores[0]!.fault).toMatchObject({ signal: 7, cause: 'instruction address misaligned', pc: CODE + 2 });
  });

  it('uses the present bit alone to fetch: i386 paging has no NX, so any user page runs', () => {
    const m = machine();
    const { hart } = program(m, (a) => a.li(X.a0, 3).ecall());
    // The code page is mapped writable (the harness default), and read-only works as well.
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    m.pt.map(CODE, m.paOf(CODE) >>> 12, USER_RO);
    m.hw[0]!.mmu.invlpg(CODE);
    const again = new Hart(CODE);
    expect(m.runToStop(again)).toBe(StopReason.Ecall);
    expect(m.pt.read(m.pt.pteAddr(CODE)) & PTE_P).toBe(PTE_P);
  });
});
