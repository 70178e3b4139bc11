/**
 * Unit tests for src/hw/walker.ts: translation, permissions, A/D updates and fault error codes
 * over page tables built by hand. vitest thread only.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { PTE_A, PTE_D, PTE_G, PTE_P, PTE_PS, PTE_RW, PTE_US } from '../../src/hw/paging.js';
import { PF_PROT, PF_USER, PF_WRITE, WalkResult, walk } from '../../src/hw/walker.js';
import { PageTables, smallRam } from './helpers.js';

const VA = 0x0804_8123;
const FRAME = 0x55;
const USER_RW = PTE_P | PTE_RW | PTE_US;

describe('walker', () => {
  let pt: PageTables;
  let i32: Int32Array;
  let out: WalkResult;

  beforeEach(() => {
    pt = new PageTables(smallRam());
    i32 = pt.ram.i32;
    out = new WalkResult();
  });

  it('translates a 4 KiB page to its frame and reports the leaf address', () => {
    const pteAt = pt.map(VA, FRAME, USER_RW);
    expect(walk(i32, pt.pd, VA, false, true, out)).toBe(true);
    expect(out.pfn).toBe(FRAME);
    expect(out.large).toBe(false);
    expect(out.pteAddr).toBe(pteAt);
    expect(out.flags & (PTE_P | PTE_RW | PTE_US)).toBe(PTE_P | PTE_RW | PTE_US);
  });

  it('a read sets A on the PDE and the PTE but not D', () => {
    const pteAt = pt.map(VA, FRAME, USER_RW);
    walk(i32, pt.pd, VA, false, true, out);
    expect(pt.read(pt.pdeAddr(VA)) & PTE_A).toBe(PTE_A);
    expect(pt.read(pteAt) & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(out.flags & PTE_D).toBe(0);
  });

  it('a write sets D on the PTE (never on the non-leaf PDE) and reports D in flags', () => {
    const pteAt = pt.map(VA, FRAME, USER_RW);
    expect(walk(i32, pt.pd, VA, true, true, out)).toBe(true);
    expect(pt.read(pteAt) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    expect(pt.read(pt.pdeAddr(VA)) & PTE_D).toBe(0);
    expect(out.flags & PTE_D).toBe(PTE_D);
  });

  it('a not-present PDE or PTE faults with PF_PROT clear and the access bits set', () => {
    expect(walk(i32, pt.pd, VA, false, true, out)).toBe(false);
    expect(out.errorCode).toBe(PF_USER);
    pt.pteAddr(VA); // page table present, PTE still zero
    expect(walk(i32, pt.pd, VA, true, true, out)).toBe(false);
    expect(out.errorCode).toBe(PF_WRITE | PF_USER);
    expect(walk(i32, pt.pd, VA, false, false, out)).toBe(false);
    expect(out.errorCode).toBe(0);
  });

  it('a user write to a read-only page faults with PF_PROT | PF_WRITE | PF_USER', () => {
    pt.map(VA, FRAME, PTE_P | PTE_US);
    expect(walk(i32, pt.pd, VA, true, true, out)).toBe(false);
    expect(out.errorCode).toBe(PF_PROT | PF_WRITE | PF_USER);
    expect(walk(i32, pt.pd, VA, false, true, out)).toBe(true); // reading it is fine
  });

  it('a user access to a supervisor page faults with PF_PROT | PF_USER', () => {
    pt.map(VA, FRAME, PTE_P | PTE_RW);
    expect(walk(i32, pt.pd, VA, false, true, out)).toBe(false);
    expect(out.errorCode).toBe(PF_PROT | PF_USER);
    expect(walk(i32, pt.pd, VA, false, false, out)).toBe(true); // the kernel may read it
  });

  it('a supervisor write to a read-only page faults (CR0.WP = 1)', () => {
    pt.map(VA, FRAME, PTE_P);
    expect(walk(i32, pt.pd, VA, true, false, out)).toBe(false);
    expect(out.errorCode).toBe(PF_PROT | PF_WRITE);
  });

  it('PDE.RW clear makes a 4 KiB page read-only even when its PTE has RW', () => {
    pt.map(VA, FRAME, USER_RW, PTE_P | PTE_US);
    expect(walk(i32, pt.pd, VA, true, true, out)).toBe(false);
    expect(out.errorCode).toBe(PF_PROT | PF_WRITE | PF_USER);
    expect(walk(i32, pt.pd, VA, false, true, out)).toBe(true);
    expect(out.flags & PTE_RW).toBe(0); // the effective flags say read-only too
  });

  it('PDE.US clear makes a 4 KiB page supervisor-only even when its PTE has US', () => {
    pt.map(VA, FRAME, USER_RW, PTE_P | PTE_RW);
    expect(walk(i32, pt.pd, VA, false, true, out)).toBe(false);
    expect(out.errorCode).toBe(PF_PROT | PF_USER);
  });

  it('a 4 MiB page translates to PDE frame + page index, sets A and D on the PDE', () => {
    const va = 0xc0_5432_10;
    const base = 0x400 * 2; // 8 MiB
    const pdeAt = pt.mapLarge(va, base, PTE_P | PTE_RW | PTE_G);
    expect(walk(i32, pt.pd, va, false, false, out)).toBe(true);
    expect(out.large).toBe(true);
    expect(out.pfn).toBe(base + ((va >>> 12) & 1023));
    expect(out.pteAddr).toBe(pdeAt);
    expect(out.flags & PTE_G).toBe(PTE_G);
    expect(pt.read(pdeAt) & (PTE_A | PTE_D | PTE_PS)).toBe(PTE_A | PTE_PS);
    expect(walk(i32, pt.pd, va, true, false, out)).toBe(true);
    expect(pt.read(pdeAt) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });

  it('a faulting walk sets neither A nor D anywhere', () => {
    const pteAt = pt.map(VA, FRAME, PTE_P | PTE_US); // read-only
    const pdeBefore = pt.read(pt.pdeAddr(VA));
    expect(walk(i32, pt.pd, VA, true, true, out)).toBe(false);
    expect(pt.read(pt.pdeAddr(VA))).toBe(pdeBefore);
    expect(pt.read(pteAt) & (PTE_A | PTE_D)).toBe(0);

    const largeVa = 0x4000_0000;
    const pdeAt = pt.mapLarge(largeVa, 0x400, PTE_P | PTE_RW); // supervisor-only
    expect(walk(i32, pt.pd, largeVa, false, true, out)).toBe(false);
    expect(pt.read(pdeAt) & (PTE_A | PTE_D)).toBe(0);
  });

  it('G and D in flags come from the leaf, and an already-set D is reported on a read', () => {
    pt.map(VA, FRAME, USER_RW | PTE_G | PTE_D);
    expect(walk(i32, pt.pd, VA, false, true, out)).toBe(true);
    expect(out.flags & (PTE_G | PTE_D)).toBe(PTE_G | PTE_D);
  });
});
