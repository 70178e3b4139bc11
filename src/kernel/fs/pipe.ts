/**
 * Pipes (Linux's fs/pipe.c): pipe2, and read and write of a pipe's ends. A pipe is a FIFO inode
 * whose buffer is one zeroed frame (INODE.pipeFrame) used as a ring (pipeHead, pipeTail); a
 * reader or writer that has to wait sleeps on the inode's kernel wait key (INODE.seq, woken by
 * inode.ts's pipeChanged) unless the file is O_NONBLOCK, and the call restarts when woken.
 * Closing an end is fdtable.ts's fput.
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import { PAGE_SIZE } from '../../hw/paging.js';
import type { KernelContext } from '../context.js';
import { EAGAIN, EINVAL, ENFILE, ENOMEM, EPIPE } from '../../uapi/errno.js';
import type { FrameAllocator } from '../frames.js';
import type { Futexes } from '../futex.js';
import { FILE, FileKind, INODE, InodeType, KGLOBALS } from '../layout.js';
import type { TaskRun } from '../sched.js';
import { SYSCALL_BLOCKED } from '../../uapi/program.js';
import { spinLock, spinUnlock } from '../sync.js';
import { uaccess } from '../uaccess.js';
import { O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY } from '../../uapi/fcntl.js';
import type { FdTables } from './fdtable.js';
import type { Inodes } from './inode.js';

/** A pipe's buffer: one page, so PIPE_BUF (writes that never interleave) is its whole capacity. */
export const PIPE_BUF = PAGE_SIZE;

export class Pipes {
  constructor(
    private readonly k: KernelContext,
    private readonly frames: FrameAllocator,
    private readonly futex: Futexes,
    private readonly inodes: Inodes,
    private readonly fdt: FdTables,
  ) {}

  /** pipe2(fds, flags): a pipe's read end at fds[0] and write end at fds[1]. */
  pipe2(run: TaskRun, fdsVa: number, flags: number): number {
    const { i32, layout, cpu, spinner, user } = this.k;
    if ((flags & ~(O_NONBLOCK | O_CLOEXEC | O_DIRECT)) !== 0) return -EINVAL;
    const frame = this.frames.allocZeroed();
    if (frame === 0) return -ENOMEM;
    const lock = layout.kglobals + KGLOBALS.fsLock;
    spinLock(i32, lock, cpu, spinner);
    const ino = this.inodes.allocInode(InodeType.Fifo, 2);
    if (ino >= 0) {
      const ib = layout.inodeBase(ino);
      i32[ib + INODE.pipeFrame] = frame;
      i32[ib + INODE.readers] = 1;
      i32[ib + INODE.writers] = 1;
    }
    spinUnlock(i32, lock);
    if (ino < 0) {
      this.frames.put(frame);
      return -ENFILE;
    }
    const nonblock = flags & O_NONBLOCK;
    const rf = this.fdt.allocFile(FileKind.PipeRead, ino, O_RDONLY | nonblock);
    const wf = rf < 0 ? -1 : this.fdt.allocFile(FileKind.PipeWrite, ino, O_WRONLY | nonblock);
    if (wf < 0) {
      // Only what exists is dropped: each end holds one of the inode's two references.
      if (rf >= 0) this.fdt.fput(rf);
      else this.inodes.iput(ino);
      this.inodes.iput(ino);
      return -ENFILE;
    }
    const rfd = this.fdt.install(run, rf);
    if (rfd < 0) {
      this.fdt.fput(wf);
      return rfd;
    }
    const wfd = this.fdt.install(run, wf);
    if (wfd < 0) {
      this.fdt.close(run, rfd);
      return wfd;
    }
    const r = uaccess(() => {
      user.store32(fdsVa, rfd);
      user.store32(fdsVa + 4, wfd);
      return 0;
    });
    if (r < 0) {
      this.fdt.close(run, rfd);
      this.fdt.close(run, wfd);
    }
    return r;
  }

  /** Read from a pipe: its bytes (read() copies them out), 0 at end of file, or -errno. */
  readPipe(run: TaskRun, fb: number, len: number): Uint8Array | number {
    const { i32, layout, ram } = this.k;
    const ino = i32[fb + FILE.inode]!;
    const ib = layout.inodeBase(ino);
    const buf = i32[ib + INODE.pipeFrame]! * PAGE_SIZE;
    if (len === 0) return 0;
    for (;;) {
      this.inodes.lockInode(ino);
      const head = i32[ib + INODE.pipeHead]!;
      const tail = i32[ib + INODE.pipeTail]!;
      const avail = (head - tail) | 0;
      if (avail > 0) {
        const n = Math.min(len, avail);
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = ram.bytes[buf + ((tail + i) & (PIPE_BUF - 1))]!;
        i32[ib + INODE.pipeTail] = (tail + n) | 0;
        this.inodes.unlockInode(ino);
        this.inodes.pipeChanged(ino);
        return out;
      }
      const writers = i32[ib + INODE.writers]!;
      const seen = Atomics.load(i32, ib + INODE.seq);
      this.inodes.unlockInode(ino);
      if (writers === 0) return 0;
      if ((i32[fb + FILE.flags]! & O_NONBLOCK) !== 0) return -EAGAIN;
      const r = this.futex.waitKernel(run, ib + INODE.seq, seen, -1);
      if (r === SYSCALL_BLOCKED) return r;
    }
  }

  /**
   * Write to a pipe: up to PIPE_BUF bytes go in at once or not at all; more may go in pieces.
   * A blocking write sleeps until it is all in; what it already wrote is run.restartProgress,
   * so the restarted call goes on from there. No readers: -EPIPE (SIGPIPE is not delivered).
   */
  writePipe(run: TaskRun, fb: number, data: Uint8Array): number {
    const { i32, layout, ram } = this.k;
    const ino = i32[fb + FILE.inode]!;
    const ib = layout.inodeBase(ino);
    const buf = i32[ib + INODE.pipeFrame]! * PAGE_SIZE;
    const n = data.length;
    let done = Math.min(run.restartProgress, n);
    for (;;) {
      this.inodes.lockInode(ino);
      if (i32[ib + INODE.readers] === 0) {
        this.inodes.unlockInode(ino);
        return done > 0 ? done : -EPIPE;
      }
      const head = i32[ib + INODE.pipeHead]!;
      const space = PIPE_BUF - ((head - i32[ib + INODE.pipeTail]!) | 0);
      const left = n - done;
      if (space > 0 && (n > PIPE_BUF || space >= left)) {
        const k = Math.min(space, left);
        for (let i = 0; i < k; i++) ram.bytes[buf + ((head + i) & (PIPE_BUF - 1))] = data[done + i]!;
        i32[ib + INODE.pipeHead] = (head + k) | 0;
        done += k;
        this.inodes.unlockInode(ino);
        this.inodes.pipeChanged(ino);
        if (done === n) return n;
        continue;
      }
      const seen = Atomics.load(i32, ib + INODE.seq);
      this.inodes.unlockInode(ino);
      if ((i32[fb + FILE.flags]! & O_NONBLOCK) !== 0) return done > 0 ? done : -EAGAIN;
      run.restartProgress = done;
      const r = this.futex.waitKernel(run, ib + INODE.seq, seen, -1);
      if (r === SYSCALL_BLOCKED) return r;
    }
  }
}
