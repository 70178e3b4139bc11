/**
 * Path lookup and open (Linux's fs/namei.c and fs/open.c): a user path copied in
 * (strncpy_from_user, PATH_MAX), walked component by component from the root, the working
 * directory or a directory descriptor (link_path_walk), following symlinks (at most
 * MAXSYMLINKS, then -ELOOP), to the last component and the directory holding it, which the
 * callers — openat here, the directory calls of dir.ts, statx — look up, create or remove
 * under KGLOBALS.fsLock. The boot-time root and /tmp are made here too.
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import { PAGE_SIZE } from '../../hw/paging.js';
import type { KernelContext } from '../context.js';
import { EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENFILE, ENOENT, ENOSPC, ENOTDIR } from '../../uapi/errno.js';
import { FILE, FileKind, INODE, InodeType, KGLOBALS, NAME_MAX } from '../layout.js';
import type { TaskRun } from '../sched.js';
import type { SharedMemory } from '../shmem.js';
import { spinLock, spinUnlock } from '../sync.js';
import { uaccess } from '../uaccess.js';
import { AT_FDCWD, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_TRUNC } from '../../uapi/fcntl.js';
import { Dcache, ROOT_INO } from './dcache.js';
import type { FdTables } from './fdtable.js';
import { Stamp, type Inodes } from './inode.js';
import type { RegularFiles } from './regular.js';

/** Flags openat accepts; O_CLOEXEC, O_NOCTTY and O_LARGEFILE change nothing here (no exec, no tty, 64-bit offsets always). */
const OPEN_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

/** Longest path with its NUL (include/uapi/linux/limits.h). */
export const PATH_MAX = 4096;
/** Symlinks one lookup may follow (include/linux/namei.h). */
const MAXSYMLINKS = 40;
/** S_IALLUGO: the permission bits a creation keeps (with the sticky and set-id bits). */
const S_IALLUGO = 0o7777;

/** What the last component of a path is (include/linux/namei.h's LAST_*). */
export const enum LastType {
  Norm,
  Root,
  Dot,
  DotDot,
}

/** Where a walk stopped: the last component and the directory it is in (struct nameidata). */
export interface Nameidata {
  dir: number;
  /** The last component, a byte string ('' for the root). */
  last: string;
  type: LastType;
  /** The inode the last component names, not followed if it is a symlink; -1 if it names none. */
  ino: number;
  /** The path ended in '/': the last component must be a directory. */
  slash: boolean;
  /** Symlinks followed so far in this lookup. */
  links: number;
}

export class Namei {
  readonly dcache: Dcache;

  constructor(
    private readonly k: KernelContext,
    private readonly shmem: SharedMemory,
    private readonly inodes: Inodes,
    private readonly fdt: FdTables,
    private readonly files: RegularFiles,
  ) {
    this.dcache = new Dcache(k);
  }

  /** Boot: the root directory (slot 0, its own parent) and /tmp, world-writable and sticky. */
  bootInit(): void {
    const { i32, layout } = this.k;
    const root = this.inodes.allocInode(InodeType.Directory, 1);
    const rb = layout.inodeBase(root);
    i32[rb + INODE.mode] = 0o755;
    i32[rb + INODE.nlink] = 2;
    i32[rb + INODE.parent] = root + 1;
    const tmp = this.mkdirIn(root, 'tmp', 0o1777);
    if (root !== ROOT_INO || tmp < 0) throw new Error('fs: the root and /tmp must be the first inodes');
  }

  /** strncpy_from_user of a path: its bytes as a byte string, or -EFAULT / -ENAMETOOLONG. */
  readPath(va: number): string | number {
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
    return r < 0 ? r : String.fromCharCode(...bytes);
  }

  /**
   * Run `op` on the directory a relative path starts from: `dirfd`'s (which must be a
   * directory) or, for AT_FDCWD or an absolute path, -1 (the working directory or the root,
   * found under fsLock). The descriptor's reference holds the directory while `op` runs.
   */
  withStart(run: TaskRun, dirfd: number, path: string, op: (start: number) => number): number {
    if (path.startsWith('/') || dirfd === AT_FDCWD) return op(-1);
    return this.fdt.withFile(run, dirfd, (_f, fb) => {
      const { i32 } = this.k;
      return i32[fb + FILE.kind] === FileKind.Directory ? op(i32[fb + FILE.inode]!) : -ENOTDIR;
    });
  }

  /**
   * The common shape of every call taking a path: copy it in, find where it starts, take
   * fsLock, walk to its last component and hand the result to `op` (still under fsLock).
   * An empty path is -ENOENT.
   */
  atPath(run: TaskRun, dirfd: number, pathVa: number, op: (nd: Nameidata) => number): number {
    const path = this.readPath(pathVa);
    if (typeof path === 'number') return path;
    if (path === '') return -ENOENT;
    return this.withStart(run, dirfd, path, (start) => this.locked(() => {
      const nd = this.walk(this.startDir(run, start), path, 0);
      return typeof nd === 'number' ? nd : op(nd);
    }));
  }

  /** Run `op` holding fsLock. */
  locked<T>(op: () => T): T {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.fsLock;
    spinLock(i32, lock, cpu, spinner);
    try {
      return op();
    } finally {
      spinUnlock(i32, lock);
    }
  }

  /** withStart's directory: a descriptor's, or the working directory. Caller holds fsLock. */
  startDir(run: TaskRun, start: number): number {
    if (start >= 0) return start;
    const cwd = this.fdt.cwd(run);
    return cwd >= 0 ? cwd : ROOT_INO;
  }

  /**
   * link_path_walk: resolve every component of `path` but the last from `start` (the root for
   * an absolute path), following symlinks; then look the last one up without following it.
   * Caller holds fsLock.
   */
  walk(start: number, path: string, links: number): Nameidata | number {
    const { dcache } = this;
    let dir = path.startsWith('/') ? ROOT_INO : start;
    const parts = path.split('/').filter((c) => c !== '');
    if (parts.length === 0) return { dir, last: '', type: LastType.Root, ino: dir, slash: false, links };
    for (let i = 0; i < parts.length - 1; i++) {
      const c = parts[i]!;
      if (c.length > NAME_MAX) return -ENAMETOOLONG;
      let ino = this.step(dir, c);
      if (ino < 0) return -ENOENT;
      const nd: Nameidata = { dir, last: c, type: LastType.Norm, ino, slash: true, links };
      ino = this.follow(nd);
      if (ino < 0) return ino;
      links = nd.links;
      if (!dcache.isDir(ino)) return -ENOTDIR;
      dir = ino;
    }
    const last = parts[parts.length - 1]!;
    if (last.length > NAME_MAX) return -ENAMETOOLONG;
    const type = last === '.' ? LastType.Dot : last === '..' ? LastType.DotDot : LastType.Norm;
    return { dir, last, type, ino: this.step(dir, last), slash: path.endsWith('/'), links };
  }

  /** One component from `dir`: ".", "..", or an entry; -1 when there is none. */
  private step(dir: number, c: string): number {
    if (c === '.') return this.dcache.nlink(dir) === 0 ? -1 : dir;
    if (c === '..') return this.dcache.parent(dir);
    return this.dcache.lookup(dir, c);
  }

  /**
   * Follow `nd.ino` while it is a symlink (each one's target resolved from the directory the
   * link is in), counting links in `nd.links`; then, if the path had a trailing slash, insist on
   * a directory. Returns the inode, or -ENOENT for a dangling link, -ELOOP past MAXSYMLINKS.
   * A dangling link's missing last component is left in `nd` (dir, last, ino -1) for
   * O_CREAT, which creates the file the link names. Caller holds fsLock.
   */
  follow(nd: Nameidata): number {
    let ino = nd.ino;
    let mustBeDir = nd.slash;
    while (ino >= 0 && this.dcache.type(ino) === InodeType.Symlink) {
      if (++nd.links > MAXSYMLINKS) return -ELOOP;
      const target = this.readLink(ino);
      if (target === '') return -ENOENT;
      const next = this.walk(nd.dir, target, nd.links);
      if (typeof next === 'number') return next;
      Object.assign(nd, { dir: next.dir, last: next.last, type: next.type, ino: next.ino, links: next.links });
      mustBeDir ||= next.slash;
      ino = next.ino;
    }
    if (ino < 0) return -ENOENT;
    if (mustBeDir && !this.dcache.isDir(ino)) return -ENOTDIR;
    return ino;
  }

  /** The last component as an existing inode: followed if `follow` (or a trailing slash). */
  resolveLast(nd: Nameidata, follow: boolean): number {
    if (nd.ino < 0) return -ENOENT;
    if (!follow && !nd.slash) return nd.ino;
    return this.follow(nd);
  }

  /** A symlink's target, as a byte string. Caller holds fsLock (a target never changes). */
  readLink(ino: number): string {
    const { ram } = this.k;
    const frame = this.shmem.peek(this.k.i32[this.k.layout.inodeBase(ino) + INODE.shmem]!, 0);
    const len = this.inodes.size(ino);
    if (frame === 0) return '';
    return String.fromCharCode(...ram.bytes.subarray(frame * PAGE_SIZE, frame * PAGE_SIZE + len));
  }

  /** A new directory `name` in `dir` with its entry's reference, or -1. Caller holds fsLock. */
  mkdirIn(dir: number, name: string, mode: number): number {
    const { i32, layout } = this.k;
    const ino = this.inodes.allocInode(InodeType.Directory, 1);
    if (ino < 0) return -1;
    const ib = layout.inodeBase(ino);
    i32[ib + INODE.mode] = mode & S_IALLUGO;
    i32[ib + INODE.nlink] = 2;
    this.dcache.link(ino, dir, name);
    this.dcache.addLinks(dir, 1);
    this.inodes.touch(dir, Stamp.Modify | Stamp.Change);
    return ino;
  }

  /**
   * A new inode of `type` (a regular file or a symlink, its bytes in a new shmem object of
   * `pages` pages) named `name` in `dir`, with its entry's reference; -1 when no slot or object
   * is free. Caller holds fsLock.
   */
  createIn(dir: number, name: string, type: InodeType, mode: number, pages: number): number {
    const { i32, layout } = this.k;
    const object = this.shmem.create(pages);
    if (object === 0) return -1;
    const ino = this.inodes.allocInode(type, 1);
    if (ino < 0) {
      this.shmem.put(object);
      return -1;
    }
    const ib = layout.inodeBase(ino);
    i32[ib + INODE.shmem] = object;
    i32[ib + INODE.mode] = mode & S_IALLUGO;
    i32[ib + INODE.nlink] = 1;
    this.dcache.link(ino, dir, name);
    this.inodes.touch(dir, Stamp.Modify | Stamp.Change);
    return ino;
  }

  /**
   * openat(dirfd, path, flags, mode): a descriptor or -errno (do_filp_open: open_last_lookups,
   * then do_open's checks). A directory opens read-only, for getdents64 and the *at calls.
   */
  openat(run: TaskRun, dirfd: number, pathVa: number, flags: number, mode: number): number {
    if ((flags & ~OPEN_FLAGS) !== 0 || (flags & O_ACCMODE) === O_ACCMODE) return -EINVAL;
    // build_open_flags: a directory cannot be created by open.
    if ((flags & (O_CREAT | O_DIRECTORY)) === (O_CREAT | O_DIRECTORY)) return -EINVAL;
    const umask = this.fdt.currentUmask(run);
    let ino = -1;
    const r = this.atPath(run, dirfd, pathVa, (nd) => {
      ino = this.openLast(nd, flags, mode & ~umask);
      if (ino >= 0) this.inodes.iget(ino); // under fsLock, so an unlink cannot free it first
      return ino;
    });
    if (r < 0) return r;
    const dir = this.dcache.type(ino) === InodeType.Directory;
    const f = this.fdt.allocFile(dir ? FileKind.Directory : FileKind.Regular, ino, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (f < 0) {
      this.inodes.iput(ino);
      return -ENFILE;
    }
    // O_TRUNC truncates whatever the access mode (it asks for write permission, which root has).
    if ((flags & O_TRUNC) !== 0 && !dir) this.files.truncate(ino, 0);
    return this.fdt.install(run, f);
  }

  /**
   * truncate64(path, length) (do_sys_truncate): set the size of the regular file `path` names,
   * following symlinks. A directory is -EISDIR, anything else not a regular file -EINVAL.
   */
  truncatePath(run: TaskRun, pathVa: number, length: number): number {
    if (length < 0) return -EINVAL;
    let ino = -1;
    const r = this.atPath(run, AT_FDCWD, pathVa, (nd) => {
      const found = this.resolveLast(nd, true);
      if (found < 0) return found;
      const type = this.dcache.type(found);
      if (type === InodeType.Directory) return -EISDIR;
      if (type !== InodeType.Regular) return -EINVAL;
      ino = found;
      this.inodes.iget(ino);
      return 0;
    });
    if (r < 0) return r;
    try {
      return this.files.truncate(ino, length);
    } finally {
      this.inodes.iput(ino);
    }
  }

  /** open_last_lookups and do_open's checks: the inode to open, created if asked. Under fsLock. */
  private openLast(nd: Nameidata, flags: number, mode: number): number {
    const { dcache } = this;
    const create = (flags & O_CREAT) !== 0;
    if (create && nd.type !== LastType.Norm) return -EISDIR;
    let ino: number;
    if (create && nd.ino >= 0 && (flags & O_EXCL) !== 0) return -EEXIST;
    if (create && nd.ino < 0) {
      if (nd.slash) return -EISDIR;
      ino = this.createHere(nd, mode);
    } else if (create && dcache.type(nd.ino) === InodeType.Symlink && (flags & O_NOFOLLOW) === 0) {
      // Through a symlink: open its target, or create it if the link dangles.
      ino = this.follow(nd);
      if (ino === -ENOENT && nd.ino < 0 && nd.type === LastType.Norm && !nd.slash) ino = this.createHere(nd, mode);
    } else {
      ino = this.resolveLast(nd, (flags & O_NOFOLLOW) === 0);
    }
    if (ino < 0) return ino;
    const type = dcache.type(ino);
    if (type === InodeType.Symlink) return -ELOOP; // O_NOFOLLOW on a symlink
    if (type === InodeType.Directory) {
      if (create) return -EISDIR;
      if ((flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0) return -EISDIR;
    } else if ((flags & O_DIRECTORY) !== 0) {
      return -ENOTDIR;
    }
    return ino;
  }

  /** O_CREAT's new regular file at `nd`'s missing last component. Under fsLock. */
  private createHere(nd: Nameidata, mode: number): number {
    // A directory that was removed takes no new entries.
    if (this.dcache.nlink(nd.dir) === 0) return -ENOENT;
    const ino = this.createIn(nd.dir, nd.last, InodeType.Regular, mode, 0);
    return ino < 0 ? -ENOSPC : ino;
  }
}
