/**
 * The TLB's direct-mapped front (src/hw/fast-tlb.ts) under RV32 accesses, both engines: it
 * caches only what the TLB holds — an INVLPG, a CR3 write or an eviction from the
 * set-associative TLB makes the next access walk, and a remap without a flush still reads the
 * old frame, as the TLB would — and its hits are counted as TLB hits, so the counts equal those
 * with the front turned off. vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import { X } from '../../src/riscv/asm.js';
import { StopReason } from '../../src/riscv/core.js';
import { DATA, ENGINES, RvMachine, program } from './harness.js';

describe.each(ENGINES)('the fast TLB front ($name)', ({ hotBlock }) => {
  /** lw a0 from DATA, EBREAK (the test remaps), lw a1 from DATA again, ECALL. */
  function remapBetweenLoads(flush: (m: RvMachine) => void): { a0: number; a1: number } {
    const m = new RvMachine(1, hotBlock);
    m.poke(DATA, [111]);
    const { hart } = program(m, (a) => a.li(X.s0, DATA).lw(X.a0, 0, X.s0).ebreak().lw(X.a1, 0, X.s0).ecall());
    expect(m.runToStop(hart)).toBe(StopReason.Ebreak);
    const fresh = m.frame();
    m.ram.i32[(fresh << 12) >>> 2] = 222;
    m.map(DATA, undefined, fresh);
    flush(m);
    hart.pc += 4;
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    return { a0: hart.x[X.a0]!, a1: hart.x[X.a1]! };
  }

  it('an INVLPG of the page makes the next load see the new mapping', () => {
    expect(remapBetweenLoads((m) => m.hw[0]!.mmu.invlpg(DATA))).toEqual({ a0: 111, a1: 222 });
  });

  it('a CR3 write makes the next load see the new mapping', () => {
    expect(remapBetweenLoads((m) => m.hw[0]!.mmu.writeCr3(m.pt.pd))).toEqual({ a0: 111, a1: 222 });
  });

  it('without a flush the load still uses the old frame, as the TLB itself would', () => {
    expect(remapBetweenLoads(() => {})).toEqual({ a0: 111, a1: 111 });
  });

  it('an entry the set-associative TLB evicted is not used from the front: the next access walks', () => {
    const m = new RvMachine(1, hotBlock);
    const tlb = m.hw[0]!.mmu.tlb;
    const { sets, ways } = tlb.geometry;
    // ways + 1 pages in one TLB set (multiples of `sets` pages) evict the first one's entry;
    // the multiple 4 is skipped so that no later page takes the first one's slot in the front.
    const pages = Array.from({ length: ways + 1 }, (_, k) => DATA + (k < 4 ? k : k + 1) * sets * 0x1000);
    for (const p of pages) m.poke(p, [p]);
    const { hart } = program(m, (a) => {
      for (const p of pages) a.li(X.t0, p).lw(X.a0, 0, X.t0);
      a.ebreak().li(X.t0, pages[0]!).lw(X.a1, 0, X.t0).ecall();
    });
    expect(m.runToStop(hart)).toBe(StopReason.Ebreak);
    const walks = m.hw[0]!.counters.tlbWalks;
    hart.pc += 4;
    expect(m.runToStop(hart)).toBe(StopReason.Ecall);
    expect(hart.x[X.a1]).toBe(pages[0]);
    // The code page's own entry may have been evicted too; the data page's walk is the one asked for.
    expect(m.hw[0]!.counters.tlbWalks).toBeGreaterThan(walks);
  });

  it('counts its hits as TLB hits: the same counts as with the front turned off', () => {
    const counts = (front: boolean): { hits: number; misses: number; walks: number } => {
      const m = new RvMachine(1, hotBlock);
      m.hw[0]!.mmu.tlb.fast.enabled = front;
      m.poke(DATA, new Array(1024).fill(1));
      const { hart } = program(m, (a) => a
        .li(X.s0, DATA).li(X.s1, 50)
        .label('pass').mv(X.t0, X.s0).li(X.t1, 1024)
        .label('word').lw(X.t2, 0, X.t0).addi(X.t2, X.t2, 1).sw(X.t2, 0, X.t0).addi(X.t0, X.t0, 4).addi(X.t1, X.t1, -1).bnez(X.t1, 'word')
        .addi(X.s1, X.s1, -1).bnez(X.s1, 'pass').ecall());
      expect(m.runToStop(hart, 0, 10_000, 100_000)).toBe(StopReason.Ecall);
      expect(m.peek(DATA + 4 * 1023)).toBe(51);
      const c = m.hw[0]!.counters;
      return { hits: c.tlbHits, misses: c.tlbMisses, walks: c.tlbWalks };
    };
    expect(counts(true)).toEqual(counts(false));
  });
});
