/**
 * Files: descriptor tables (files_struct), open files (struct file), and a small in-memory file
 * system — tmpfs in spirit: a regular file's pages live in a shmem object, so mapping it
 * MAP_SHARED maps the file's own pages — with two directories, "/" and "/tmp", and no others;
 * and pipes. The console is fd 0 (reads end-of-file), 1 and 2.
 *
 * Everything lives in guest RAM (layout.ts INODE, FILE, FDTABLE) because a process's threads
 * run on several vCPU workers. Runs on the vCPU worker of the calling task.
 *
 * Locking, outermost first: a descriptor table's lock (only to look up, install or clear a
 * descriptor); KGLOBALS.fsLock (slot allocation and the namespace); an inode's lock (its size,
 * data, the file position of files open on it, a pipe's buffer); the shmem object's lock. No
 * lock is held across a user-memory access: data cross through a kernel buffer, as a bounce
 * buffer would, since a user access can fault and a fault can need other CPUs.
 *
 * Lifetimes: a file holds its inode; a descriptor, or a call in progress, holds its file; a name
 * holds its inode (nlink). A slot is free when its type/kind word is Free; the CPU that drops
 * the last reference reads what it needs, tears down, then stores Free.
 */
import type { KernelContext } from '../context.js';
import { EBADF } from '../../uapi/errno.js';
import type { FrameAllocator } from '../frames.js';
import { Inodes } from './inode.js';
import { FdTables } from './fdtable.js';
import { MAX_FILE_BYTES, RegularFiles, STAT64_BYTES } from './regular.js';
import { Namei } from './namei.js';
import { PIPE_BUF, Pipes } from './pipe.js';
import type { Futexes } from '../futex.js';
import { FILE, FileKind, INODE, KGLOBALS } from '../layout.js';
import type { AddressSpaces } from '../mm.js';
import type { TaskRun } from '../sched.js';
import { type SharedMemory } from '../shmem.js';
import { O_ACCMODE, O_RDONLY, O_WRONLY } from '../../uapi/fcntl.js';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM } from '../../uapi/poll.js';

/** What a file without its own poll reports: always readable and writable (DEFAULT_POLLMASK). */
const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/** Most bytes one read or write moves (a short transfer beyond it, as Linux's MAX_RW_COUNT is). */
export const MAX_RW = 1 << 20;
export { MAX_FILE_BYTES, PIPE_BUF, STAT64_BYTES };

export class FileSystem {
  private readonly decoder = new TextDecoder();
  private readonly inodes: Inodes;
  private readonly fdt: FdTables;
  private readonly files: RegularFiles;
  private readonly namei: Namei;
  private readonly pipes: Pipes;

  constructor(
    private readonly k: KernelContext,
    frames: FrameAllocator,
    shmem: SharedMemory,
    futex: Futexes,
    mms: AddressSpaces,
  ) {
    this.inodes = new Inodes(k, frames, shmem, futex);
    this.fdt = new FdTables(k, this.inodes);
    this.files = new RegularFiles(k, shmem, mms, this.inodes, this.fdt);
    this.namei = new Namei(k, shmem, this.inodes, this.fdt, this.files);
    this.pipes = new Pipes(k, frames, futex, this.inodes, this.fdt);
  }

  // --- descriptor tables (fdtable.ts) ---

  bootInit(): void {
    this.fdt.bootInit();
  }

  initFiles(): number {
    return this.fdt.initFiles();
  }

  cloneFiles(parent: TaskRun, share: boolean): number {
    return this.fdt.cloneFiles(parent, share);
  }

  exitFiles(run: TaskRun): void {
    this.fdt.exitFiles(run);
  }

  dropFiles(files: number): void {
    this.fdt.dropFiles(files);
  }

  close(run: TaskRun, fd: number): number {
    return this.fdt.close(run, fd);
  }

  // --- the namespace (namei.ts) ---

  openat(run: TaskRun, dirfd: number, pathVa: number, flags: number, mode: number): number {
    return this.namei.openat(run, dirfd, pathVa, flags, mode);
  }

  unlinkat(dirfd: number, pathVa: number, flags: number): number {
    return this.namei.unlinkat(dirfd, pathVa, flags);
  }

  // --- regular files (regular.ts) ---

  ftruncate(run: TaskRun, fd: number, lo: number, hi: number): number {
    return this.files.ftruncate(run, fd, lo, hi);
  }

  llseek(run: TaskRun, fd: number, hi: number, lo: number, resultVa: number, whence: number): number {
    return this.files.llseek(run, fd, hi, lo, resultVa, whence);
  }

  fstat(run: TaskRun, fd: number, statVa: number): number {
    return this.files.fstat(run, fd, statVa);
  }

  mapFile(run: TaskRun, fd: number, prot: number, flags: number): number {
    return this.files.mapFile(run, fd, prot, flags);
  }

  // --- read and write, for every kind of file ---

  /**
   * read(fd, buf, len) — and readv, whose vectors the caller gathered into one length and
   * scatters with `deliver`. May sleep on a pipe; then the call restarts when woken.
   */
  read(run: TaskRun, fd: number, len: number, deliver: (data: Uint8Array) => number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      const n = Math.min(len, MAX_RW);
      switch (i32[fb + FILE.kind]) {
        case FileKind.Console:
          // pvemu's console has no input: fd 0 is at end of file; 1 and 2 are write-only.
          return i32[fb + FILE.stream] === 0 ? 0 : -EBADF;
        case FileKind.Regular: {
          if ((i32[fb + FILE.flags]! & O_ACCMODE) === O_WRONLY) return -EBADF;
          const data = this.files.readRegular(fb, n);
          return typeof data === 'number' ? data : this.delivered(deliver(data), data.length);
        }
        case FileKind.PipeRead: {
          const data = this.pipes.readPipe(run, fb, n);
          return typeof data === 'number' ? data : this.delivered(deliver(data), data.length);
        }
        default:
          return -EBADF;
      }
    });
  }

  /** write(fd, buf, len) — and writev: `gather` copies the caller's bytes in (or -EFAULT). */
  write(run: TaskRun, fd: number, len: number, gather: (n: number) => Uint8Array | number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      const kind = i32[fb + FILE.kind]!;
      if (kind === FileKind.PipeRead || (i32[fb + FILE.flags]! & O_ACCMODE) === O_RDONLY) return -EBADF;
      const data = gather(Math.min(len, MAX_RW));
      if (typeof data === 'number') return data;
      switch (kind) {
        case FileKind.Console:
          this.k.machine.console(this.decoder.decode(data), i32[fb + FILE.stream]!);
          return data.length;
        case FileKind.Regular:
          return this.files.writeRegular(fb, data);
        default:
          return this.pipes.writePipe(run, fb, data);
      }
    });
  }

  private delivered(r: number, n: number): number {
    return r < 0 ? r : n;
  }

  // --- pipes (pipe.ts) ---

  pipe2(run: TaskRun, fdsVa: number, flags: number): number {
    return this.pipes.pipe2(run, fdsVa, flags);
  }

  // --- poll ---

  /** The ppoll sequence word: bumped on every pipe change (pipeChanged). */
  get pollSeqWord(): number {
    return this.k.layout.kglobals + KGLOBALS.pollSeq;
  }

  /** What `fd` is ready for, masked to `events` (POLLERR, POLLHUP and POLLNVAL always count). */
  pollRevents(run: TaskRun, fd: number, events: number): number {
    const r = this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32, layout } = this.k;
      const kind = i32[fb + FILE.kind]!;
      if (kind !== FileKind.PipeRead && kind !== FileKind.PipeWrite) return DEFAULT_POLLMASK;
      const ib = layout.inodeBase(i32[fb + FILE.inode]!);
      // ORDERING: a snapshot; pairs with the pipe's updates under its lock and the pollSeq bump
      // after them (a change after this read moves pollSeq, which the sleeper rechecks).
      const used = (Atomics.load(i32, ib + INODE.pipeHead) - Atomics.load(i32, ib + INODE.pipeTail)) | 0;
      if (kind === FileKind.PipeRead) {
        return (used > 0 ? POLLIN | POLLRDNORM : 0) | (Atomics.load(i32, ib + INODE.writers) === 0 ? POLLHUP : 0);
      }
      return (used < PIPE_BUF ? POLLOUT | POLLWRNORM : 0) | (Atomics.load(i32, ib + INODE.readers) === 0 ? POLLERR : 0);
    });
    return r === -EBADF ? POLLNVAL : r & (events | POLLERR | POLLHUP);
  }
}
