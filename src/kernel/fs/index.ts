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
import { PAGE_SIZE } from '../../hw/paging.js';
import type { KernelContext } from '../context.js';
import { EAGAIN, EBADF, EBUSY, EEXIST, EINVAL, EISDIR, ENAMETOOLONG, ENFILE, ENOENT, ENOMEM, ENOSPC, ENOTDIR, EPIPE } from '../../uapi/errno.js';
import type { FrameAllocator } from '../frames.js';
import { Inodes } from './inode.js';
import { FdTables } from './fdtable.js';
import { MAX_FILE_BYTES, RegularFiles, STAT64_BYTES } from './regular.js';
import type { Futexes } from '../futex.js';
import { FILE, FS_NAME_BYTES, FileKind, INODE, InodeType, KGLOBALS, MAX_INODES, NR_OPEN } from '../layout.js';
import type { AddressSpaces } from '../mm.js';
import type { TaskRun } from '../sched.js';
import { type SharedMemory } from '../shmem.js';
import { SYSCALL_BLOCKED } from '../../uapi/program.js';
import { spinLock, spinUnlock } from '../sync.js';
import { uaccess } from '../uaccess.js';
import { AT_FDCWD, AT_REMOVEDIR, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_TRUNC, O_WRONLY } from '../../uapi/fcntl.js';
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM } from '../../uapi/poll.js';

/** Flags openat accepts; O_CLOEXEC, O_NOCTTY, O_LARGEFILE and O_NOFOLLOW change nothing here (no exec, no tty, no links). */
const OPEN_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

/** What a file without its own poll reports: always readable and writable (DEFAULT_POLLMASK). */
const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/** A pipe's buffer: one page, so PIPE_BUF (writes that never interleave) is its whole capacity. */
export const PIPE_BUF = PAGE_SIZE;
/** Most bytes one read or write moves (a short transfer beyond it, as Linux's MAX_RW_COUNT is). */
export const MAX_RW = 1 << 20;
export { MAX_FILE_BYTES, STAT64_BYTES };
const PATH_MAX = 4096;
const NAME_MAX = 255;

/** Where a path leads: one of the two directories, or a file name in one of them. */
type Resolved = { dir: true } | { dir: false; name: Int32Array };

export class FileSystem {
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private readonly inodes: Inodes;
  private readonly fdt: FdTables;
  private readonly files: RegularFiles;

  constructor(
    private readonly k: KernelContext,
    private readonly frames: FrameAllocator,
    private readonly shmem: SharedMemory,
    private readonly futex: Futexes,
    mms: AddressSpaces,
  ) {
    this.inodes = new Inodes(k, frames, shmem, futex);
    this.fdt = new FdTables(k, this.inodes);
    this.files = new RegularFiles(k, shmem, mms, this.inodes, this.fdt);
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

  // --- the namespace ---

  /** The named regular file's inode, or -1. Caller holds fsLock. */
  private lookup(name: Int32Array): number {
    const { i32, layout } = this.k;
    for (let s = 0; s < MAX_INODES; s++) {
      const ib = layout.inodeBase(s);
      if (i32[ib + INODE.type] !== InodeType.Regular || i32[ib + INODE.nlink] === 0) continue;
      let same = true;
      for (let w = 0; w < name.length && same; w++) same = i32[ib + INODE.name + w] === name[w];
      if (same) return s;
    }
    return -1;
  }

  /**
   * Resolve `path` (a user string) against the root: "/" and "/tmp" are the directories; a
   * file is a name in one of them. The working directory is "/"; a relative path needs AT_FDCWD.
   */
  private resolve(dirfd: number, pathVa: number): Resolved | number {
    const raw = this.readPath(pathVa);
    if (typeof raw === 'number') return raw;
    if (raw === '') return -ENOENT;
    if (!raw.startsWith('/') && dirfd !== AT_FDCWD) return dirfd >= 0 && dirfd < NR_OPEN ? -ENOTDIR : -EBADF;
    const parts: string[] = [];
    for (const c of raw.split('/')) {
      if (c.length > NAME_MAX) return -ENAMETOOLONG;
      if (c === '' || c === '.') continue;
      if (c === '..') parts.pop();
      else parts.push(c);
    }
    const trailingSlash = raw.endsWith('/');
    if (parts.length === 0 || (parts.length === 1 && parts[0] === 'tmp')) return { dir: true };
    if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'tmp')) {
      // Only "/tmp" has entries below it; anything else in the middle is a missing directory
      // (or, if it is a file, not a directory at all).
      const parent = this.resolveName(parts[0] === 'tmp' ? `/tmp/${parts[1]!}` : `/${parts[0]!}`);
      return typeof parent !== 'number' && this.exists(parent) ? -ENOTDIR : -ENOENT;
    }
    if (trailingSlash) return -ENOTDIR;
    const full = `/${parts.join('/')}`;
    const name = this.resolveName(full);
    return typeof name === 'number' ? name : { dir: false, name };
  }

  private resolveName(full: string): Int32Array | number {
    const bytes = this.encoder.encode(full);
    if (bytes.length >= FS_NAME_BYTES) return -ENAMETOOLONG;
    const padded = new Uint8Array(FS_NAME_BYTES);
    padded.set(bytes);
    return new Int32Array(padded.buffer);
  }

  private exists(name: Int32Array): boolean {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.fsLock;
    spinLock(i32, lock, cpu, spinner);
    const ino = this.lookup(name);
    spinUnlock(i32, lock);
    return ino >= 0;
  }

  /** strncpy_from_user of a path: the string, or -EFAULT / -ENAMETOOLONG. */
  private readPath(va: number): string | number {
    const { user } = this.k;
    const bytes: number[] = [];
    const r = uaccess(() => {
      for (let i = 0; i < PATH_MAX; i++) {
        const b = user.load8(va + i);
        if (b === 0) return 0;
        bytes.push(b);
      }
      return -ENAMETOOLONG;
    });
    return r < 0 ? r : this.decoder.decode(new Uint8Array(bytes));
  }

  /** openat(dirfd, path, flags, mode): a descriptor or -errno. */
  openat(run: TaskRun, dirfd: number, pathVa: number, flags: number, mode: number): number {
    const { i32, layout, cpu, spinner } = this.k;
    if ((flags & ~OPEN_FLAGS) !== 0 || (flags & O_ACCMODE) === O_ACCMODE) return -EINVAL;
    const where = this.resolve(dirfd, pathVa);
    if (typeof where === 'number') return where;
    // Directories cannot be opened: this file system has no directory files (getdents).
    if (where.dir) return -EISDIR;
    if ((flags & O_DIRECTORY) !== 0) return (flags & O_CREAT) !== 0 ? -EINVAL : this.exists(where.name) ? -ENOTDIR : -ENOENT;
    const lock = layout.kglobals + KGLOBALS.fsLock;
    spinLock(i32, lock, cpu, spinner);
    let ino = this.lookup(where.name);
    let failed = 0;
    if (ino < 0) {
      if ((flags & O_CREAT) === 0) failed = -ENOENT;
      else ino = this.create(where.name, mode);
      if (ino === -1 && failed === 0) failed = -ENOSPC;
    } else if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) {
      failed = -EEXIST;
    }
    if (failed === 0) this.inodes.iget(ino); // under fsLock, so an unlink cannot free it first
    spinUnlock(i32, lock);
    if (failed !== 0) return failed;
    const f = this.fdt.allocFile(FileKind.Regular, ino, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (f < 0) {
      this.inodes.iput(ino);
      return -ENFILE;
    }
    if ((flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== O_RDONLY) this.files.truncate(ino, 0);
    return this.fdt.install(run, f);
  }

  /** A named, empty regular file with its link's reference, or -1. Caller holds fsLock. */
  private create(name: Int32Array, mode: number): number {
    const { i32, layout } = this.k;
    const object = this.shmem.create(0);
    if (object === 0) return -1;
    const ino = this.inodes.allocInode(InodeType.Regular, 1);
    if (ino < 0) {
      this.shmem.put(object);
      return -1;
    }
    const ib = layout.inodeBase(ino);
    i32[ib + INODE.shmem] = object;
    i32[ib + INODE.mode] = mode & 0o7777;
    for (let w = 0; w < name.length; w++) i32[ib + INODE.name + w] = name[w]!;
    i32[ib + INODE.nlink] = 1;
    return ino;
  }

  /** unlinkat(dirfd, path, flags): remove a name; the file lives on while open. */
  unlinkat(dirfd: number, pathVa: number, flags: number): number {
    const { i32, layout, cpu, spinner } = this.k;
    if ((flags & ~AT_REMOVEDIR) !== 0) return -EINVAL;
    const where = this.resolve(dirfd, pathVa);
    if (typeof where === 'number') return where;
    // "/" and "/tmp" are where the file system is mounted: never removed.
    if (where.dir) return (flags & AT_REMOVEDIR) !== 0 ? -EBUSY : -EISDIR;
    // Every name that is not a directory is a file: rmdir of it is -ENOTDIR (if it exists).
    if ((flags & AT_REMOVEDIR) !== 0) return this.exists(where.name) ? -ENOTDIR : -ENOENT;
    const lock = layout.kglobals + KGLOBALS.fsLock;
    spinLock(i32, lock, cpu, spinner);
    const ino = this.lookup(where.name);
    if (ino >= 0) {
      const ib = layout.inodeBase(ino);
      i32[ib + INODE.nlink] = 0;
      for (let w = 0; w < FS_NAME_BYTES / 4; w++) i32[ib + INODE.name + w] = 0;
    }
    spinUnlock(i32, lock);
    if (ino < 0) return -ENOENT;
    this.inodes.iput(ino);
    return 0;
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
        case FileKind.PipeRead:
          return this.readPipe(run, fb, n, deliver);
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
          return this.writePipe(run, fb, data);
      }
    });
  }

  private delivered(r: number, n: number): number {
    return r < 0 ? r : n;
  }

  // --- pipes ---

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

  private readPipe(run: TaskRun, fb: number, len: number, deliver: (data: Uint8Array) => number): number {
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
        return this.delivered(deliver(out), n);
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
  private writePipe(run: TaskRun, fb: number, data: Uint8Array): number {
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
