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
 *
 * The index: the first 256 MiB through 64 direct index frames; beyond, up to SHMEM_MAX_PAGES
 * (4 TiB), a three-level far index (SHMEM.far), as sparse as the pages in it — a file written
 * at 5 GiB holds one page and three index frames for it. Index frames wholly past a shrunken
 * size are freed with the pages they indexed.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import type { Pfn } from '../hw/types.js';
import type { KernelContext } from './context.js';
import type { FrameAllocator } from './frames.js';
import { KGLOBALS, MAX_SHMEM, SHMEM, SHMEM_INDEX_FRAMES, type KernelLayout } from './layout.js';
import { spinLock, spinUnlock } from './sync.js';

const PAGES_PER_INDEX_FRAME = PAGE_SIZE / 4;
/** Entries of one index frame, at every level. */
const FANOUT = PAGES_PER_INDEX_FRAME;
/** Pages the direct index reaches: the first 256 MiB. */
export const SHMEM_DIRECT_PAGES = SHMEM_INDEX_FRAMES * PAGES_PER_INDEX_FRAME;
/**
 * The largest object: what the far index reaches, three levels of 1024 entries (2^30 pages,
 * 4 TiB). Pages below SHMEM_DIRECT_PAGES never use the far index.
 */
export const SHMEM_MAX_PAGES = FANOUT * FANOUT * FANOUT;

/** A leaf index frame's entries from page `lo` up to `hi`; `base` is the leaf's first page. */
type LeafVisitor = (leaf: number, lo: number, hi: number, base: number) => void;

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
    i32[b + SHMEM.far] = 0;
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
    const freed = this.detach(b, 0, SHMEM_MAX_PAGES);
    this.prune(b, 0, freed);
    for (const f of freed) this.frames.put(f as Pfn);
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
    // Index frames wholly past the new end can hold nothing now: a sparse file cut short
    // gives back its far index too.
    if (pages < old) this.prune(b, pages, freed);
    spinUnlock(i32, b + SHMEM.lock);
    for (const f of freed) this.frames.put(f as Pfn);
    return true;
  }

  /**
   * Drop the pages from `from` up to `to` (fallocate's PUNCH_HOLE): they read as zeros again
   * and their frames go back, but the object keeps its size. Mappings of them must be zapped
   * by the caller (unmap_mapping_range), as for a truncation.
   */
  punch(id: number, from: number, to: number): void {
    const { i32, layout, cpu, spinner } = this.k;
    const b = layout.shmemBase(id - 1);
    spinLock(i32, b + SHMEM.lock, cpu, spinner);
    const freed = this.detach(b, Math.max(0, from), Math.min(to, i32[b + SHMEM.pages]!));
    spinUnlock(i32, b + SHMEM.lock);
    for (const f of freed) this.frames.put(f as Pfn);
  }

  /** Pages that have a frame (st_blocks' count): holes are not counted. */
  residentPages(id: number): number {
    const { i32, layout, cpu, spinner } = this.k;
    const b = layout.shmemBase(id - 1);
    let n = 0;
    spinLock(i32, b + SHMEM.lock, cpu, spinner);
    this.walk(b, 0, i32[b + SHMEM.pages]!, (leaf, lo, hi, base) => {
      for (let p = lo; p < hi; p++) if (i32[leaf * FANOUT + p - base] !== 0) n++;
    });
    spinUnlock(i32, b + SHMEM.lock);
    return n;
  }

  /**
   * Word index of page `pgoff`'s entry in the index (allocating index frames on the way if
   * `create`), or 0. Below SHMEM_DIRECT_PAGES one direct index frame; past it the far index's
   * three levels, as a radix tree's nodes.
   */
  private slot(b: number, pgoff: number, create: boolean): number {
    if (pgoff < SHMEM_DIRECT_PAGES) {
      const at = b + SHMEM.index + Math.floor(pgoff / PAGES_PER_INDEX_FRAME);
      return this.descend(at, pgoff % PAGES_PER_INDEX_FRAME, create);
    }
    const top = this.descend(b + SHMEM.far, Math.floor(pgoff / (FANOUT * FANOUT)), create);
    if (top === 0) return 0;
    const mid = this.descend(top, Math.floor(pgoff / FANOUT) % FANOUT, create);
    return mid === 0 ? 0 : this.descend(mid, pgoff % FANOUT, create);
  }

  /** The word of entry `i` in the index frame the word `at` names (allocated if `create`), or 0. */
  private descend(at: number, i: number, create: boolean): number {
    const { i32 } = this.k;
    let frame = i32[at]!;
    if (frame === 0) {
      if (!create) return 0;
      frame = this.frames.allocZeroed();
      if (frame === 0) return 0;
      i32[at] = frame;
    }
    return frame * FANOUT + i;
  }

  /**
   * Visit the leaf index frames that exist for pages `from` up to `to`, each with the part of
   * the range it covers. Skips whole missing subtrees, so a sparse object costs what it holds.
   */
  private walk(b: number, from: number, to: number, visit: LeafVisitor): void {
    const { i32 } = this.k;
    for (let i = Math.floor(from / FANOUT); i < SHMEM_INDEX_FRAMES && i * FANOUT < to; i++) {
      const leaf = i32[b + SHMEM.index + i]!;
      if (leaf !== 0) visit(leaf, Math.max(from, i * FANOUT), Math.min(to, (i + 1) * FANOUT), i * FANOUT);
    }
    const top = i32[b + SHMEM.far]!;
    const lo = Math.max(from, SHMEM_DIRECT_PAGES);
    if (top === 0 || lo >= to) return;
    const span = FANOUT * FANOUT;
    for (let t = Math.floor(lo / span); t < FANOUT && t * span < to; t++) {
      const mid = i32[top * FANOUT + t]!;
      if (mid === 0) continue;
      const first = Math.max(lo, t * span);
      for (let m = Math.floor((first - t * span) / FANOUT); m < FANOUT && t * span + m * FANOUT < to; m++) {
        const leaf = i32[mid * FANOUT + m]!;
        const base = t * span + m * FANOUT;
        if (leaf !== 0) visit(leaf, Math.max(first, base), Math.min(to, base + FANOUT), base);
      }
    }
  }

  /** Take the pages from `from` up to `to` out of the index; returns their frames. Object lock held (or sole owner). */
  private detach(b: number, from: number, to: number): number[] {
    const { i32 } = this.k;
    const out: number[] = [];
    this.walk(b, from, to, (leaf, lo, hi, base) => {
      for (let p = lo; p < hi; p++) {
        const w = leaf * FANOUT + p - base;
        const f = i32[w]!;
        if (f === 0) continue;
        i32[w] = 0;
        out.push(f);
      }
    });
    return out;
  }

  /**
   * Take out the index frames that cover only pages from `pages` on (detached already, so
   * empty), adding them to `freed`. Object lock held (or sole owner).
   */
  private prune(b: number, pages: number, freed: number[]): void {
    const { i32 } = this.k;
    const take = (at: number): void => {
      freed.push(i32[at]!);
      i32[at] = 0;
    };
    for (let i = 0; i < SHMEM_INDEX_FRAMES; i++) {
      if (i * FANOUT >= pages && i32[b + SHMEM.index + i] !== 0) take(b + SHMEM.index + i);
    }
    const top = i32[b + SHMEM.far]!;
    if (top === 0) return;
    const span = FANOUT * FANOUT;
    // Far pages start at SHMEM_DIRECT_PAGES: the first middle frame's low entries are unused.
    const start = (from: number): number => Math.max(from, SHMEM_DIRECT_PAGES);
    for (let t = 0; t < FANOUT; t++) {
      const mid = i32[top * FANOUT + t]!;
      if (mid === 0 || start((t + 1) * span) <= pages) continue;
      for (let m = 0; m < FANOUT; m++) {
        if (i32[mid * FANOUT + m] !== 0 && start(t * span + m * FANOUT) >= pages) take(mid * FANOUT + m);
      }
      if (start(t * span) >= pages) take(top * FANOUT + t);
    }
    if (start(0) >= pages) take(b + SHMEM.far);
  }
}

/**
 * Frames held by shared-memory objects still alive, from guest memory: index frames plus pages.
 * At power-off only files left in the in-memory file system hold any (the conservation law's
 * frames the kernel keeps). Main thread, after every vCPU has stopped.
 */
export function shmemHeldFrames(i32: Int32Array, layout: KernelLayout): number {
  /** An index frame: itself, plus what its entries hold (`depth` levels below it). */
  const held = (frame: number, depth: number): number => {
    if (frame === 0) return 0;
    let n = 1;
    for (let e = 0; e < FANOUT; e++) {
      const entry = i32[frame * FANOUT + e]!;
      if (entry !== 0) n += depth === 0 ? 1 : held(entry, depth - 1);
    }
    return n;
  };
  let n = 0;
  for (let s = 0; s < MAX_SHMEM; s++) {
    const b = layout.shmemBase(s);
    if (Atomics.load(i32, b + SHMEM.refs) === 0) continue;
    for (let i = 0; i < SHMEM_INDEX_FRAMES; i++) n += held(i32[b + SHMEM.index + i]!, 0);
    n += held(i32[b + SHMEM.far]!, 2);
  }
  return n;
}
