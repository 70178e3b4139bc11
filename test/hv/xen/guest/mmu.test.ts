/**
 * The Xen backend's pv ops on one vCPU, no threads: lazy-mode batching into the 32-entry
 * multicall buffer, plain stores into unpinned tables, pinning around activate_mm / exit_mmap,
 * NEW_BASEPTR, event-channel IPIs, the memory map and pv_info.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SHIFT } from '../../../../src/hw/paging.js';
import type { Paddr, Pfn, Vaddr } from '../../../../src/hw/types.js';
import { MM } from '../../../../src/kernel/layout.js';
import { CpuMask } from '../../../../src/pv/cpumask.js';
import type { InterruptHandler } from '../../../../src/hw/cpu.js';
import type { MmRef } from '../../../../src/pv/ops.js';
import { MULTICALL_ENTRIES } from '../../../../src/hv/xen/guest/multicall.js';
import { PGT_l1_page_table, PGT_l2_page_table, PGT_none, PGT_writable_page, XEN_RESERVED_FRAMES } from '../../../../src/hv/xen/hypervisor/layout.js';
import { RAM_BYTES, USER_RW, frameState, peek, poke, pte, xenMachine, xenOpsOf } from '../fixture.js';

const PGD = 100;
const PT = 101;
/** First data frame; page i of the test range maps DATA + i. */
const DATA = 1000;
/** The test range: 64 pages at 16 << 22 (PDE 16 -> PT). */
const BASE_VA = 16 << 22;
/** An mm_struct somewhere in RAM: the backend reads only its pgd word. */
const MM_ADDR = (50 << PAGE_SHIFT) as MmRef;

/** An address space with 64 mapped pages, activated (pinned) and loaded on vCPU 0. */
function activeSpace() {
  const m = xenMachine(2);
  const { ops, xen } = xenOpsOf(m, 0);
  poke(m, PGD, 16, pte(PT, USER_RW));
  for (let i = 0; i < 64; i++) poke(m, PT, i, pte(DATA + i, USER_RW));
  Atomics.store(m.ram.i32, (MM_ADDR >>> 2) + MM.pgd, PGD << PAGE_SHIFT);
  ops.mmu.activateMm(0 as MmRef, MM_ADDR);
  ops.mmu.writeCr3((PGD << PAGE_SHIFT) as Paddr);
  const hw = m.hws[0]!;
  return { m, ops, xen, hw, hv: xen.hypervisor };
}

const ptep = (i: number): Paddr => ((PT << PAGE_SHIFT) + i * 4) as Paddr;
const va = (i: number): Vaddr => (BASE_VA + i * 4096) as Vaddr;

describe('Xen lazy MMU batching', () => {
  it('clears 64 PTEs of a pinned table in lazy mode with at most 4 hypercalls, and only at leave (or a full buffer)', () => {
    const { m, ops, hw, hv } = activeSpace();
    const before = hw.counters.hypercalls;
    ops.misc.enterLazyMmu();
    const olds: number[] = [];
    for (let i = 0; i < 64; i++) {
      olds.push(ops.mmu.pteClear(MM_ADDR, va(i), ptep(i)));
      // Queued, not yet in memory, until the 32-entry buffer fills.
      if (i === 10) expect(peek(m, PT, 10)).toBe(pte(DATA + 10, USER_RW));
    }
    ops.misc.leaveLazyMmu();
    const used = hw.counters.hypercalls - before;
    expect(used).toBeLessThanOrEqual(4);
    expect(used).toBe(64 / MULTICALL_ENTRIES);
    expect(hw.counters.hypercallEntries).toBeGreaterThanOrEqual(64);
    expect(olds).toEqual(Array.from({ length: 64 }, (_, i) => pte(DATA + i, USER_RW)));
    for (let i = 0; i < 64; i++) expect(peek(m, PT, i)).toBe(0);
    expect(frameState(hv, DATA).type).toBe(PGT_none);
    expect(hw.counters.rejected).toBe(0);
  });

  it('mixes set_pte_at in the same batch, and issues each update alone outside lazy mode', () => {
    const { m, ops, hw, hv } = activeSpace();
    let before = hw.counters.hypercalls;
    ops.misc.enterLazyMmu();
    for (let i = 0; i < 32; i++) ops.mmu.pteClear(MM_ADDR, va(i), ptep(i));
    for (let i = 0; i < 32; i++) ops.mmu.setPteAt(MM_ADDR, va(i), ptep(i), pte(DATA + 100 + i, USER_RW));
    ops.misc.leaveLazyMmu();
    expect(hw.counters.hypercalls - before).toBe(2);
    expect(peek(m, PT, 5)).toBe(pte(DATA + 105, USER_RW));
    expect(frameState(hv, DATA + 105)).toEqual({ type: PGT_writable_page, count: 1, pinned: false });
    before = hw.counters.hypercalls;
    for (let i = 32; i < 40; i++) expect(ops.mmu.pteClear(MM_ADDR, va(i), ptep(i))).toBe(pte(DATA + i, USER_RW));
    expect(hw.counters.hypercalls - before).toBe(8);
  });

  it('never queues a PDE store, and flushLazy issues the batch without leaving lazy mode', () => {
    const { m, ops, hw } = activeSpace();
    ops.misc.enterLazyMmu();
    ops.mmu.pteClear(MM_ADDR, va(0), ptep(0));
    const newPt = 102;
    ops.mmu.allocPt(MM_ADDR, newPt as Pfn);
    ops.mmu.setPmd(((PGD << PAGE_SHIFT) + 17 * 4) as Paddr, pte(newPt, USER_RW));
    // The queued clear went first (program order), then the PDE: both in memory now.
    expect(peek(m, PT, 0)).toBe(0);
    expect(peek(m, PGD, 17)).toBe(pte(newPt, USER_RW));
    ops.mmu.pteClear(MM_ADDR, va(1), ptep(1));
    expect(peek(m, PT, 1)).not.toBe(0);
    const before = hw.counters.hypercalls;
    ops.misc.flushLazy();
    expect(hw.counters.hypercalls - before).toBe(1);
    expect(peek(m, PT, 1)).toBe(0);
    ops.mmu.pteClear(MM_ADDR, va(2), ptep(2));
    expect(peek(m, PT, 2)).not.toBe(0);
    ops.misc.leaveLazyMmu();
    expect(peek(m, PT, 2)).toBe(0);
    expect(hw.counters.rejected).toBe(0);
  });

  it('does not batch inside an interrupt handler (lazy mode does not apply in interrupt context)', () => {
    const { m, ops, hw } = activeSpace();
    const vector = 0x40;
    let inHandler = -1;
    const idt: (InterruptHandler | undefined)[] = [];
    idt[vector] = () => {
      ops.mmu.pteClear(MM_ADDR, va(9), ptep(9));
      inHandler = peek(m, PT, 9);
      ops.apic.apicWrite(0xb0, 0);
    };
    ops.cpu.loadIdt(idt);
    ops.misc.enterLazyMmu();
    ops.mmu.pteClear(MM_ADDR, va(8), ptep(8));
    hw.bus.raise(0, vector, false);
    ops.irq.irqEnable(); // takes the interrupt
    expect(inHandler).toBe(0);
    expect(peek(m, PT, 8)).toBe(0); // the queued clear was issued first
    ops.misc.leaveLazyMmu();
  });
});

describe('Xen unpinned tables, pinning and bases', () => {
  it('stores into a table of an address space that is not pinned are plain memory writes, no hypercall', () => {
    const m = xenMachine(1);
    const { ops, xen } = xenOpsOf(m, 0);
    const hw = m.hws[0]!;
    ops.mmu.setPmd(((PGD << PAGE_SHIFT) + 16 * 4) as Paddr, pte(PT, USER_RW));
    ops.mmu.setPteAt(MM_ADDR, va(0), ptep(0), pte(DATA, USER_RW));
    expect(ops.mmu.pteClear(MM_ADDR, va(0), ptep(0))).toBe(pte(DATA, USER_RW));
    ops.mmu.setPte(ptep(1), pte(DATA, USER_RW));
    expect(hw.counters.hypercalls).toBe(0);
    expect(frameState(xen.hypervisor, PT).type).toBe(PGT_none);
    expect(frameState(xen.hypervisor, DATA).type).toBe(PGT_none);
  });

  it('activate_mm pins the directory and its tables; alloc_pt pins new tables; exit_mmap unpins after the switch away', () => {
    const { m, ops, hv, hw } = activeSpace();
    expect(frameState(hv, PGD)).toEqual({ type: PGT_l2_page_table, count: 1, pinned: true });
    expect(frameState(hv, PT)).toEqual({ type: PGT_l1_page_table, count: 2, pinned: true });
    expect(hw.mmu.cr3).toBe(PGD << PAGE_SHIFT);
    // Activating again is free: already pinned.
    const calls = hw.counters.hypercalls;
    ops.mmu.activateMm(MM_ADDR, MM_ADDR);
    expect(hw.counters.hypercalls).toBe(calls);
    const newPt = 103;
    ops.mmu.allocPt(MM_ADDR, newPt as Pfn);
    expect(frameState(hv, newPt)).toEqual({ type: PGT_l1_page_table, count: 1, pinned: true });
    ops.mmu.setPmd(((PGD << PAGE_SHIFT) + 18 * 4) as Paddr, pte(newPt, USER_RW));
    expect(frameState(hv, newPt).count).toBe(2);
    // exit_mmap while the directory is still loaded here is refused (and counted) ...
    ops.mmu.exitMmap(MM_ADDR);
    expect(hw.counters.rejected).toBe(1);
    expect(frameState(hv, PGD).pinned).toBe(true);
    // ... after switching to another pinned directory it goes through.
    const other = 110;
    poke(m, other, 16, pte(PT, USER_RW));
    ops.mmu.pagetableSetupDone(other as Pfn);
    ops.mmu.writeCr3((other << PAGE_SHIFT) as Paddr);
    ops.mmu.exitMmap(MM_ADDR);
    expect(frameState(hv, PGD).type).toBe(PGT_none);
    expect(frameState(hv, newPt).type).toBe(PGT_none);
    // PT is still referenced by the other directory.
    expect(frameState(hv, PT)).toEqual({ type: PGT_l1_page_table, count: 1, pinned: false });
    ops.mmu.releasePt(newPt as Pfn);
    ops.mmu.releasePd(PGD as Pfn);
    expect(hw.counters.rejected).toBe(1);
  });

  it('write_cr3 of a directory nobody pinned is refused and leaves CR3 alone', () => {
    const m = xenMachine(1);
    const { ops, xen } = xenOpsOf(m, 0);
    const hw = m.hws[0]!;
    ops.mmu.writeCr3((PGD << PAGE_SHIFT) as Paddr);
    expect(hw.mmu.cr3).toBe(0);
    expect(hw.counters.rejected).toBe(1);
    expect(xen.guest.kernelErrors).toBe(1);
  });
});

describe('Xen pv_info, memory map and IPIs', () => {
  it('names Xen, runs the kernel in ring 1, keeps the kernel PMD shared', () => {
    const { ops } = xenOpsOf(xenMachine(1), 0);
    expect(ops.info).toEqual({ name: 'Xen', paravirtEnabled: true, kernelRpl: 1, sharedKernelPmd: true });
    expect(ops.init.banner()).toMatch(/on Xen/);
    expect(ops.cpu.cpuid(1, 0)[2] >>> 31).toBe(1);
  });

  it('reserves frames at the top of RAM for the hypervisor', () => {
    const { ops } = xenOpsOf(xenMachine(1), 0);
    const map = ops.init.memorySetup();
    expect(map.usableBytes).toBe(RAM_BYTES - XEN_RESERVED_FRAMES * 4096);
    expect(map.description).toMatch(/reserved for Xen/);
  });

  it('sends IPIs as event-channel hypercalls, one per destination, counting each as sent', () => {
    const m = xenMachine(4);
    const { ops } = xenOpsOf(m, 0);
    const hw = m.hws[0]!;
    ops.apic.sendIpiMask(CpuMask.of(1, 3), 0xfd);
    expect(hw.counters.hypercalls).toBe(2);
    expect(hw.counters.ipisSent).toBe(2);
    expect(hw.bus.pendingVectors(1)).toEqual([0xfd]);
    expect(hw.bus.pendingVectors(2)).toEqual([]);
    expect(hw.bus.pendingVectors(3)).toEqual([0xfd]);
  });

  it('makes local flushes hypercalls (TLB_FLUSH_LOCAL, INVLPG_LOCAL) that act on this TLB', () => {
    const { ops, hw } = activeSpace();
    hw.mmu.load8(BASE_VA);
    expect(hw.tlb.probe(BASE_VA, 0)).toBe(true);
    const calls = hw.counters.hypercalls;
    ops.mmu.flushTlbSingle(BASE_VA as Vaddr);
    expect(hw.tlb.probe(BASE_VA, 0)).toBe(false);
    hw.mmu.load8(BASE_VA);
    ops.mmu.flushTlbUser();
    expect(hw.tlb.probe(BASE_VA, 0)).toBe(false);
    expect(hw.counters.hypercalls - calls).toBe(2);
  });
});
