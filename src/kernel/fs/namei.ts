/**
 * The namespace (Linux's fs/namei.c, for a file system of two directories): "/" and "/tmp" are
 * the directories and every other name is a regular file in one of them. Path lookup from a
 * user string, the name-to-inode lookup under KGLOBALS.fsLock, and the two calls that take a
 * path: openat (creating and truncating) and unlinkat.
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import type { KernelContext } from '../context.js';
import { EBADF, EBUSY, EEXIST, EINVAL, EISDIR, ENAMETOOLONG, ENFILE, ENOENT, ENOSPC, ENOTDIR } from '../../uapi/errno.js';
import { FS_NAME_BYTES, FileKind, INODE, InodeType, KGLOBALS, MAX_INODES, NR_OPEN } from '../layout.js';
import type { TaskRun } from '../sched.js';
import type { SharedMemory } from '../shmem.js';
import { spinLock, spinUnlock } from '../sync.js';
import { uaccess } from '../uaccess.js';
import { AT_FDCWD, AT_REMOVEDIR, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_TRUNC } from '../../uapi/fcntl.js';
import type { FdTables } from './fdtable.js';
import type { Inodes } from './inode.js';
import type { RegularFiles } from './regular.js';

/** Flags openat accepts; O_CLOEXEC, O_NOCTTY, O_LARGEFILE and O_NOFOLLOW change nothing here (no exec, no tty, no links). */
const OPEN_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

const PATH_MAX = 4096;
const NAME_MAX = 255;

/** Where a path leads: one of the two directories, or a file name in one of them. */
type Resolved = { dir: true } | { dir: false; name: Int32Array };

export class Namei {
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly k: KernelContext,
    private readonly shmem: SharedMemory,
    private readonly inodes: Inodes,
    private readonly fdt: FdTables,
    private readonly files: RegularFiles,
  ) {}

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
}
