/**
 * The TLB-flush protocol of src/kernel/tlbflush.ts, stepped by hand on a single thread (the fake
 * kernel of test/helpers/fake-kernel.ts: the real TlbFlusher, SmpCalls, TLBs and page tables;
 * the test decides when each CPU takes its IPIs). It proves:
 * - each of flush_tlb_func's four cases does what the header says, judged by the pv ops the
 *   target called and by what is left in its TLB (including the 33-page ceiling itself);
 * - two flushes reaching a CPU out of generation order (F2 before F1) leave no stale entry,
 *   and a late one (G < M) flushes fully and sets L := M so the next is skipped;
 * - a lazy CPU is skipped by a shootdown (counted as deferred) and flushes when it switches back
 *   in; a freed-tables flush does reach it (and it leaves the mm);
 * - flush_tlb_kernel_range reaches every CPU, lazy ones included, and removes global entries.
 */
import { describe, expect, it } from 'vitest';
import { CALL_FUNCTION_VECTOR, INVALIDATE_TLB_VECTOR } from '../../src/hw/apic.js';
import { PAGE_SIZE } from '../../src/hw/paging.js';
import { TLB_SINGLE_PAGE_FLUSH_CEILING } from '../../src/kernel/tlbflush.js';
import { TLB_FLUSH_ALL, type MmRef } from '../../src/pv/ops.js';
import {
  createFakeKernel, kernelPage, userPage, type AddressSpace, type FakeCpu, type FakeKernel,
} from '../helpers/fake-kernel.js';

interface World {
  k: FakeKernel;
  as: AddressSpace;
  /** The frame each user page maps now. */
  frames: number[];
}

/** `cpus` CPUs, all running one mm with `pages` user pages mapped, each CPU's TLB holding them all. */
function world(cpus: number, pages: number): World {
  const k = createFakeKernel({ cpus });
  const as = k.createAddressSpace();
  const frames: number[] = [];
  for (let p = 0; p < pages; p++) {
    frames.push(k.allocFrame());
    as.map(userPage(p), frames[p]!);
  }
  for (const c of k.cpus) {
    c.switchMm(as);
    loadAll(c, pages, frames);
    c.clearCalls();
  }
  return { k, as, frames };
}

/** Fill `cpu`'s TLB with pages [0, pages) and check it used the current frames. */
function loadAll(cpu: FakeCpu, pages: number, frames: number[], from = 0): void {
  for (let p = from; p < pages; p++) {
    expect(cpu.touch(userPage(p))).toBe(frames[p]);
    expect(cpu.cached(userPage(p))).toBe(true);
  }
}

/** The initiator's change: page `p` now maps a fresh frame (its old translation is stale). */
function remap(w: World, p: number): void {
  w.frames[p] = w.k.allocFrame();
  w.as.map(userPage(p), w.frames[p]!);
}

const range = (first: number, count: number): [number, number] => [userPage(first), userPage(first + count)];
const singles = (first: number, count: number): { op: 'flushTlbSingle'; va: number }[] =>
  Array.from({ length: count }, (_, i) => ({ op: 'flushTlbSingle' as const, va: userPage(first + i) }));

describe('flush_tlb_func, case by case at a target CPU', () => {
  it('case 1: a CPU that switched to another mm before taking the IPI does nothing (no flush, its generation untouched)', () => {
    const w = world(2, 2);
    const [cpu0, cpu1] = [w.k.cpu(0), w.k.cpu(1)];
    const other = w.k.createAddressSpace();
    const otherFrame = w.k.allocFrame();
    other.map(userPage(0), otherFrame);
    let otherGen = -1;
    remap(w, 0);
    w.k.schedule(() => {
      // cpu 1 is already queued and IPI'd; it switches to another mm first, fills its TLB there.
      cpu1.switchMm(other);
      expect(cpu1.touch(userPage(0))).toBe(otherFrame);
      otherGen = cpu1.localGen;
      cpu1.clearCalls();
      cpu1.takeInterrupts();
    });
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(0, 1));
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.handled.map((h) => h.info.mm)).toEqual([w.as.mm]); // the request did run there
    expect(cpu1.localFlushes()).toEqual([]);
    expect(cpu1.cached(userPage(0))).toBe(true); // the other mm's entry survives
    expect(cpu1.touch(userPage(0))).toBe(otherFrame);
    expect(cpu1.loadedMm).toBe(other.mm);
    expect(cpu1.localGen).toBe(otherGen);
  });

  it('case 2: a CPU whose generation already caught up (it switched away and back) skips the queued request', () => {
    const w = world(2, 2);
    const [cpu0, cpu1] = [w.k.cpu(0), w.k.cpu(1)];
    remap(w, 0);
    w.k.schedule(() => {
      // Before it takes the IPI, cpu 1 leaves the mm and comes back: the CR3 writes flushed it and
      // switch_mm read L := M = 1. It refills its TLB with the current translations.
      cpu1.switchMm(null);
      cpu1.switchMm(w.as);
      expect(cpu1.localGen).toBe(1);
      loadAll(cpu1, 2, w.frames);
      cpu1.clearCalls();
      cpu1.takeInterrupts();
    });
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(0, 1));
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.handled).toHaveLength(1);
    expect(cpu1.localFlushes()).toEqual([]);
    expect(cpu1.cached(userPage(0))).toBe(true);
    expect(cpu1.cached(userPage(1))).toBe(true);
    expect(cpu1.localGen).toBe(1);
  });

  it('case 3: G == L+1 == M and 2 pages: INVLPG of exactly those pages, the rest stays cached, L := G', () => {
    const w = world(2, 4);
    const [cpu0, cpu1] = [w.k.cpu(0), w.k.cpu(1)];
    remap(w, 1);
    remap(w, 2);
    w.k.schedule(() => cpu1.takeInterrupts());
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(1, 2));
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.localFlushes()).toEqual(singles(1, 2));
    expect([0, 1, 2, 3].map((p) => cpu1.cached(userPage(p)))).toEqual([true, false, false, true]);
    expect(cpu1.localGen).toBe(1);
    // And the pages it flushed now translate to the new frames.
    expect(cpu1.touch(userPage(1))).toBe(w.frames[1]);
    expect(cpu1.touch(userPage(2))).toBe(w.frames[2]);
  });

  it(`case 3's ceiling: ${TLB_SINGLE_PAGE_FLUSH_CEILING} pages are flushed one by one, ${TLB_SINGLE_PAGE_FLUSH_CEILING + 1} take a full flush`, () => {
    const n = TLB_SINGLE_PAGE_FLUSH_CEILING;
    const w = world(2, n + 2);
    const [cpu0, cpu1] = [w.k.cpu(0), w.k.cpu(1)];
    w.k.schedule(() => cpu1.takeInterrupts());
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(0, n));
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.localFlushes()).toEqual(singles(0, n));
    expect(cpu1.cached(userPage(n))).toBe(true);

    loadAll(cpu1, n + 2, w.frames);
    cpu1.clearCalls();
    w.k.schedule(() => cpu1.takeInterrupts());
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(0, n + 1));
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.localFlushes()).toEqual([{ op: 'flushTlbUser' }]);
    expect(cpu1.localGen).toBe(2);
  });

  it('case 4: a range above the ceiling takes one full flush, dropping every user entry, and L := M', () => {
    const pages = TLB_SINGLE_PAGE_FLUSH_CEILING + 1;
    const w = world(2, pages + 1);
    const [cpu0, cpu1] = [w.k.cpu(0), w.k.cpu(1)];
    w.k.schedule(() => cpu1.takeInterrupts());
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(0, pages));
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.localFlushes()).toEqual([{ op: 'flushTlbUser' }]);
    for (let p = 0; p <= pages; p++) expect(cpu1.cached(userPage(p))).toBe(false);
    expect(cpu1.localGen).toBe(w.k.tlbGen(w.as.mm));
    expect(cpu1.localGen).toBe(1);
  });

  it('case 4: TLB_FLUSH_ALL takes a full flush even for a one-step generation change', () => {
    const w = world(2, 2);
    const [cpu0, cpu1] = [w.k.cpu(0), w.k.cpu(1)];
    w.k.schedule(() => cpu1.takeInterrupts());
    cpu0.flusher.flushTlbMmRange(w.as.mm, TLB_FLUSH_ALL, TLB_FLUSH_ALL);
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.localFlushes()).toEqual([{ op: 'flushTlbUser' }]);
    expect(cpu1.cached(userPage(0)) || cpu1.cached(userPage(1))).toBe(false);
    expect(cpu1.localGen).toBe(1);
  });

  it('case 4: a late flush (G=1 < M=2) flushes fully and sets L := M, so the next one (G=2) finds nothing to do', () => {
    const w = world(3, 4);
    const [cpu0, cpu1, cpu2] = [w.k.cpu(0), w.k.cpu(1), w.k.cpu(2)];
    cpu0.flushOthers = 'hold';
    cpu2.flushOthers = 'hold';
    remap(w, 0);
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(0, 1)); // F1, gen 1, held
    remap(w, 2);
    cpu2.flusher.flushTlbMmRange(w.as.mm, ...range(2, 1)); // F2, gen 2, held
    const [f1, f2] = [cpu0.held[0]!, cpu2.held[0]!];
    expect([f1.info.newTlbGen, f2.info.newTlbGen]).toEqual([1, 2]);
    expect(cpu1.localGen).toBe(0);

    w.k.schedule(() => w.k.takeInterrupts(1, 2));
    f1.release();
    expect(cpu1.localFlushes()).toEqual([{ op: 'flushTlbUser' }]);
    expect(cpu1.localGen).toBe(2);

    w.k.schedule(() => w.k.takeInterrupts(0, 1));
    f2.release();
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.handled.map((h) => h.info.newTlbGen)).toEqual([1, 2]);
    expect(cpu1.localFlushes()).toEqual([{ op: 'flushTlbUser' }]); // still the one flush
    expect(cpu1.touch(userPage(0))).toBe(w.frames[0]);
    expect(cpu1.touch(userPage(2))).toBe(w.frames[2]);
  });
});

describe('flushes reaching a CPU out of generation order', () => {
  it('F1 (gen 5, pages A) and F2 (gen 6, pages B) arriving as F2, F1 at a CPU at L=4: a full flush for F2, F1 skipped, nothing stale', () => {
    const A = [0, 1];
    const B = [4, 5];
    const w = world(3, 8);
    const [cpu0, cpu1, cpu2] = [w.k.cpu(0), w.k.cpu(1), w.k.cpu(2)];
    // Four earlier flushes, delivered everywhere: every CPU at L = M = 4.
    for (let i = 0; i < 4; i++) {
      w.k.schedule(() => w.k.takeInterrupts(1, 2));
      cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(7, 1));
    }
    expect(w.k.cpus.map((c) => c.localGen)).toEqual([4, 4, 4]);
    for (const c of w.k.cpus) {
      loadAll(c, 8, w.frames);
      c.clearCalls();
    }
    // cpu 0 changes A, cpu 2 changes B; both are delayed between their tlb_gen bump and their IPIs.
    cpu0.flushOthers = 'hold';
    cpu2.flushOthers = 'hold';
    for (const p of A) remap(w, p);
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(A[0]!, A.length));
    for (const p of B) remap(w, p);
    cpu2.flusher.flushTlbMmRange(w.as.mm, ...range(B[0]!, B.length));
    const [f1, f2] = [cpu0.held[0]!, cpu2.held[0]!];
    expect([f1.info.newTlbGen, f2.info.newTlbGen]).toEqual([5, 6]);
    expect(f1.targets).toContain(1);
    expect(f2.targets).toContain(1);

    // F2 reaches cpu 1 (and cpu 0) first, F1 (to cpu 1 and cpu 2) afterwards.
    w.k.schedule(() => w.k.takeInterrupts(0, 1));
    f2.release();
    expect(cpu1.localFlushes()).toEqual([{ op: 'flushTlbUser' }]);
    expect(cpu1.localGen).toBe(6);
    w.k.schedule(() => w.k.takeInterrupts(1, 2));
    f1.release();
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu1.handled.slice(4).map((h) => h.info.newTlbGen)).toEqual([6, 5]);
    expect(cpu1.localFlushes()).toEqual([{ op: 'flushTlbUser' }]); // F1 did nothing more

    // No CPU holds a stale translation of A or B: none is cached, and each walks to the new frame.
    for (const c of w.k.cpus) {
      for (const p of [...A, ...B]) {
        expect(c.cached(userPage(p)), `cpu ${c.id} page ${p}`).toBe(false);
        expect(c.touch(userPage(p)), `cpu ${c.id} page ${p}`).toBe(w.frames[p]);
      }
    }
  });
});

describe('lazy TLB', () => {
  it('a lazy CPU is skipped by a shootdown (counted as deferred) and flushes when it switches back to that mm', () => {
    const w = world(2, 2);
    const [cpu0, cpu1] = [w.k.cpu(0), w.k.cpu(1)];
    const oldFrame = w.frames[0]!;
    cpu1.enterLazy();
    remap(w, 0);
    // No step scheduled: if cpu 1 were sent the flush, cpu 0 would wait for it and the fake would throw.
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(0, 1));
    expect(cpu0.counters.shootdownDeferred).toBe(1);
    expect(cpu0.counters.shootdownIpis).toBe(0);
    expect(cpu0.calls.filter((c) => c.op === 'sendIpiMask')).toEqual([]);
    expect(cpu1.pendingVectors()).toEqual([]);
    expect(cpu1.handled).toEqual([]);
    // Still lazy, still holding the old translation, still at the old generation.
    expect(cpu1.isLazy).toBe(true);
    expect(cpu1.localGen).toBe(0);
    expect(cpu1.cached(userPage(0))).toBe(true);
    expect(cpu1.hw.tlb.lookup(userPage(0) >>> 12, 0)).toBe(oldFrame);

    cpu1.switchMm(w.as); // the task of that mm runs again here
    expect(cpu1.isLazy).toBe(false);
    expect(cpu1.localFlushes()).toEqual([{ op: 'flushTlbUser' }]);
    expect(cpu1.counters.lazyFlushes).toBe(1);
    expect(cpu1.localGen).toBe(1);
    expect(cpu1.cached(userPage(0))).toBe(false);
    expect(cpu1.touch(userPage(0))).toBe(w.frames[0]);
  });

  it('a freed-tables flush DOES reach a lazy CPU, which leaves the mm for init_mm', () => {
    const w = world(2, 2);
    const [cpu0, cpu1] = [w.k.cpu(0), w.k.cpu(1)];
    cpu1.enterLazy();
    w.k.schedule(() => cpu1.takeInterrupts());
    cpu0.flusher.flushTlbMmRange(w.as.mm, ...range(0, 1), true);
    expect(w.k.stepsLeft).toBe(0);
    expect(cpu0.counters.shootdownDeferred).toBe(0);
    expect(cpu0.calls.filter((c) => c.op === 'sendIpiMask')).toEqual([{ op: 'sendIpiMask', targets: [1], vector: INVALIDATE_TLB_VECTOR }]);
    expect(cpu1.handled.map((h) => h.info.freedTables)).toEqual([true]);
    expect(cpu1.loadedMm).toBe(0 as MmRef);
    expect(cpu1.isLazy).toBe(false);
    expect(cpu1.hw.mmu.cr3).toBe(w.k.layout.swapperPgDir);
    expect(w.k.cpumask(w.as.mm)).toEqual([0]);
    expect(cpu1.cached(userPage(0)) || cpu1.cached(userPage(1))).toBe(false);
  });
});

describe('flush_tlb_kernel_range', () => {
  /** cpu 1 lazy on the mm, cpu 2 on another mm: every CPU caches global kernel pages [0, pages). */
  function kernelWorld(pages: number): { k: FakeKernel } {
    const w = world(3, 1);
    const other = w.k.createAddressSpace();
    w.k.cpu(1).enterLazy();
    w.k.cpu(2).switchMm(other);
    for (let p = 0; p < pages; p++) w.k.mapKernel(kernelPage(p), w.k.allocFrame());
    for (const c of w.k.cpus) {
      for (let p = 0; p < pages; p++) {
        c.touchKernel(kernelPage(p));
        expect(c.cached(kernelPage(p))).toBe(true);
      }
      c.clearCalls();
    }
    return { k: w.k };
  }

  it('reaches every CPU, the lazy one and one on another mm included, and INVLPG removes the global entries', () => {
    const { k } = kernelWorld(3);
    k.mapKernel(kernelPage(1), 0);
    k.schedule(() => k.takeInterrupts(1), () => k.takeInterrupts(2));
    k.cpu(0).flusher.flushTlbKernelRange(kernelPage(1), kernelPage(2));
    expect(k.stepsLeft).toBe(0);
    expect(k.cpu(0).calls.filter((c) => c.op === 'sendIpiMask')).toEqual([{ op: 'sendIpiMask', targets: [1, 2], vector: CALL_FUNCTION_VECTOR }]);
    expect(k.cpu(0).counters.shootdownDeferred).toBe(0);
    for (const c of k.cpus) {
      expect(c.localFlushes(), `cpu ${c.id}`).toEqual([{ op: 'flushTlbSingle', va: kernelPage(1) }]);
      expect([0, 1, 2].map((p) => c.cached(kernelPage(p))), `cpu ${c.id}`).toEqual([true, false, true]);
    }
    expect(k.kernelTlbGen).toBe(1);
    expect(k.kernelCompletedGen).toBe(1);
  });

  it('a range above the ceiling flushes every CPU\'s TLB including global entries', () => {
    const pages = TLB_SINGLE_PAGE_FLUSH_CEILING + 1;
    const { k } = kernelWorld(pages + 1);
    k.schedule(() => k.takeInterrupts(1, 2));
    k.cpu(0).flusher.flushTlbKernelRange(kernelPage(0), kernelPage(0) + pages * PAGE_SIZE);
    expect(k.stepsLeft).toBe(0);
    for (const c of k.cpus) {
      expect(c.localFlushes(), `cpu ${c.id}`).toEqual([{ op: 'flushTlbKernel' }]);
      for (let p = 0; p <= pages; p++) expect(c.cached(kernelPage(p)), `cpu ${c.id} page ${p}`).toBe(false);
      expect(c.hw.tlb.entries(), `cpu ${c.id}`).toBe(0);
    }
  });
});
