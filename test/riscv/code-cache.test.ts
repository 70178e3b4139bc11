/**
 * Coherence of decoded and compiled code (src/riscv/decode-cache.ts, jit.ts, core.ts) with
 * guest memory and translations: self-modifying code with and without FENCE.I, code rewritten
 * by another vCPU or by the kernel, a remap of the code page honoured after the TLB flush, and
 * the remote FENCE.I. Both engines. vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import { Asm, X } from '../../src/riscv/asm.js';
import { RvCore, StopReason } from '../../src/riscv/core.js';
import { Hart } from '../../src/riscv/hart.js';
import { ENGINES, RvMachine, program } from './harness.js';

/** The word of `addi a0, zero, value`. */
const liWord = (value: number): number => new Asm(0).addi(X.a0, X.zero, value).assemble()[0]!;

/** A function at `origin` returning `value` in a0 (`li a0, value; ret`). */
function retValue(origin: number, value: number): Uint32Array {
  return new Asm(origin).li(X.a0, value).ret().assemble();
}

/** Call the function at `entry` from a fresh hart; returns a0 (or fails on any non-ECALL stop). */
function call(m: RvMachine, entry: number, cpu = 0): number {
  // A caller stub on its own page: jalr to entry, then ECALL.
  const stub = 0x0003_0000 + cpu * 0x1000;
  m.poke(stub, new Asm(stub).li(X.t0, entry).jalr(X.ra, X.t0, 0).ecall().assemble());
  const h = new Hart(stub);
  const r = m.runToStop(h, cpu);
  if (r !== StopReason.Ecall) throw new Error(`stopped with ${r}: ${m.cores[cpu]!.describeFault()}`);
  return h.x[X.a0]!;
}

describe.each(ENGINES)('riscv code cache ($name)', ({ hotBlock }) => {
  const machine = (cpus = 1): RvMachine => new RvMachine(cpus, hotBlock);

  it('runs code the program rewrote, once it executes FENCE.I', () => {
    const m = machine();
    const { hart, asm } = program(m, (a) => a
      .li(X.s1, 0)
      .label('again').jal(X.ra, 'f') // f returns a0; the first time 1
      .add(X.s1, X.s1, X.a0) // accumulate
      .la(X.t0, 'f').sw(X.s2, 0, X.t0).fenceI() // patch f's first instruction, then FENCE.I
      .addi(X.s3, X.s3, 1).li(X.t1, 2).blt(X.s3, X.t1, 'again')
      .ecall()
      .label('f').li(X.a0, 1).ret());
    void asm;
    hart.x[X.s2] = liWord(20);
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.s1]).toBe(1 + 20);
  });

  it('drops the decoded slot a store of its own hits even before FENCE.I (allowed: RISC-V only requires it after)', () => {
    const m = machine();
    const { hart } = program(m, (a) => a
      .jal(X.ra, 'f').mv(X.s1, X.a0)
      .la(X.t0, 'f').sw(X.s2, 0, X.t0)
      .jal(X.ra, 'f').mv(X.s3, X.a0)
      .ecall()
      .label('f').li(X.a0, 1).ret());
    hart.x[X.s2] = liWord(7);
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect([hart.x[X.s1], hart.x[X.s3]]).toEqual([1, 7]);
    expect(m.cores[0]!.stats().slotsDropped).toBeGreaterThan(0);
  });

  it('runs code another vCPU rewrote after this one executes FENCE.I', () => {
    const m = machine(2);
    const F = 0x0005_0000;
    m.poke(F, retValue(F, 1));
    expect(call(m, F, 0)).toBe(1);
    expect(call(m, F, 0)).toBe(1); // decoded (and compiled) by now
    // cpu 1 patches F's first instruction through its own stores.
    const { hart: h1 } = program(m, (a) => a.li(X.t0, F).li(X.t1, liWord(9)).sw(X.t1, 0, X.t0).ecall(), 0x0006_0000);
    expect(m.runToStop(h1, 1)).toBe(StopReason.Ecall);
    // cpu 0 executes FENCE.I (a stub of its own), then calls F again.
    const { hart: h0 } = program(m, (a) => a.fenceI().li(X.t0, F).jalr(X.ra, X.t0, 0).ecall(), 0x0007_0000);
    expect(m.runToStop(h0, 0)).toBe(StopReason.Ecall);
    expect(h0.x[X.a0]).toBe(9);
  });

  it('runs new code after the code page is remapped to another frame and the TLB entry is flushed', () => {
    const m = machine();
    const F = 0x0005_0000;
    const first = m.map(F);
    m.poke(F, retValue(F, 1));
    expect(call(m, F)).toBe(1);
    expect(call(m, F)).toBe(1);
    // munmap + mmap of new code at the same address: another frame, then INVLPG (the shootdown).
    const second = m.frame();
    m.pt.map(F, second, 0x7);
    m.ram.i32.set(retValue(F, 2), (second * 4096) >>> 2);
    m.hw[0]!.mmu.invlpg(F);
    expect(call(m, F)).toBe(2);
    expect(first).not.toBe(second);
  });

  it('honours a shootdown of the code page it is running in: after the IPI it fetches from the new frame', () => {
    const m = machine();
    const F = 0x0005_0000;
    const DATA_PAGE = 0x0060_0000;
    m.poke(F, new Asm(F).li(X.s0, DATA_PAGE).label('loop').lw(X.t1, 0, X.s0).addi(X.s1, X.s1, 1).j('loop').assemble());
    const replacement = m.frame();
    m.ram.i32.set(new Asm(F).ecall().ecall().ecall().ecall().assemble(), (replacement * 4096) >>> 2);
    // The first load faults; while the kernel handles it, another CPU remaps F and sends the
    // flush IPI, which this vCPU takes at its next poll boundary, in the middle of the loop.
    m.fixer = () => {
      m.map(DATA_PAGE);
      m.kick(0);
      return true;
    };
    m.onPending = () => {
      m.pt.map(F, replacement, 0x7);
      m.hw[0]!.mmu.invlpg(F);
    };
    const hart = new Hart(F);
    expect(m.cores[0]!.run(hart, 100_000)).toBe(StopReason.Ecall);
    expect(m.pendingCalls[0]).toBe(1);
    expect(hart.x[X.s1]).toBeGreaterThan(0);
    expect(hart.x[X.s1]).toBeLessThan(128);
  });

  it('runs what the kernel wrote into a frame behind the TLB once the TLB is flushed (frame reused for new code)', () => {
    const m = machine();
    const F = 0x0005_0000;
    m.poke(F, retValue(F, 1));
    expect(call(m, F)).toBe(1);
    expect(call(m, F)).toBe(1);
    // The same frame gets new contents through the direct map (exec of another program reusing
    // the frame), then the address space switch flushes the TLB (a CR3 write).
    m.ram.i32.set(retValue(F, 3), m.paOf(F) >>> 2);
    m.hw[0]!.mmu.writeCr3(m.pt.pd);
    expect(call(m, F)).toBe(3);
    expect(m.cores[0]!.stats().revalidations).toBeGreaterThan(0);
  });

  it('runs code changed behind its back once any vCPU requests a remote FENCE.I (flushIcacheAll)', () => {
    const m = machine();
    const F = 0x0005_0000;
    m.poke(F, retValue(F, 1));
    expect(call(m, F)).toBe(1);
    m.ram.i32.set(retValue(F, 4), m.paOf(F) >>> 2);
    RvCore.flushIcacheAll(m.shared);
    expect(call(m, F)).toBe(4);
  });

  it('keeps running the same decoded code when a flush changed nothing (no slot dropped)', () => {
    const m = machine();
    const F = 0x0005_0000;
    m.poke(F, retValue(F, 5));
    expect(call(m, F)).toBe(5);
    const dropped = m.cores[0]!.stats().slotsDropped;
    m.hw[0]!.mmu.writeCr3(m.pt.pd);
    expect(call(m, F)).toBe(5);
    expect(m.cores[0]!.stats().slotsDropped).toBe(dropped);
    expect(m.cores[0]!.stats().revalidations).toBeGreaterThan(0);
  });
});

describe('riscv compiled blocks', () => {
  it('compiles a block once it has been entered hotBlock times, and runs it with the same results', () => {
    const m = new RvMachine(1, 3);
    const { hart } = program(m, (a) => a
      .li(X.a0, 50).li(X.a1, 0).label('loop').add(X.a1, X.a1, X.a0).addi(X.a0, X.a0, -1).bnez(X.a0, 'loop').ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.a1]).toBe(1275);
    expect(m.cores[0]!.stats().blocksCompiled).toBeGreaterThan(0);
    expect(hart.instret).toBe(2 + 3 * 50);
  });

  it('compiles nothing with hotBlock 0 (the interpreter alone)', () => {
    const m = new RvMachine(1, 0);
    const { hart } = program(m, (a) => a.li(X.a0, 50).label('loop').addi(X.a0, X.a0, -1).bnez(X.a0, 'loop').ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(m.cores[0]!.stats().blocksCompiled).toBe(0);
  });
});
