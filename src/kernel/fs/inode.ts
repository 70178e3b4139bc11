/**
 * Inodes, the INODE slots in guest RAM (layout.ts): an inode's lock, its references (iget, and
 * iput, whose last reference evicts it), slot allocation, and the wake-up of a pipe inode's
 * sleepers. The bottom of src/kernel/fs: every other file here builds on this one, and this one
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
    if (i32[ib + INODE.type] === InodeType.Regular) this.shmem.put(i32[ib + INODE.shmem]!);
    else this.frames.put(i32[ib + INODE.pipeFrame]! as Pfn);
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
      return s;
    }
    return -1;
  }

  /** A pipe changed (data, space, an end closed): wake its sleepers and every ppoll. */
  pipeChanged(ino: number): void {
    const { layout } = this.k;
    this.futex.wakeKernel(layout.inodeBase(ino) + INODE.seq);
    this.futex.wakeKernel(layout.kglobals + KGLOBALS.pollSeq);
  }
}
