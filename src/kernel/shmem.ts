/**
 * Shared anonymous memory objects (MAP_SHARED | MAP_ANONYMOUS, Linux's shmem): a page index in
 * guest memory from page offset to frame, so pages survive MADV_DONTNEED and are seen by every
 * mapping. Runs on a vCPU worker. Each object holds one reference on each of its frames; each
 * PTE mapping one holds another.
 */
import type { Pfn } from '../hw/types.js';
import type { KernelContext } from './context.js';
import type { FrameAllocator } from './frames.js';
import { KGLOBALS, MAX_SHMEM, SHMEM, SHMEM_INDEX_FRAMES } from './layout.js';
import { spinLock, spinUnlock } from './sync.js';

const PAGES_PER_INDEX_FRAME = 1024;

export class SharedMemory {
  constructor(private readonly k: KernelContext, private readonly frames: FrameAllocator) {}

  /** A new object of `pages` pages with one reference: its id (index + 1), or 0 if none is free or too big. */
  create(pages: number): number {
    const { i32, layout, cpu, spinner } = this.k;
    if (pages > SHMEM_INDEX_FRAMES * PAGES_PER_INDEX_FRAME) return 0;
    const lock = layout.kglobals + KGLOBALS.tableLock;
    spinLock(i32, lock, cpu, spinner);
    let slot = -1;
    for (let s = 0; s < MAX_SHMEM; s++) {
      if (i32[layout.shmemBase(s) + SHMEM.refs] === 0) { slot = s; break; }
    }
    if (slot >= 0) i32[layout.shmemBase(slot) + SHMEM.refs] = 1;
    spinUnlock(i32, lock);
    if (slot < 0) return 0;
    const b = layout.shmemBase(slot);
    i32[b + SHMEM.pages] = pages;
    const indexFrames = Math.ceil(pages / PAGES_PER_INDEX_FRAME);
    for (let i = 0; i < SHMEM_INDEX_FRAMES; i++) i32[b + SHMEM.index + i] = 0;
    for (let i = 0; i < indexFrames; i++) {
      const f = this.frames.allocZeroed();
      if (f === 0) {
        this.put(slot + 1);
        return 0;
      }
      i32[b + SHMEM.index + i] = f;
    }
    return slot + 1;
  }

  get(id: number): void {
    Atomics.add(this.k.i32, this.k.layout.shmemBase(id - 1) + SHMEM.refs, 1);
  }

  /** Drop a reference; the last one frees every page and the index. */
  put(id: number): void {
    const { i32, layout } = this.k;
    const b = layout.shmemBase(id - 1);
    // ORDERING: the CPU that takes refs to 0 owns the object (no one else can reach it).
    if (Atomics.sub(i32, b + SHMEM.refs, 1) !== 1) return;
    for (let i = 0; i < SHMEM_INDEX_FRAMES; i++) {
      const idx = i32[b + SHMEM.index + i]!;
      if (idx === 0) continue;
      const words = idx * (4096 / 4);
      for (let p = 0; p < PAGES_PER_INDEX_FRAME; p++) {
        const f = i32[words + p]!;
        if (f !== 0) this.frames.put(f as Pfn);
      }
      this.frames.put(idx as Pfn);
      i32[b + SHMEM.index + i] = 0;
    }
  }

  /** The frame at page `pgoff`, allocated zeroed on first use; 0 if out of range or memory. */
  page(id: number, pgoff: number): Pfn {
    const { i32, layout, cpu, spinner } = this.k;
    const b = layout.shmemBase(id - 1);
    if (pgoff < 0 || pgoff >= i32[b + SHMEM.pages]!) return 0 as Pfn;
    const idx = i32[b + SHMEM.index + Math.floor(pgoff / PAGES_PER_INDEX_FRAME)]!;
    const slot = idx * (4096 / 4) + (pgoff % PAGES_PER_INDEX_FRAME);
    spinLock(i32, b + SHMEM.lock, cpu, spinner);
    let f = i32[slot]!;
    if (f === 0) {
      f = this.frames.allocZeroed();
      i32[slot] = f;
    }
    spinUnlock(i32, b + SHMEM.lock);
    return f as Pfn;
  }
}
