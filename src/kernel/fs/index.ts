/**
 * Files: descriptor tables (files_struct), open files (struct file), and a small in-memory file
 * system — tmpfs in spirit: a regular file's pages live in a shmem object, so mapping it
 * MAP_SHARED maps the file's own pages — with directories at any depth under "/" (which starts
 * with "/tmp"), symlinks, sparse files of 64-bit size; and pipes. The console is fd 0 (reads
 * end-of-file), 1 and 2.
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
 *
 * This file is the façade the rest of the kernel calls (kernel.ts builds it; task.ts and
 * syscalls.ts call it): FileSystem wires the parts below together and hands each call to the
 * one that does it. The parts, lowest first; each imports only files listed before it, so there
 * are no cycles:
 *
 *   inode.ts       inode locks, references (iget/iput, evict), slots, size, timestamps; the pipe wake-up
 *   fdtable.ts     descriptor tables (files_struct) and open files (struct file, fget/fput); the
 *                  working directory, umask and resource limits the table carries
 *   dcache.ts      the directory tree: each inode's entry (parent, name), lookup, listing
 *   regular.ts     regular files over shmem objects: read/write at a position, truncate, llseek,
 *                  fallocate, fadvise, sync_file_range, mmap
 *   pipe.ts        pipes: pipe2, blocking and O_NONBLOCK read/write, EPIPE
 *   namei.ts       path lookup (link_path_walk, symlinks), creation, openat
 *   dir.ts         mkdirat, unlinkat, renameat2, symlinkat, readlinkat, getdents64, chdir,
 *                  fchdir, getcwd, faccessat
 *   stat.ts        statx and fstat
 *   read-write.ts  read/write for every kind of file (console, regular, pipe), pread64/pwrite64
 *   poll.ts        ppoll's revents and sequence word
 */
import type { KernelContext } from '../context.js';
import type { FrameAllocator } from '../frames.js';
import type { Futexes } from '../futex.js';
import type { AddressSpaces } from '../mm.js';
import type { TaskRun } from '../sched.js';
import type { SharedMemory } from '../shmem.js';
import { Inodes } from './inode.js';
import { FdTables, type Rlimit64 } from './fdtable.js';
import { MAX_FILE_BYTES, RegularFiles, arg64 } from './regular.js';
import { PIPE_BUF, Pipes } from './pipe.js';
import { Namei } from './namei.js';
import { Directories } from './dir.js';
import { STAT64_BYTES, Stat } from './stat.js';
import { MAX_RW, ReadWrite } from './read-write.js';
import { Poll } from './poll.js';
import { FILE } from '../layout.js';
import { F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, O_APPEND, O_NONBLOCK } from '../../uapi/fcntl.js';

/** The status flags F_SETFL may change here. */
const SETFL_MASK = O_APPEND | O_NONBLOCK;

export { MAX_FILE_BYTES, MAX_RW, PIPE_BUF, STAT64_BYTES, arg64 };
export { RLIM_INFINITY, type Rlimit64 } from './fdtable.js';

export class FileSystem {
  private readonly inodes: Inodes;
  private readonly fdt: FdTables;
  private readonly files: RegularFiles;
  private readonly namei: Namei;
  private readonly dirs: Directories;
  private readonly stat: Stat;
  private readonly pipes: Pipes;
  private readonly rw: ReadWrite;
  private readonly poll: Poll;

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
    this.dirs = new Directories(k, shmem, this.inodes, this.fdt, this.namei);
    this.stat = new Stat(k, shmem, this.inodes, this.fdt, this.namei);
    this.pipes = new Pipes(k, frames, futex, this.inodes, this.fdt);
    this.rw = new ReadWrite(k, this.fdt, this.files, this.pipes);
    this.poll = new Poll(k, this.fdt);
  }

  // --- descriptor tables (fdtable.ts) ---

  /** Boot, on CPU 0: the console's open files, the root directory and /tmp. */
  bootInit(): void {
    this.fdt.bootInit();
    this.namei.bootInit();
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

  dup(run: TaskRun, fd: number): number {
    return this.fdt.dup(run, fd);
  }

  dup3(run: TaskRun, oldfd: number, newfd: number, flags: number): number {
    return this.fdt.dup3(run, oldfd, newfd, flags);
  }

  /**
   * fcntl's F_GETFL and F_SETFL: the open file's status flags; F_SETFL changes only O_APPEND and
   * O_NONBLOCK (the flags Linux lets it change that this file system has). F_DUPFD and
   * F_DUPFD_CLOEXEC: dup to the lowest descriptor from `arg`. F_GETFD and F_SETFD:
   * a descriptor's FD_CLOEXEC is accepted and reads back 0 (there is no execve to close it at).
   * Returns undefined for another command (the caller answers -EINVAL and counts it).
   */
  fcntl(run: TaskRun, fd: number, cmd: number, arg: number): number | undefined {
    const { i32 } = this.k;
    switch (cmd) {
      case F_GETFL: return this.fdt.withFile(run, fd, (_f, fb) => i32[fb + FILE.flags]!);
      case F_SETFL:
        return this.fdt.withFile(run, fd, (_f, fb) => {
          // ORDERING: none: the flags are read by calls on this file, which see the store or not.
          i32[fb + FILE.flags] = (i32[fb + FILE.flags]! & ~SETFL_MASK) | (arg & SETFL_MASK);
          return 0;
        });
      case F_DUPFD:
      case F_DUPFD_CLOEXEC:
        return this.fdt.dup(run, fd, arg);
      case F_GETFD: return this.fdt.withFile(run, fd, () => 0);
      case F_SETFD: return this.fdt.withFile(run, fd, () => 0);
      default: return undefined;
    }
  }

  // --- the process's working directory, umask and limits (fdtable.ts, dir.ts) ---

  chdir(run: TaskRun, pathVa: number): number {
    return this.dirs.chdir(run, pathVa);
  }

  fchdir(run: TaskRun, fd: number): number {
    return this.dirs.fchdir(run, fd);
  }

  getcwd(run: TaskRun, bufVa: number, size: number): number {
    return this.dirs.getcwd(run, bufVa, size);
  }

  umask(run: TaskRun, mask: number): number {
    return this.fdt.umask(run, mask);
  }

  rlimit(run: TaskRun, resource: number): Rlimit64 {
    return this.fdt.rlimit(run, resource);
  }

  setRlimit(run: TaskRun, resource: number, lim: Rlimit64): Rlimit64 {
    return this.fdt.setRlimit(run, resource, lim);
  }

  // --- the namespace (namei.ts, dir.ts, stat.ts) ---

  openat(run: TaskRun, dirfd: number, pathVa: number, flags: number, mode: number): number {
    return this.namei.openat(run, dirfd, pathVa, flags, mode);
  }

  mkdirat(run: TaskRun, dirfd: number, pathVa: number, mode: number): number {
    return this.dirs.mkdirat(run, dirfd, pathVa, mode);
  }

  unlinkat(run: TaskRun, dirfd: number, pathVa: number, flags: number): number {
    return this.dirs.unlinkat(run, dirfd, pathVa, flags);
  }

  renameat2(run: TaskRun, olddirfd: number, oldVa: number, newdirfd: number, newVa: number, flags: number): number {
    return this.dirs.renameat2(run, olddirfd, oldVa, newdirfd, newVa, flags);
  }

  symlinkat(run: TaskRun, targetVa: number, newdirfd: number, linkVa: number): number {
    return this.dirs.symlinkat(run, targetVa, newdirfd, linkVa);
  }

  readlinkat(run: TaskRun, dirfd: number, pathVa: number, bufVa: number, bufsiz: number): number {
    return this.dirs.readlinkat(run, dirfd, pathVa, bufVa, bufsiz);
  }

  getdents64(run: TaskRun, fd: number, dirp: number, count: number): number {
    return this.dirs.getdents64(run, fd, dirp, count);
  }

  faccessat(run: TaskRun, dirfd: number, pathVa: number, mode: number, flags: number): number {
    return this.dirs.faccessat(run, dirfd, pathVa, mode, flags);
  }

  statx(run: TaskRun, dirfd: number, pathVa: number, flags: number, mask: number, buf: number): number {
    return this.stat.statx(run, dirfd, pathVa, flags, mask, buf);
  }

  fstat(run: TaskRun, fd: number, statVa: number): number {
    return this.stat.fstat(run, fd, statVa);
  }

  // --- regular files (regular.ts) ---

  truncate(run: TaskRun, pathVa: number, length: number): number {
    return this.namei.truncatePath(run, pathVa, length);
  }

  ftruncate(run: TaskRun, fd: number, lo: number, hi: number): number {
    return this.files.ftruncate(run, fd, lo, hi);
  }

  llseek(run: TaskRun, fd: number, hi: number, lo: number, resultVa: number, whence: number): number {
    return this.files.llseek(run, fd, hi, lo, resultVa, whence);
  }

  fallocate(run: TaskRun, fd: number, mode: number, offset: number, len: number): number {
    return this.files.fallocate(run, fd, mode, offset, len);
  }

  fadvise(run: TaskRun, fd: number, len: number, advice: number): number {
    return this.files.fadvise(run, fd, len, advice);
  }

  syncFileRange(run: TaskRun, fd: number, offset: number, nbytes: number, flags: number): number {
    return this.files.syncFileRange(run, fd, offset, nbytes, flags);
  }

  mapFile(run: TaskRun, fd: number, prot: number, flags: number, offset: number, len: number): number {
    return this.files.mapFile(run, fd, prot, flags, offset, len);
  }

  // --- read and write, for every kind of file (read-write.ts) ---

  read(run: TaskRun, fd: number, len: number, deliver: (data: Uint8Array) => number): number {
    return this.rw.read(run, fd, len, deliver);
  }

  write(run: TaskRun, fd: number, len: number, gather: (n: number) => Uint8Array | number): number {
    return this.rw.write(run, fd, len, gather);
  }

  pread(run: TaskRun, fd: number, len: number, pos: number, deliver: (data: Uint8Array) => number): number {
    return this.rw.pread(run, fd, len, pos, deliver);
  }

  pwrite(run: TaskRun, fd: number, len: number, pos: number, gather: (n: number) => Uint8Array | number): number {
    return this.rw.pwrite(run, fd, len, pos, gather);
  }

  // --- pipes (pipe.ts) ---

  pipe2(run: TaskRun, fdsVa: number, flags: number): number {
    return this.pipes.pipe2(run, fdsVa, flags);
  }

  // --- poll (poll.ts) ---

  get pollSeqWord(): number {
    return this.poll.pollSeqWord;
  }

  pollRevents(run: TaskRun, fd: number, events: number): number {
    return this.poll.pollRevents(run, fd, events);
  }
}
