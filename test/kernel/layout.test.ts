import { describe, expect, it } from 'vitest';
import { KernelLayout, VMALLOC_END, VMALLOC_START } from '../../src/kernel/layout.js';
import { PAGE_OFFSET } from '../../src/hw/paging.js';
import { MAX_RAM_BYTES, MIN_RAM_BYTES } from '../../src/hw/memory.js';

describe('kernel layout in guest RAM', () => {
  for (const bytes of [MIN_RAM_BYTES, 256 * 1024 * 1024, MAX_RAM_BYTES]) {
    it(`lays out kernel data in increasing, non-overlapping regions below the free frames (${bytes >>> 20} MiB)`, () => {
      const l = new KernelLayout(bytes);
      const regions = [l.kglobals, l.percpu, l.csd, l.tasks, l.mms, l.shmem, l.futex, l.freeStack, l.pageRefs];
      for (let i = 1; i < regions.length; i++) expect(regions[i]!).toBeGreaterThan(regions[i - 1]!);
      expect(l.kglobals).toBeGreaterThanOrEqual(1024); // frame 0 is never used
      expect(l.swapperPgDir % 4096).toBe(0);
      expect(l.swapperPgDir / 4).toBeGreaterThanOrEqual(l.pageRefs + l.totalFrames);
      expect(l.firstFreeFrame).toBe(l.vmallocPtFrame + l.vmallocPtFrames);
      // At least half of RAM is left for the guest even at the smallest size.
      expect(l.totalFrames - l.firstFreeFrame).toBeGreaterThan(l.totalFrames / 2);
    });
  }

  it('keeps RAM\'s direct map below the vmalloc area', () => {
    expect(PAGE_OFFSET + MAX_RAM_BYTES).toBeLessThanOrEqual(VMALLOC_START);
    expect(VMALLOC_END).toBeGreaterThan(VMALLOC_START);
  });
});
