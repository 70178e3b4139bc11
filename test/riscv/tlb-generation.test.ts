/**
 * Tlb.generation (src/hw/tlb.ts), the one addition src/riscv needs from the TLB: every flush
 * that drops entries moves it, so RvCore's held code-page translation (a one-entry instruction
 * TLB) is shot down with the data TLB; a flush an injected fault dropped does not move it.
 * vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import { PTE_P, PTE_US } from '../../src/hw/paging.js';
import { DEFAULT_TLB, Tlb } from '../../src/hw/tlb.js';
import { VcpuCounters } from '../../src/stats/counters.js';

describe('Tlb.generation', () => {
  it('moves on every kind of flush and not on an insert or a lookup', () => {
    const tlb = new Tlb(DEFAULT_TLB, new VcpuCounters());
    let g = tlb.generation;
    tlb.insert(0x1000, 0, 5, PTE_P | PTE_US, false);
    tlb.lookup(1, 0);
    expect(tlb.generation).toBe(g);
    for (const flush of [() => tlb.flushSingle(0x1000, 0), () => tlb.flushAll(), () => tlb.flushPcid(0), () => tlb.flushAllIncludingGlobal()]) {
      flush();
      expect(tlb.generation).toBe(g + 1);
      g = tlb.generation;
    }
  });

  it('stays put when an injected fault drops the flush (the TLB kept its entries too)', () => {
    const tlb = new Tlb(DEFAULT_TLB, new VcpuCounters());
    tlb.dropFlushes = true;
    const g = tlb.generation;
    tlb.flushSingle(0x1000, 0);
    tlb.flushAll();
    expect(tlb.generation).toBe(g);
    tlb.flushAll(true); // a CR3 write still flushes
    expect(tlb.generation).toBe(g + 1);
  });
});
