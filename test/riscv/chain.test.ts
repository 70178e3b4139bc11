/**
 * Block chaining and the page-entry cache (src/riscv/chain.ts, jit.ts, core.ts): chained blocks
 * stop where the interpreter does whatever the budget, take interrupts within a poll interval,
 * and never run a code page the cache kept once any of the things it depends on changed — each
 * kind of TLB flush, a CR3 switch that flushes nothing, FENCE.I, the remote FENCE.I, and a
 * frame's reuse count. Both engines (the interpreter uses the cache at its page entries; compiled
 * blocks also chain into cached pages). vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import { Asm, X } from '../../src/riscv/asm.js';
import { POLL_INTERVAL } from '../../src/riscv/chain.js';
import { RvCore, StopReason } from '../../src/riscv/core.js';
import { Hart } from '../../src/riscv/hart.js';
import { MAX_BLOCK_INSNS } from '../../src/riscv/jit.js';
import { PageTables } from '../hw/helpers.js';
import { CODE, DATA, ENGINES, RvMachine, USER_RW } from './harness.js';

/** The callee's page: its own page, so every call and return crosses pages. */
const F = CODE + 0x1000;
const CALLS = 40;

/** `li a0, value; ret` at F. */
const callee = (value: number): Uint32Array => new Asm(F).li(X.a0, value).ret().assemble();

/**
 * At CODE: call F CALLS times (each a cross-page call and return), summing a0 into s2, then
 * ECALL. Runs long enough for every block to compile (hotBlock 1) and chain.
 */
function caller(): Uint32Array {
  return new Asm(CODE)
    .li(X.s0, 0).li(X.s1, CALLS).li(X.s2, 0).li(X.s3, F)
    .label('loop').jalr(X.ra, X.s3, 0).add(X.s2, X.s2, X.a0).addi(X.s0, X.s0, 1).blt(X.s0, X.s1, 'loop')
    .ecall()
    .assemble();
}

/** Run the caller from its start on `core`; returns the sum (CALLS times what F returned). */
function sumOfCalls(m: RvMachine, core: RvCore = m.cores[0]!): number {
  const hart = new Hart(CODE);
  let stop: StopReason = StopReason.Budget;
  for (let k = 0; k < 1000 && stop === StopReason.Budget; k++) stop = core.run(hart, 1000);
  if (stop !== StopReason.Ecall) throw new Error(`stopped with ${stop}: ${core.describeFault()}`);
  return hart.x[X.s2]!;
}

/**
 * A machine running the caller with F returning 1, run twice (the second run from the cache),
 * and the core to run it on: the machine's own, or (withGens) one that is told of frame reuse
 * (FrameGens), where TLB flushes do not move the decode epoch and the cache's own checks decide.
 */
function warmMachine(hotBlock: number, withGens: boolean): { m: RvMachine; core: RvCore } {
  const m = new RvMachine(1, hotBlock);
  const gens = { words: new Int32Array(new SharedArrayBuffer(4 * 8192)), base: 0 };
  const core = withGens ? RvCore.forHardware(m.hw[0]!, m.shared, () => false, hotBlock, gens) : m.cores[0]!;
  m.poke(CODE, caller());
  m.map(F);
  m.poke(F, callee(1));
  expect(sumOfCalls(m, core)).toBe(CALLS);
  expect(sumOfCalls(m, core)).toBe(CALLS);
  return { m, core };
}

/** Both ways a core learns of frame reuse. */
const REUSE_MODES = [['without frame reuse counts', false], ['with frame reuse counts', true]] as const;

/** Map F to a fresh frame holding a callee that returns `value` (page tables only: no flush). */
function remapCallee(m: RvMachine, value: number): number {
  const frame = m.frame();
  m.pt.map(F, frame, USER_RW);
  m.ram.i32.set(callee(value), (frame * 4096) >>> 2);
  return frame;
}

describe.each(ENGINES)('riscv block chaining and the page-entry cache ($name)', ({ hotBlock }) => {
  it.each(REUSE_MODES)('keeps running the page it cached while nothing was flushed (the cache is used: a remap without a flush is not seen, as with the TLB itself), %s', (_what, withGens) => {
    const { m, core } = warmMachine(hotBlock, withGens);
    remapCallee(m, 2);
    expect(sumOfCalls(m, core)).toBe(CALLS);
  });

  it.each(REUSE_MODES)('drops the cached code page on an INVLPG of it, %s', (_what, withGens) => {
    const { m, core } = warmMachine(hotBlock, withGens);
    remapCallee(m, 2);
    m.hw[0]!.mmu.invlpg(F);
    expect(sumOfCalls(m, core)).toBe(2 * CALLS);
  });

  it.each(REUSE_MODES)('drops the cached code page on a full TLB flush, %s', (_what, withGens) => {
    const { m, core } = warmMachine(hotBlock, withGens);
    remapCallee(m, 3);
    m.hw[0]!.tlb.flushAll();
    expect(sumOfCalls(m, core)).toBe(3 * CALLS);
  });

  it.each(REUSE_MODES)('drops the cached code page on a flush of the PCID, %s', (_what, withGens) => {
    const { m, core } = warmMachine(hotBlock, withGens);
    remapCallee(m, 4);
    m.hw[0]!.tlb.flushPcid(0);
    expect(sumOfCalls(m, core)).toBe(4 * CALLS);
  });

  it.each(REUSE_MODES)('drops the cached code page on a flush including global entries, %s', (_what, withGens) => {
    const { m, core } = warmMachine(hotBlock, withGens);
    remapCallee(m, 5);
    m.hw[0]!.tlb.flushAllIncludingGlobal();
    expect(sumOfCalls(m, core)).toBe(5 * CALLS);
  });

  it.each(REUSE_MODES)('drops the cached code page on a CR3 write, %s', (_what, withGens) => {
    const { m, core } = warmMachine(hotBlock, withGens);
    remapCallee(m, 6);
    m.hw[0]!.mmu.writeCr3(m.pt.pd);
    expect(sumOfCalls(m, core)).toBe(6 * CALLS);
  });

  it.each(REUSE_MODES)('drops the cached code page on a CR3 switch to another address space that flushes nothing (PCID, no-flush bit: the TLB generation stays), %s', (_what, withGens) => {
    const { m, core } = warmMachine(hotBlock, withGens);
    const mmu = m.hw[0]!.mmu;
    // A second address space with the same caller and F on another frame returning 7.
    const other = new PageTables(m.ram, 3000);
    other.map(CODE, m.paOf(CODE) >>> 12, USER_RW);
    const otherF = m.frame();
    other.map(F, otherF, USER_RW);
    m.ram.i32.set(callee(7), (otherF * 4096) >>> 2);
    mmu.pcidEnabled = true;
    const gen = m.hw[0]!.tlb.generation;
    mmu.writeCr3(other.pd, 2, true);
    expect(m.hw[0]!.tlb.generation).toBe(gen);
    expect(sumOfCalls(m, core)).toBe(7 * CALLS);
  });

  it('runs code changed in the cached frame once the program executes FENCE.I', () => {
    const { m, core } = warmMachine(hotBlock, true);
    m.ram.i32.set(callee(8), m.paOf(F) >>> 2);
    // A program of its own page: FENCE.I, then the caller.
    const start = CODE + 0x3000;
    m.poke(start, new Asm(start).fenceI().li(X.t0, CODE).jalr(X.zero, X.t0, 0).assemble());
    const hart = new Hart(start);
    expect(core.run(hart, 100_000)).toBe(StopReason.Ecall);
    expect(hart.x[X.s2]).toBe(8 * CALLS);
  });

  it('runs code changed in the cached frame after a FENCE.I in the same poll slice as the page was last checked in', () => {
    const { m, core } = warmMachine(hotBlock, true);
    // Call F, then a load whose page fault's handler rewrites F's frame (as another hart's
    // stores would), FENCE.I and call F again: a handful of instructions, one slice.
    const start = CODE + 0x3000;
    m.poke(start, new Asm(start)
      .li(X.s3, F).li(X.s4, DATA)
      .jalr(X.ra, X.s3, 0).mv(X.s5, X.a0)
      .lw(X.t0, 0, X.s4).fenceI()
      .jalr(X.ra, X.s3, 0).mv(X.s6, X.a0)
      .ecall()
      .assemble());
    m.fixer = () => {
      m.map(DATA);
      m.ram.i32.set(callee(11), m.paOf(F) >>> 2);
      return true;
    };
    const hart = new Hart(start);
    expect(core.run(hart, 100)).toBe(StopReason.Ecall);
    expect([hart.x[X.s5], hart.x[X.s6]]).toEqual([1, 11]);
  });

  it('runs code changed in the cached frame once any vCPU requests a remote FENCE.I', () => {
    const { m, core } = warmMachine(hotBlock, true);
    m.ram.i32.set(callee(9), m.paOf(F) >>> 2);
    RvCore.flushIcacheAll(m.shared);
    expect(sumOfCalls(m, core)).toBe(9 * CALLS);
  });

  it('runs new code in a frame whose reuse count moved although no TLB flush happened (frame freed and reused)', () => {
    const m = new RvMachine(1, hotBlock);
    const gens = { words: new Int32Array(new SharedArrayBuffer(4 * 8192)), base: 0 };
    const core = RvCore.forHardware(m.hw[0]!, m.shared, () => false, hotBlock, gens);
    m.poke(CODE, caller());
    const frame = m.map(F);
    m.poke(F, callee(1));
    expect(sumOfCalls(m, core)).toBe(CALLS);
    expect(sumOfCalls(m, core)).toBe(CALLS);
    // The kernel freed the frame and filled it with other code; the translation is unchanged.
    m.ram.i32.set(callee(10), (frame * 4096) >>> 2);
    expect(sumOfCalls(m, core)).toBe(CALLS); // nothing says the frame changed: the cache stands
    Atomics.add(gens.words, frame, 1);
    expect(sumOfCalls(m, core)).toBe(10 * CALLS);
  });

  it('stops where the interpreter stops after every run, whatever the budget, with blocks chaining in and across pages', () => {
    const trace = (engine: number, budget: number): string[] => {
      const m = new RvMachine(1, engine);
      m.poke(CODE, caller());
      m.map(F);
      // A callee with a loop of its own, so chains also go round looping blocks.
      m.poke(F, new Asm(F).li(X.a0, 0).li(X.t1, 5).label('l').addi(X.a0, X.a0, 3).addi(X.t1, X.t1, -1).bne(X.t1, X.zero, 'l').ret().assemble());
      const hart = new Hart(CODE);
      const stops: string[] = [];
      for (let k = 0; k < 10_000; k++) {
        const r = m.cores[0]!.run(hart, budget);
        stops.push(`${r} ${hart.pc.toString(16)} ${hart.instret} ${hart.x[X.s2]} ${hart.x[X.a0]}`);
        if (r !== StopReason.Budget) break;
      }
      return stops;
    };
    for (const budget of [1, 5, 63, POLL_INTERVAL - 1, POLL_INTERVAL, POLL_INTERVAL + 1, 300, 5000]) {
      expect(trace(hotBlock, budget)).toEqual(trace(0, budget));
    }
  });

  it('takes an interrupt that arrives while blocks chain across pages within one poll interval (plus at most one block)', () => {
    const m = new RvMachine(1, hotBlock);
    m.map(F);
    m.poke(F, callee(1));
    const hart = new Hart(CODE);
    const asm = new Asm(CODE)
      .li(X.s3, F).li(X.s4, DATA).lw(X.t0, 0, X.s4) // faults once: the handler's CPU gets an IPI meanwhile
      .label('loop').jalr(X.ra, X.s3, 0).add(X.s2, X.s2, X.a0).j('loop');
    m.poke(CODE, asm.assemble());
    let atKick = -1;
    m.fixer = () => {
      m.map(DATA);
      m.kick(0);
      return true;
    };
    m.onPending = () => { atKick = hart.instret; };
    // Warm up the blocks first (no interrupt pending), then the run that faults.
    const warm = new Hart(asm.addressOf('loop'));
    warm.x[X.s3] = F;
    expect(m.cores[0]!.run(warm, 5000)).toBe(StopReason.Budget);
    expect(m.cores[0]!.run(hart, 10_000)).toBe(StopReason.Budget);
    expect(m.pendingCalls[0]).toBe(1);
    expect(atKick).toBeGreaterThan(0);
    expect(atKick).toBeLessThanOrEqual(POLL_INTERVAL + MAX_BLOCK_INSNS);
  });
});
