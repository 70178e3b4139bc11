import { describe, expect, it } from 'vitest';
import { KernelLayout, MMAP_BASE } from '../../src/kernel/layout.js';
import { USER_TOP } from '../../src/hw/paging.js';
import type { KernelContext } from '../../src/kernel/context.js';
import { VmaTable, type VmaFields } from '../../src/kernel/vma.js';

// VmaTable only reads guest RAM words and the layout; the rest of the context is not touched.
function table(): { vmas: VmaTable; mb: number } {
  const layout = new KernelLayout(16 * 1024 * 1024);
  const i32 = new Int32Array(new SharedArrayBuffer(16 * 1024 * 1024));
  const k = { i32, layout } as unknown as KernelContext;
  return { vmas: new VmaTable(k), mb: layout.mmBase(layout.mmAddr(0)) };
}

const vma = (start: number, end: number): VmaFields => ({ start, end, prot: 3, flags: 0x22, shmem: 0, pgoff: 0 });

describe('VMA table', () => {
  it('keeps VMAs sorted by start whatever the insertion order, and finds the one containing an address', () => {
    const { vmas, mb } = table();
    vmas.insert(mb, vma(0x30000000, 0x30002000));
    vmas.insert(mb, vma(0x10000000, 0x10001000));
    vmas.insert(mb, vma(0x20000000, 0x20004000));
    expect([0, 1, 2].map((i) => vmas.read(mb, i).start)).toEqual([0x10000000, 0x20000000, 0x30000000]);
    expect(vmas.find(mb, 0x20003fff)).toBe(1);
    expect(vmas.find(mb, 0x20004000)).toBe(-1);
    expect(vmas.find(mb, 0x0fffffff)).toBe(-1);
  });

  it('handles addresses above 2 GiB (signed in Int32 words) like any other', () => {
    const { vmas, mb } = table();
    vmas.insert(mb, vma(0xb0000000, 0xb0010000));
    expect(vmas.find(mb, 0xb0000000)).toBe(0);
    expect(vmas.read(mb, 0).end).toBe(0xb0010000);
  });

  it('splits a VMA at a page boundary into two that cover the same range, advancing pgoff', () => {
    const { vmas, mb } = table();
    vmas.insert(mb, { ...vma(0x10000000, 0x10010000), shmem: 1, pgoff: 4 });
    expect(vmas.split(mb, 0, 0x10004000)).toBe(true);
    expect(vmas.read(mb, 0)).toMatchObject({ start: 0x10000000, end: 0x10004000, pgoff: 4 });
    expect(vmas.read(mb, 1)).toMatchObject({ start: 0x10004000, end: 0x10010000, pgoff: 8 });
  });

  it('finds the first free gap that fits, and none when the space is full', () => {
    const { vmas, mb } = table();
    vmas.insert(mb, vma(MMAP_BASE, MMAP_BASE + 0x1000));
    vmas.insert(mb, vma(MMAP_BASE + 0x3000, MMAP_BASE + 0x4000));
    expect(vmas.findFreeRange(mb, 0x2000, MMAP_BASE, USER_TOP)).toBe(MMAP_BASE + 0x1000);
    expect(vmas.findFreeRange(mb, 0x3000, MMAP_BASE, USER_TOP)).toBe(MMAP_BASE + 0x4000);
    expect(vmas.findFreeRange(mb, USER_TOP, MMAP_BASE, USER_TOP)).toBe(-1);
    expect(vmas.overlaps(mb, MMAP_BASE + 0x800, MMAP_BASE + 0x1800)).toBe(true);
    expect(vmas.overlaps(mb, MMAP_BASE + 0x1000, MMAP_BASE + 0x3000)).toBe(false);
  });
});
