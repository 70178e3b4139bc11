/**
 * Shared memory objects (Linux's shmem): a page index in guest memory from page offset to frame,
 * so pages survive MADV_DONTNEED and are seen by every mapping. Two users: MAP_SHARED |
 * MAP_ANONYMOUS mappings, and the in-memory file system's regular files
 * (src/kernel/fs/regular.ts), whose data live in one object each, as tmpfs files do. Runs on a
 * vCPU worker.
 *
 * Each object holds one reference on each of its frames, and on the index frames (allocated on
 * first use); each PTE mapping a page holds another. `pages` is the object's size: a page at or
 * past it does not exist (a file mapping's fault there is SIGBUS).
 */
import { PAGE_SIZE } from '../hw/paging.js';
import type { Pfn } from '../hw/types.js';
import type { KernelContext } from './context.js';
import type { FrameAllocator } from './frames.js';
import { KGLOBALS, MAX_SHMEM, SHMEM, SHMEM_INDEX_FRAMES, type KernelLayout } from './layout.js';
import { spinLock, spinUnlock } from './sync.js';

const PAGES_PER_INDEX_FRAME = PAGE_SIZE / 4;
/** The largest object: every index frame full (256 MiB). */
export const SHMEM_MAX_PAGES = SHMEM_INDEX_FRAMES * PAGES_PER_INDEX_FRAME;

export class SharedMemory {
  constructor(private readonly k: KernelContext, private readonly frames: FrameAllocator) {}

  /** A new object of `pages` pages with one reference: its id (index + 1), or 0 if none is free or too big. */
  create(pages: number): number {
    const { i32, layout, cpu, spinner } = this.k;
    if (pages > SHMEM_MAX_PAGES) return 0;
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
    for (let i = 0; i < SHMEM_INDEX_FRAMES; i++) i32[b + SHMEM.index + i] = 0;
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
    for (const f of this.detach(b, 0, SHMEM_MAX_PAGES)) this.frames.put(f as Pfn);
    for (let i = 0; i < SHMEM_INDEX_FRAMES; i++) {
      const idx = i32[b + SHMEM.index + i]!;
      if (idx === 0) continue;
      this.frames.put(idx as Pfn);
      i32[b + SHMEM.index + i] = 0;
    }
  }

  /** The object's size in pages. */
  size(id: number): number {
    return this.k.i32[this.k.layout.shmemBase(id - 1) + SHMEM.pages]!;
  }

  /**
   * The frame at page `pgoff`, allocated zeroed on first use; 0 if past the object's size or out
   * of memory.
   */
  page(id: number, pgoff: number): Pfn {
    const { i32, layout, cpu, spinner } = this.k;
    const b = layout.shmemBase(id - 1);
    spinLock(i32, b + SHMEM.lock, cpu, spinner);
    let f = 0;
    if (pgoff >= 0 && pgoff < i32[b + SHMEM.pages]!) {
      const slot = this.slot(b, pgoff, true);
      if (slot !== 0) {
        f = i32[slot]!;
        if (f === 0) {
          f = this.frames.allocZeroed();
          i32[slot] = f;
        }
      }
    }
    spinUnlock(i32, b + SHMEM.lock);
    return f as Pfn;
  }

  /** The frame at page `pgoff` if it has one (a hole reads as zeros without allocating), else 0. */
  peek(id: number, pgoff: number): Pfn {
    const { i32, layout, cpu, spinner } = this.k;
    const b = layout.shmemBase(id - 1);
    spinLock(i32, b + SHMEM.lock, cpu, spinner);
    const slot = pgoff >= 0 && pgoff < i32[b + SHMEM.pages]! ? this.slot(b, pgoff, false) : 0;
    const f = slot !== 0 ? i32[slot]! : 0;
    spinUnlock(i32, b + SHMEM.lock);
    return f as Pfn;
  }

  /**
   * Set the object's size (ftruncate). Growing adds holes; shrinking drops the object's
   * references on the pages past the new end (mappings still holding them keep them until they
   * are zapped, shmem_truncate_range then unmap_mapping_range). Returns false when `pages` is
   * beyond the largest object.
   */
  resize(id: number, pages: number): boolean {
    const { i32, layout, cpu, spinner } = this.k;
    if (pages < 0 || pages > SHMEM_MAX_PAGES) return false;
    const b = layout.shmemBase(id - 1);
    spinLock(i32, b + SHMEM.lock, cpu, spinner);
    const old = i32[b + SHMEM.pages]!;
    i32[b + SHMEM.pages] = pages;
    const freed = pages < old ? this.detach(b, pages, old) : [];
    spinUnlock(i32, b + SHMEM.lock);
    for (const f of freed) this.frames.put(f as Pfn);
    return true;
  }

  /** Word index of page `pgoff`'s entry in the index (allocating its index frame if `create`), or 0. */
  private slot(b: number, pgoff: number, create: boolean): number {
    const { i32 } = this.k;
    const at = b + SHMEM.index + Math.floor(pgoff / PAGES_PER_INDEX_FRAME);
    let idx = i32[at]!;
    if (idx === 0) {
      if (!create) return 0;
      idx = this.frames.allocZeroed();
      if (idx === 0) return 0;
      i32[at] = idx;
    }
    return idx * PAGES_PER_INDEX_FRAME + (pgoff % PAGES_PER_INDEX_FRAME);
  }

  /** Take the pages from `from` up out of the index; returns their frames. Object lock held (or sole owner). */
  private detach(b: number, from: number, to: number): number[] {
    const { i32 } = this.k;
    const out: number[] = [];
    for (let p = from; p < to; p++) {
      const slot = this.slot(b, p, false);
      if (slot === 0) {
        p = (Math.floor(p / PAGES_PER_INDEX_FRAME) + 1) * PAGES_PER_INDEX_FRAME - 1;
        continue;
      }
      const f = i32[slot]!;
      if (f === 0) continue;
      i32[slot] = 0;
      out.push(f);
    }
    return out;
  }
}

/**
 * Frames held by shared-memory objects still alive, from guest memory: index frames plus pages.
 * At power-off only files left in the in-memory file system hold any (the conservation law's
 * frames the kernel keeps). Main thread, after every vCPU has stopped.
 */
export function shmemHeldFrames(i32: Int32Array, layout: KernelLayout): number {
  let n = 0;
  for (let s = 0; s < MAX_SHMEM; s++) {
    const b = layout.shmemBase(s);
    if (Atomics.load(i32, b + SHMEM.refs) === 0) continue;
    for (let i = 0; i < SHMEM_INDEX_FRAMES; i++) {
      const idx = i32[b + SHMEM.index + i]!;
      if (idx === 0) continue;
      n++;
      for (let p = 0; p < PAGES_PER_INDEX_FRAME; p++) if (i32[idx * PAGES_PER_INDEX_FRAME + p] !== 0) n++;
    }
  }
  return n;
}
