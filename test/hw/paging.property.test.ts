/**
 * Property tests for src/hw/paging.ts: entry encoding and address splitting hold for every
 * frame, flag word and 32-bit virtual address, not just the examples in paging.test.ts.
 * vitest thread only. No fixed seed: each property must hold whatever seed fast-check picks
 * (a failure prints the seed and the shrunk counterexample).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PDE_LARGE_FRAME_MASK,
  PTE_FLAGS_MASK,
  PTE_P,
  PTE_PS,
  makeLargePde,
  makePte,
  pdIndex,
  pdeIsLarge,
  ptIndex,
  pteAddr,
  pteFlags,
  pteFrame,
  ptePresent,
  vpnOf,
} from '../../src/hw/paging.js';
import { pfn } from '../../src/hw/types.js';

/** Runs per property: enough to hit bit 31 and the all-ones corners often, cheap (< 100 ms). */
const RUNS = 500;

/** Any 4 KiB frame a 32-bit entry can name (20 bits). */
const frameArb = fc.integer({ min: 0, max: 0xfffff });
/** Any 32-bit flag word, bits above 11 included: makePte must mask them off. */
const anyFlagsArb = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
/** Any 32-bit virtual address, unsigned. */
const vaArb = fc.integer({ min: 0, max: 0xffff_ffff });

describe('paging properties', () => {
  it('makePte round-trips through pteFrame, pteFlags and pteAddr for every frame < 2^20 and any flags', () => {
    fc.assert(
      fc.property(frameArb, anyFlagsArb, (frame, flags) => {
        const pte = makePte(pfn(frame), flags);
        expect(pteFrame(pte)).toBe(frame);
        expect(pteFlags(pte)).toBe(flags & PTE_FLAGS_MASK);
        expect(pteAddr(pte)).toBe(frame * 4096);
        expect(ptePresent(pte)).toBe((flags & PTE_P) !== 0);
        // An entry is an int32, as Atomics on the shared Int32Array store it.
        expect(pte).toBe(pte | 0);
      }),
      { numRuns: RUNS },
    );
  });

  it('pdIndex, ptIndex and the 12-bit offset recompose every 32-bit va, and vpnOf is pdIndex:ptIndex', () => {
    fc.assert(
      fc.property(vaArb, (va) => {
        const pd = pdIndex(va);
        const pt = ptIndex(va);
        const offset = va & 0xfff;
        expect(pd).toBeGreaterThanOrEqual(0);
        expect(pd).toBeLessThan(1024);
        expect(pt).toBeGreaterThanOrEqual(0);
        expect(pt).toBeLessThan(1024);
        expect(pd * 0x40_0000 + pt * 0x1000 + offset).toBe(va);
        expect(vpnOf(va)).toBe(pd * 1024 + pt);
        // The same va passed as a signed int32 (as it comes out of an Int32Array) splits the same way.
        expect(pdIndex(va | 0)).toBe(pd);
        expect(ptIndex(va | 0)).toBe(pt);
      }),
      { numRuns: RUNS },
    );
  });

  it('makeLargePde keeps PS and exactly the 4 MiB-aligned frame, for aligned frames and any flags', () => {
    const alignedFrameArb = fc.integer({ min: 0, max: 1023 }).map((n) => n * 1024);
    fc.assert(
      fc.property(alignedFrameArb, anyFlagsArb, (frame, flags) => {
        const pde = makeLargePde(pfn(frame), flags);
        expect(pde & PTE_PS).toBe(PTE_PS);
        expect((pde & PDE_LARGE_FRAME_MASK) >>> 12).toBe(frame);
        expect(pteFrame(pde)).toBe(frame);
        expect(pteFlags(pde)).toBe((flags & PTE_FLAGS_MASK) | PTE_PS);
        expect(pdeIsLarge(pde)).toBe((flags & PTE_P) !== 0);
      }),
      { numRuns: RUNS },
    );
  });

  it('makeLargePde given an unaligned frame keeps only its 4 MiB-aligned part, never bits 21..12', () => {
    fc.assert(
      fc.property(frameArb, anyFlagsArb, (frame, flags) => {
        const pde = makeLargePde(pfn(frame), flags);
        expect(pteFrame(pde)).toBe(frame & ~1023);
        expect(pde & PTE_PS).toBe(PTE_PS);
      }),
      { numRuns: RUNS },
    );
  });
});
