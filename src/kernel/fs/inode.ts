/**
 * Inodes, the INODE slots in guest RAM (layout.ts): an inode's lock, its references (iget, and
 * iput, whose last reference evicts it), slot allocation, its 64-bit size and its timestamps,
 * and the wake-up of a pipe inode's sleepers. The bottom of src/kernel/fs: every other file here builds on this one, and this one
 * imports none of them. The pipe wake-up lives here rather than in pipe.ts because closing a
 * pipe end (fdtable.ts's fput) wakes the other end too.
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import type { Pfn } from '../../hw/types.js';
import type { KernelContext } from '../context.js';
import type { FrameAllocator } from '../frames.js';
import type { Futexes } from '../futex.js';
import { INODE, InodeType, KGLOBALS, MAX_INODES } from '../layout.js';
import type { SharedMemory } from '../shmem.js';
import { spinLock, spinUnlock } from '../sync.js';
import { realtime } from '../time.js';

/** Which timestamps an event sets (file_update_time's mtime and ctime, touch_atime's atime). */
export const enum Stamp {
  Access = 1,
  Modify = 2,
  Change = 4,
}

export class Inodes {
  constructor(
    private readonly k: KernelContext,
    private readonly frames: FrameAllocator,
    private readonly shmem: SharedMemory,
    private readonly futex: Futexes,
  ) {}

  lockInode(ino: number): void {
    spinLock(this.k.i32, this.k.layout.inodeBase(ino) + INODE.lock, this.k.cpu, this.k.spinner);
  }

  unlockInode(ino: number): void {
    spinUnlock(this.k.i32, this.k.layout.inodeBase(ino) + INODE.lock);
  }

  iget(ino: number): void {
    Atomics.add(this.k.i32, this.k.layout.inodeBase(ino) + INODE.refs, 1);
  }

  /** iput: the last reference frees the inode and its pages (evict). */
  iput(ino: number): void {
    const { i32, layout } = this.k;
    const ib = layout.inodeBase(ino);
    if (Atomics.sub(i32, ib + INODE.refs, 1) !== 1) return;
    const type = i32[ib + INODE.type]!;
    if (type === InodeType.Regular || type === InodeType.Symlink) this.shmem.put(i32[ib + INODE.shmem]!);
    else if (type === InodeType.Fifo) this.frames.put(i32[ib + INODE.pipeFrame]! as Pfn);
    // A directory holds no pages: its entries are its children's inodes.
    // ORDERING: frees the slot last; pairs with allocInode's load under fsLock.
    Atomics.store(i32, ib + INODE.type, InodeType.Free);
  }

  /** A new inode with `refs` references, or -1. Caller holds fsLock. */
  allocInode(type: InodeType, refs: number): number {
    const { i32, layout } = this.k;
    for (let s = 0; s < MAX_INODES; s++) {
      const ib = layout.inodeBase(s);
      if (Atomics.load(i32, ib + INODE.type) !== InodeType.Free) continue;
      for (let w = 0; w < INODE.WORDS; w++) i32[ib + w] = 0;
      i32[ib + INODE.type] = type;
      i32[ib + INODE.refs] = refs;
      this.touch(s, Stamp.Access | Stamp.Modify | Stamp.Change);
      return s;
    }
    return -1;
  }

  /** A regular file's or symlink's size in bytes (64 bits). Inode lock held, or fsLock for a symlink. */
  size(ino: number): number {
    const ib = this.k.layout.inodeBase(ino);
    return (this.k.i32[ib + INODE.size]! >>> 0) + this.k.i32[ib + INODE.sizeHi]! * 4294967296;
  }

  setSize(ino: number, size: number): void {
    const ib = this.k.layout.inodeBase(ino);
    this.k.i32[ib + INODE.size] = size % 4294967296;
    this.k.i32[ib + INODE.sizeHi] = Math.floor(size / 4294967296);
  }

  /**
   * Set the timestamps `which` names to the wall clock now. Under the inode's lock or fsLock;
   * a reader racing a writer may see a torn time, as stat on Linux can (no seqlock on i_mtime).
   */
  touch(ino: number, which: number): void {
    const { i32, layout, ops } = this.k;
    const ib = layout.inodeBase(ino);
    const now = realtime(ops);
    for (const [bit, at] of [[Stamp.Access, INODE.atime], [Stamp.Modify, INODE.mtime], [Stamp.Change, INODE.ctime]] as const) {
      if ((which & bit) === 0) continue;
      i32[ib + at] = now.sec % 4294967296;
      i32[ib + at + 1] = Math.floor(now.sec / 4294967296);
      i32[ib + at + 2] = now.nsec;
    }
  }

  /** A pipe changed (data, space, an end closed): wake its sleepers and every ppoll. */
  pipeChanged(ino: number): void {
    const { layout } = this.k;
    this.futex.wakeKernel(layout.inodeBase(ino) + INODE.seq);
    this.futex.wakeKernel(layout.kglobals + KGLOBALS.pollSeq);
  }
}
