/**
 * The VMA table of one mm: a sorted array of vm_area_structs in guest memory, after the
 * mm_struct. Readers hold mmap_lock for read, writers for write. Runs on a vCPU worker.
 */
import type { KernelContext } from './context.js';
import { MAX_VMAS, MM, VMA } from './layout.js';


export interface VmaFields {
  start: number;
  end: number;
  prot: number;
  flags: number;
  shmem: number;
  pgoff: number;
}

export class VmaTable {
  constructor(private readonly k: KernelContext) {}

  count(mmBase: number): number {
    return this.k.i32[mmBase + MM.vmaCount]!;
  }

  base(mmBase: number, i: number): number {
    return this.k.layout.vmaBase(mmBase, i);
  }

  /** Index of the VMA containing `va`, or -1. */
  find(mmBase: number, va: number): number {
    const i32 = this.k.i32;
    const n = i32[mmBase + MM.vmaCount]!;
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.base(mmBase, mid);
      if (va >>> 0 < i32[b + VMA.start]! >>> 0) hi = mid - 1;
      else if (va >>> 0 >= i32[b + VMA.end]! >>> 0) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Index of the first VMA ending above `va` (the one containing it or the next), or count. */
  firstEndingAbove(mmBase: number, va: number): number {
    const i32 = this.k.i32;
    const n = i32[mmBase + MM.vmaCount]!;
    for (let i = 0; i < n; i++) if (i32[this.base(mmBase, i) + VMA.end]! >>> 0 > va >>> 0) return i;
    return n;
  }

  read(mmBase: number, i: number): VmaFields {
    const i32 = this.k.i32;
    const b = this.base(mmBase, i);
    return {
      start: i32[b + VMA.start]! >>> 0,
      end: i32[b + VMA.end]! >>> 0,
      prot: i32[b + VMA.prot]!,
      flags: i32[b + VMA.flags]!,
      shmem: i32[b + VMA.shmem]!,
      pgoff: i32[b + VMA.pgoff]!,
    };
  }

  private write(mmBase: number, i: number, v: VmaFields): void {
    const i32 = this.k.i32;
    const b = this.base(mmBase, i);
    i32[b + VMA.start] = v.start;
    i32[b + VMA.end] = v.end;
    i32[b + VMA.prot] = v.prot;
    i32[b + VMA.flags] = v.flags;
    i32[b + VMA.shmem] = v.shmem;
    i32[b + VMA.pgoff] = v.pgoff;
  }

  /** Insert keeping the array sorted; false if the table is full. Caller checked no overlap. */
  insert(mmBase: number, v: VmaFields): boolean {
    const i32 = this.k.i32;
    const n = i32[mmBase + MM.vmaCount]!;
    if (n >= MAX_VMAS) return false;
    let at = n;
    while (at > 0 && i32[this.base(mmBase, at - 1) + VMA.start]! >>> 0 > v.start) {
      this.write(mmBase, at, this.read(mmBase, at - 1));
      at--;
    }
    this.write(mmBase, at, v);
    i32[mmBase + MM.vmaCount] = n + 1;
    return true;
  }

  remove(mmBase: number, i: number): void {
    const i32 = this.k.i32;
    const n = i32[mmBase + MM.vmaCount]!;
    for (let j = i; j < n - 1; j++) this.write(mmBase, j, this.read(mmBase, j + 1));
    i32[mmBase + MM.vmaCount] = n - 1;
  }

  /** Replace VMA i's fields (same position in the order). */
  update(mmBase: number, i: number, v: VmaFields): void {
    this.write(mmBase, i, v);
  }

  /**
   * Split VMA i at `at` (page aligned, strictly inside): i keeps [start, at), a new VMA
   * [at, end) follows. False if the table is full.
   */
  split(mmBase: number, i: number, at: number): boolean {
    const v = this.read(mmBase, i);
    if (this.count(mmBase) >= MAX_VMAS) return false;
    const tail: VmaFields = { ...v, start: at, pgoff: v.pgoff + ((at - v.start) >>> 12) };
    this.write(mmBase, i, { ...v, end: at });
    return this.insert(mmBase, tail);
  }

  /** A free range of `len` bytes at or above `floor` below `ceiling`, or -1 (first fit). */
  findFreeRange(mmBase: number, len: number, floor: number, ceiling: number): number {
    const i32 = this.k.i32;
    const n = i32[mmBase + MM.vmaCount]!;
    let candidate = floor;
    for (let i = 0; i < n; i++) {
      const b = this.base(mmBase, i);
      const s = i32[b + VMA.start]! >>> 0;
      const e = i32[b + VMA.end]! >>> 0;
      if (e <= candidate) continue;
      if (s >= candidate + len) break;
      candidate = e;
    }
    return candidate + len <= ceiling ? candidate : -1;
  }

  /** True if [start, end) overlaps any VMA. */
  overlaps(mmBase: number, start: number, end: number): boolean {
    const i = this.firstEndingAbove(mmBase, start);
    return i < this.count(mmBase) && this.read(mmBase, i).start < end;
  }
}
