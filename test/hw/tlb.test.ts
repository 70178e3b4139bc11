/**
 * Unit tests for src/hw/tlb.ts: lookup, PCID and global tagging, every flush kind, replacement
 * and 4 MiB entries. vitest thread only.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/lib/errors.js';
import { PTE_D, PTE_G, PTE_P, PTE_RW, PTE_US } from '../../src/hw/paging.js';
import { DEFAULT_TLB, Tlb } from '../../src/hw/tlb.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { rng } from '../helpers/rng.js';

const USER_RW = PTE_P | PTE_RW | PTE_US;
const VA = 0x0804_8000;
const vpn = (va: number): number => va >>> 12;

describe('tlb', () => {
  let counters: VcpuCounters;
  let tlb: Tlb;

  beforeEach(() => {
    counters = new VcpuCounters();
    tlb = new Tlb(DEFAULT_TLB, counters);
  });

  it('misses before an insert and hits after it, returning the frame and flags, counting both', () => {
    expect(tlb.lookup(vpn(VA), 0)).toBe(-1);
    expect(counters.tlbMisses).toBe(1);
    tlb.insert(VA, 0, 0x55, USER_RW | PTE_D, false);
    expect(tlb.lookup(vpn(VA), 0)).toBe(0x55);
    expect(tlb.hitFlags).toBe(USER_RW | PTE_D);
    expect(counters.tlbHits).toBe(1);
    expect(tlb.entries()).toBe(1);
  });

  it('probe reports cached translations without counting hits or misses', () => {
    tlb.insert(VA, 0, 0x55, USER_RW, false);
    expect(tlb.probe(VA + 0x123, 0)).toBe(true);
    expect(tlb.probe(VA + 0x1000, 0)).toBe(false);
    expect(counters.tlbHits + counters.tlbMisses).toBe(0);
  });

  it('re-inserting the same page replaces its entry instead of adding a second one', () => {
    tlb.insert(VA, 0, 0x55, USER_RW, false);
    tlb.insert(VA, 0, 0x55, USER_RW | PTE_D, false);
    expect(tlb.entries()).toBe(1);
    tlb.lookup(vpn(VA), 0);
    expect(tlb.hitFlags & PTE_D).toBe(PTE_D);
  });

  it('flushAll drops non-global entries and keeps global ones, counted as a full flush', () => {
    tlb.insert(VA, 0, 0x55, USER_RW, false);
    tlb.insert(0xc000_0000, 0, 0x0, PTE_P | PTE_RW | PTE_G, false);
    tlb.flushAll();
    expect(tlb.probe(VA, 0)).toBe(false);
    expect(tlb.probe(0xc000_0000, 0)).toBe(true);
    expect(counters.tlbFlushesFull).toBe(1);
  });

  it('flushAllIncludingGlobal drops global entries too, counted as a global flush', () => {
    tlb.insert(0xc000_0000, 0, 0x0, PTE_P | PTE_G, false);
    tlb.insert(0xc040_0000, 0, 0x400, PTE_P | PTE_G, true);
    tlb.flushAllIncludingGlobal();
    expect(tlb.entries()).toBe(0);
    expect(counters.tlbFlushesGlobal).toBe(1);
    expect(counters.tlbFlushesFull).toBe(0);
  });

  it('flushSingle removes only that page, both its own-PCID and its global entry', () => {
    tlb.insert(VA, 1, 0x55, USER_RW, false);
    tlb.insert(VA + 0x1000, 1, 0x56, USER_RW, false);
    tlb.flushSingle(VA + 0x7ff, 1);
    expect(tlb.probe(VA, 1)).toBe(false);
    expect(tlb.probe(VA + 0x1000, 1)).toBe(true);
    expect(counters.tlbFlushesSingle).toBe(1);

    tlb.insert(0xc000_0000, 1, 0x0, PTE_P | PTE_G, false);
    tlb.flushSingle(0xc000_0000, 2); // INVLPG under another PCID still drops a global entry
    expect(tlb.probe(0xc000_0000, 1)).toBe(false);
  });

  it('flushSingle leaves the same page cached under another PCID', () => {
    tlb.insert(VA, 1, 0x55, USER_RW, false);
    tlb.insert(VA, 2, 0x66, USER_RW, false);
    tlb.flushSingle(VA, 1);
    expect(tlb.probe(VA, 1)).toBe(false);
    expect(tlb.lookup(vpn(VA), 2)).toBe(0x66);
  });

  it('entries inserted under PCID 1 are not visible under PCID 2', () => {
    tlb.insert(VA, 1, 0x55, USER_RW, false);
    expect(tlb.lookup(vpn(VA), 1)).toBe(0x55);
    expect(tlb.lookup(vpn(VA), 2)).toBe(-1);
  });

  it('the same page under two PCIDs holds two independent entries', () => {
    tlb.insert(VA, 1, 0x55, USER_RW, false);
    tlb.insert(VA, 2, 0x66, USER_RW, false);
    expect(tlb.entries()).toBe(2);
    expect(tlb.lookup(vpn(VA), 1)).toBe(0x55);
    expect(tlb.lookup(vpn(VA), 2)).toBe(0x66);
  });

  it('flushPcid drops only that PCID and keeps global entries, counted as a full flush', () => {
    tlb.insert(VA, 1, 0x55, USER_RW, false);
    tlb.insert(VA, 2, 0x66, USER_RW, false);
    tlb.insert(0x0040_0000, 1, 0x400, USER_RW, true);
    tlb.insert(0xc000_0000, 1, 0x0, PTE_P | PTE_G, false);
    tlb.flushPcid(1);
    expect(tlb.probe(VA, 1)).toBe(false);
    expect(tlb.probe(0x0040_0000, 1)).toBe(false);
    expect(tlb.probe(VA, 2)).toBe(true);
    expect(tlb.probe(0xc000_0000, 1)).toBe(true);
    expect(counters.tlbFlushesFull).toBe(1);
  });

  it('a global entry is visible under any PCID', () => {
    tlb.insert(0xc000_0000, 3, 0x7, PTE_P | PTE_RW | PTE_G, false);
    expect(tlb.lookup(vpn(0xc000_0000), 0)).toBe(0x7);
    expect(tlb.lookup(vpn(0xc000_0000), 4095)).toBe(0x7);
  });

  it('filling one set beyond its ways evicts round-robin, oldest first, and other sets keep theirs', () => {
    const t = new Tlb({ sets: 4, ways: 2, largeSets: 1, largeWays: 1 }, counters);
    const sameSet = (k: number): number => (k * 4) << 12; // vpn 0, 4, 8, ... all map to set 0
    t.insert(sameSet(0), 0, 10, USER_RW, false);
    t.insert(sameSet(1), 0, 11, USER_RW, false);
    t.insert(0x1000, 0, 99, USER_RW, false); // set 1
    t.insert(sameSet(2), 0, 12, USER_RW, false); // evicts sameSet(0)
    expect(t.probe(sameSet(0), 0)).toBe(false);
    expect(t.probe(sameSet(1), 0)).toBe(true);
    expect(t.probe(sameSet(2), 0)).toBe(true);
    t.insert(sameSet(3), 0, 13, USER_RW, false); // evicts sameSet(1)
    expect(t.probe(sameSet(1), 0)).toBe(false);
    expect(t.probe(0x1000, 0)).toBe(true);
    expect(t.entries()).toBe(3);
  });

  it('a 4 MiB entry covers every 4 KiB page of its region, each with its own frame', () => {
    tlb.insert(0x0040_0000 + 0x5000, 0, 0x800 + 5, USER_RW, true); // pfn masked to the base
    expect(tlb.lookup(vpn(0x0040_0000), 0)).toBe(0x800);
    expect(tlb.lookup(vpn(0x0040_0000 + 0x3ff000), 0)).toBe(0x800 + 0x3ff);
    expect(tlb.lookup(vpn(0x0080_0000), 0)).toBe(-1);
    expect(tlb.entries()).toBe(1);
  });

  it('flushSingle on any address inside a 4 MiB page drops the large entry', () => {
    tlb.insert(0x0040_0000, 0, 0x800, USER_RW, true);
    tlb.flushSingle(0x0040_0000 + 0x123456, 0);
    expect(tlb.probe(0x0040_0000, 0)).toBe(false);
  });

  it('flushAll drops non-global 4 MiB entries and keeps global ones', () => {
    tlb.insert(0x0040_0000, 0, 0x800, USER_RW, true);
    tlb.insert(0xc000_0000, 0, 0x0, PTE_P | PTE_G, true);
    tlb.flushAll();
    expect(tlb.probe(0x0040_0000, 0)).toBe(false);
    expect(tlb.probe(0xc000_0000, 0)).toBe(true);
  });

  it('rejects geometries with non-power-of-two sets or ways outside 1..16', () => {
    expect(() => new Tlb({ ...DEFAULT_TLB, sets: 48 }, counters)).toThrow(ConfigError);
    expect(() => new Tlb({ ...DEFAULT_TLB, ways: 0 }, counters)).toThrow(ConfigError);
    expect(() => new Tlb({ ...DEFAULT_TLB, largeWays: 17 }, counters)).toThrow(ConfigError);
    expect(() => new Tlb({ ...DEFAULT_TLB, largeSets: 0 }, counters)).toThrow(ConfigError);
  });

  it('the default geometry is 64 x 4 for 4 KiB pages and 8 x 4 for 4 MiB pages', () => {
    expect(DEFAULT_TLB).toEqual({ sets: 64, ways: 4, largeSets: 8, largeWays: 4 });
  });

  it('flushAll keeps exactly the global entries after any mix of inserts, overwrites, evictions and flushes (seeded)', () => {
    // PCID 3 is never inserted under, so what it sees is the global entries alone. Pages are
    // few and share sets, so global and non-global entries overwrite and evict each other.
    const pages = Array.from({ length: 24 }, (_, k) => ((k % 6) * 64 + (k >>> 2)) << 12);
    const large = [0x4000_0000, 0x8000_0000];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const random = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const t = new Tlb({ sets: 4, ways: 2, largeSets: 2, largeWays: 2 }, new VcpuCounters());
      for (let step = 0; step < 3000; step++) {
        const r = random();
        if (r < 0.6) {
          const isLarge = random() < 0.15;
          const global = random() < 0.3;
          t.insert(pick(isLarge ? large : pages), pick([0, 1, 2]), step, USER_RW | (global ? PTE_G : 0), isLarge);
        } else if (r < 0.7) {
          t.flushSingle(pick([...pages, ...large]), pick([0, 1, 2]));
        } else if (r < 0.75) {
          t.flushPcid(pick([0, 1, 2]));
        } else if (r < 0.77) {
          t.flushAllIncludingGlobal();
        } else {
          const all = [...pages, ...large];
          const globalBefore = all.map((va) => t.probe(va, 3));
          t.flushAll();
          for (const [k, va] of all.entries()) {
            for (const pcid of [0, 1, 2, 3]) expect(t.probe(va, pcid), `seed ${seed} step ${step} va ${va.toString(16)} pcid ${pcid}`).toBe(globalBefore[k]);
          }
        }
      }
    }
  });
});
