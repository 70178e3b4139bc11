/**
 * Unit tests for the --check TLB coherence checker in src/hw/mmu.ts (checkHit) with a
 * hand-built page table and a hand-driven flush generation. vitest thread only (no workers).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Mmu, type CoherenceSource, type CoherenceViolation, type FlushCover, type MmuHooks } from '../../src/hw/mmu.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, PTE_US } from '../../src/hw/paging.js';
import { DEFAULT_TLB, Tlb } from '../../src/hw/tlb.js';
import { peekWalk, WalkResult } from '../../src/hw/walker.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { PageTables, smallRam } from './helpers.js';

const USER_RW = PTE_P | PTE_RW | PTE_US;
const USER_RO = PTE_P | PTE_US;
const VA = 0x0804_8000;
const FRAME = 0x100;
const OTHER_FRAME = 0x101;

const hooks: MmuHooks = {
  onPendingWork: () => undefined,
  onPageFault: () => {
    throw new Error('unexpected page fault');
  },
};

/** The flush protocol by hand: tlbGen / completedGen words, and whether the change's own flush has completed. */
class FakeSource implements CoherenceSource {
  tlbGen = 1;
  completed = 0;
  /** The flush covering the change that made an entry stale has completed. */
  covered = true;
  private seen = 0;
  readonly violations: CoherenceViolation[] = [];
  beforeWalk(): void {
    this.seen = this.tlbGen;
  }
  insertGen(): number {
    return this.seen;
  }
  completedGen(): number {
    return this.completed;
  }
  coveringFlush(): FlushCover | null {
    return this.covered ? { seq: this.completed, start: -1, end: -1, cpu: 1 } : null;
  }
  /** Shadow paging: the guest's last change of a page committed before the walk (0: none, or in progress). */
  settled = 0;
  settledChange(): number {
    return this.settled;
  }
  report(v: CoherenceViolation): void {
    this.violations.push(v);
  }
  /** flush_tlb_mm_range around `change`, with the shootdown "completing" without flushing us. */
  flushWithoutUs(change: () => void): void {
    change();
    this.tlbGen++;
    this.completed = this.tlbGen;
  }
}

describe('TLB coherence checker', () => {
  let pt: PageTables;
  let counters: VcpuCounters;
  let mmu: Mmu;
  let source: FakeSource;
  let pte: number;

  beforeEach(() => {
    pt = new PageTables(smallRam());
    counters = new VcpuCounters();
    mmu = new Mmu(pt.ram, new Tlb(DEFAULT_TLB, counters), counters, new Int32Array(new SharedArrayBuffer(16)), 2, hooks);
    mmu.writeCr3(pt.pd);
    source = new FakeSource();
    mmu.enableCheck(source);
    pte = pt.map(VA, FRAME, USER_RW | PTE_A | PTE_D);
    mmu.store32(VA, 7); // fills the TLB at generation 1
  });

  it('catches an entry older than a completed shootdown that removed its mapping', () => {
    source.flushWithoutUs(() => pt.write(pte, 0));
    mmu.load32(VA); // a hit through the stale entry
    expect(counters.coherenceViolations).toBe(1);
    const v = source.violations[0]!;
    expect(v).toMatchObject({ va: VA, cachedPfn: FRAME, currentPfn: -1, insertGen: 1, flush: { seq: 2, cpu: 1 }, global: false });
    expect(v.cachedFlags & PTE_RW).toBe(PTE_RW);
  });

  it('catches a write through an entry the tables now make read-only, and a remapped frame', () => {
    source.flushWithoutUs(() => pt.write(pte, (FRAME << 12) | USER_RO | PTE_A | PTE_D));
    mmu.store32(VA, 1);
    expect(counters.coherenceViolations).toBe(1);
    expect(source.violations[0]).toMatchObject({ currentPfn: FRAME, currentFlags: USER_RO | PTE_A | PTE_D });
    source.flushWithoutUs(() => pt.write(pte, (OTHER_FRAME << 12) | USER_RW | PTE_A | PTE_D));
    mmu.load32(VA);
    expect(counters.coherenceViolations).toBe(2);
    expect(source.violations[1]).toMatchObject({ cachedPfn: FRAME, currentPfn: OTHER_FRAME });
  });

  it('accepts an entry newer than the last completed shootdown (its flush is still in flight)', () => {
    pt.write(pte, 0);
    source.tlbGen++; // bumped, shootdown not completed
    mmu.load32(VA);
    expect(counters.coherenceViolations).toBe(0);
  });

  it('accepts a stale entry until the flush covering the change that made it stale has completed', () => {
    source.covered = false;
    source.flushWithoutUs(() => pt.write(pte, 0));
    mmu.load32(VA);
    expect(counters.coherenceViolations).toBe(0);
    source.covered = true;
    mmu.load32(VA);
    expect(counters.coherenceViolations).toBe(1);
  });

  it('accepts an entry weaker than the tables, and one the tables still agree with', () => {
    const ro = pt.map(VA + 0x1000, FRAME + 2, USER_RO | PTE_A);
    mmu.load32(VA + 0x1000); // read-only entry at generation 1
    source.flushWithoutUs(() => pt.write(ro, ((FRAME + 2) << 12) | USER_RW | PTE_A | PTE_D)); // upgraded
    mmu.load32(VA + 0x1000);
    mmu.load32(VA); // unchanged mapping, old entry
    expect(counters.coherenceViolations).toBe(0);
  });

  it('costs nothing and records nothing with checking off', () => {
    const plain = new Mmu(pt.ram, new Tlb(DEFAULT_TLB, counters), counters, new Int32Array(new SharedArrayBuffer(16)), 2, hooks);
    plain.writeCr3(pt.pd);
    pt.write(pte, (FRAME << 12) | USER_RW | PTE_A | PTE_D);
    plain.load32(VA);
    pt.write(pte, 0);
    expect(plain.load32(VA)).toBe(7); // stale but unchecked
    expect(counters.coherenceViolations).toBe(0);
  });

  it('under shadow paging, catches a fill from a shadow entry the guest changed and the hypervisor never resynced', () => {
    // The hardware walks `pt` (the shadow); the guest's own tables have dropped the page.
    const guest = new PageTables(pt.ram, 2048);
    mmu.guestTablesRoot = () => guest.pd;
    mmu.writeCr3(pt.pd); // drops the entry: the next access walks the shadow
    source.settled = 9; // the guest's clear was committed before the walk began
    mmu.load32(VA);
    expect(counters.coherenceViolations).toBe(1);
    expect(source.violations[0]).toMatchObject({ va: VA, cachedPfn: FRAME, currentPfn: -1, unsyncedChange: 9, flush: { cpu: -1 } });
  });

  it('under shadow paging, accepts a fill the guest agrees with, and one whose guest change was still being made', () => {
    const guest = new PageTables(pt.ram, 2048);
    mmu.guestTablesRoot = () => guest.pd;
    mmu.writeCr3(pt.pd);
    source.settled = 0; // the change is announced, not committed before the walk: its trap may be running
    mmu.load32(VA);
    guest.map(VA + 0x1000, FRAME + 1, USER_RW);
    pt.map(VA + 0x1000, FRAME + 1, USER_RW);
    source.settled = 9;
    mmu.load32(VA + 0x1000); // shadow and guest agree
    expect(counters.coherenceViolations).toBe(0);
  });

  it('peekWalk reads the tables without setting A or D', () => {
    const at = pt.map(VA + 0x2000, FRAME + 3, USER_RW);
    const out = new WalkResult();
    expect(peekWalk(pt.ram.i32, pt.pd, VA + 0x2000, out)).toBe(true);
    expect(out.pfn).toBe(FRAME + 3);
    expect(out.flags & (PTE_RW | PTE_US)).toBe(PTE_RW | PTE_US);
    expect(pt.read(at) & (PTE_A | PTE_D)).toBe(0);
    expect(peekWalk(pt.ram.i32, pt.pd, VA + 0x3000, out)).toBe(false);
  });
});

describe('TLB flush-dropping injection', () => {
  it('ignores flushes after dropAfter of them, but not CR3 writes', () => {
    const pt = new PageTables(smallRam());
    const counters = new VcpuCounters();
    const tlb = new Tlb(DEFAULT_TLB, counters);
    tlb.insert(VA, 0, FRAME, USER_RW, false);
    tlb.dropFlushes = true;
    tlb.dropAfter = 1;
    tlb.flushSingle(VA, 0); // the one that still works
    expect(tlb.probe(VA, 0)).toBe(false);
    tlb.insert(VA, 0, FRAME, USER_RW, false);
    tlb.flushSingle(VA, 0);
    tlb.flushAll();
    tlb.flushAllIncludingGlobal();
    expect(tlb.probe(VA, 0)).toBe(true);
    const mmu = new Mmu(pt.ram, tlb, counters, new Int32Array(new SharedArrayBuffer(16)), 2, hooks);
    mmu.writeCr3(pt.pd);
    expect(tlb.probe(VA, 0)).toBe(false);
  });
});
