/**
 * Unit tests for src/hw/paging.ts: entry encoding and address splitting. vitest thread only.
 */
import { describe, expect, it } from 'vitest';
import {
  PDE_LARGE_FRAME_MASK,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
  describePte,
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

describe('paging', () => {
  it('makePte and pteFrame/pteFlags round-trip, including frames with bit 31 set', () => {
    for (const frame of [0, 1, 0x1234, 0xfffff]) {
      const pte = makePte(pfn(frame), PTE_P | PTE_RW | PTE_US | PTE_G);
      expect(pteFrame(pte)).toBe(frame);
      expect(pteFlags(pte)).toBe(PTE_P | PTE_RW | PTE_US | PTE_G);
      expect(pteAddr(pte)).toBe(frame * 4096);
    }
  });

  it('makePte drops flag bits above bit 11 so they cannot corrupt the frame', () => {
    expect(pteFrame(makePte(pfn(5), 0x1000 | PTE_P))).toBe(5);
  });

  it('ptePresent reads the P bit only', () => {
    expect(ptePresent(makePte(pfn(7), PTE_P))).toBe(true);
    expect(ptePresent(makePte(pfn(7), PTE_RW | PTE_US))).toBe(false);
  });

  it('pdIndex, ptIndex and vpnOf split a 32-bit address 10/10/12, high addresses too', () => {
    expect(pdIndex(0xc0123456)).toBe(0x300);
    expect(ptIndex(0xc0123456)).toBe(0x123);
    expect(vpnOf(0xc0123456)).toBe(0xc0123);
    expect(pdIndex(0xffffffff)).toBe(1023);
    expect(ptIndex(0xffffffff)).toBe(1023);
    // A negative int32 is the same address.
    expect(pdIndex(0xffffffff | 0)).toBe(1023);
    expect(pdIndex(0x003fffff)).toBe(0);
    expect(ptIndex(0x00400000)).toBe(0);
  });

  it('makeLargePde sets PS and keeps only frame bits 31..22', () => {
    const pde = makeLargePde(pfn(0x400 * 3 + 0x17), PTE_P | PTE_RW);
    expect(pde & PTE_PS).toBe(PTE_PS);
    expect(pde & PDE_LARGE_FRAME_MASK).toBe(3 << 22);
    expect(pteFrame(pde) & 0x3ff).toBe(0); // the low frame bits were masked off, not carried as flags
    expect(pdeIsLarge(pde)).toBe(true);
    expect(pdeIsLarge(makePte(pfn(3), PTE_P))).toBe(false);
    expect(pdeIsLarge(makeLargePde(pfn(0x400), PTE_RW))).toBe(false); // PS without P is no page
  });

  it('describePte names the set flags and shows the raw value', () => {
    expect(describePte(makePte(pfn(0xabcde), PTE_P | PTE_RW | PTE_A | PTE_D))).toBe('0xabcde063 [P RW A D]');
    expect(describePte(0)).toBe('0x00000000 [-]');
    expect(describePte(makeLargePde(pfn(0x400), PTE_P | PTE_G))).toBe('0x00400181 [P PS G]');
  });
});
