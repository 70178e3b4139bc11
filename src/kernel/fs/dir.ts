/**
 * The calls that change or read the directory tree (Linux's fs/namei.c do_mkdirat,
 * do_rmdir, do_unlinkat, do_renameat2, do_symlinkat, fs/stat.c do_readlinkat, fs/readdir.c
 * getdents64, fs/open.c chdir, fchdir and faccessat, fs/d_path.c getcwd), on the in-memory
 * tree of dcache.ts. The namespace changes under KGLOBALS.fsLock; user memory is touched only
 * outside it (the path copied in first, results copied out after).
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import { PAGE_SIZE } from '../../hw/paging.js';
import type { KernelContext } from '../context.js';
import {
  EACCES, EBUSY, EEXIST, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOSPC, ENOTDIR, ENOTEMPTY, ERANGE,
} from '../../uapi/errno.js';
import { FILE, FileKind, INODE, InodeType, MAX_INODES } from '../layout.js';
import type { TaskRun } from '../sched.js';
import type { SharedMemory } from '../shmem.js';
import { copyToUser } from '../uaccess.js';
import {
  AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, X_OK,
} from '../../uapi/fcntl.js';
import { DT_DIR, DT_FIFO, DT_LNK, DT_REG } from '../../uapi/fs.js';
import { ROOT_INO, type Dcache } from './dcache.js';
import type { FdTables } from './fdtable.js';
import { Stamp, type Inodes } from './inode.js';
import { LastType, PATH_MAX, type Namei, type Nameidata } from './namei.js';

/** linux_dirent64's header: d_ino (8), d_off (8), d_reclen (2), d_type (1); the name follows. */
const DIRENT64_HEADER = 19;
/** getdents64's cursor for the first entry after "." (0) and ".." (1): slot s is at s + 2. */
const FIRST_CHILD_POS = 2;

export class Directories {
  private readonly dcache: Dcache;

  constructor(
    private readonly k: KernelContext,
    private readonly shmem: SharedMemory,
    private readonly inodes: Inodes,
    private readonly fdt: FdTables,
    private readonly namei: Namei,
  ) {
    this.dcache = namei.dcache;
  }

  /** mkdirat(dirfd, path, mode): a new empty directory (mode less the umask). */
  mkdirat(run: TaskRun, dirfd: number, pathVa: number, mode: number): number {
    const umask = this.fdt.currentUmask(run);
    return this.namei.atPath(run, dirfd, pathVa, (nd) => {
      // filename_create: "." , ".." and "/" name something that exists.
      if (nd.type !== LastType.Norm || nd.ino >= 0) return -EEXIST;
      if (this.dcache.nlink(nd.dir) === 0) return -ENOENT;
      return this.namei.mkdirIn(nd.dir, nd.last, mode & ~umask) < 0 ? -ENOSPC : 0;
    });
  }

  /** unlinkat(dirfd, path, flags): unlink a name, or with AT_REMOVEDIR remove an empty directory. */
  unlinkat(run: TaskRun, dirfd: number, pathVa: number, flags: number): number {
    if ((flags & ~AT_REMOVEDIR) !== 0) return -EINVAL;
    const rmdir = (flags & AT_REMOVEDIR) !== 0;
    let gone = -1;
    const r = this.namei.atPath(run, dirfd, pathVa, (nd) => {
      const err = rmdir ? this.mayRmdir(nd) : this.mayUnlink(nd);
      if (err !== 0) return err;
      this.remove(nd.ino, nd.dir);
      gone = nd.ino;
      return 0;
    });
    // The name's reference, dropped outside fsLock (the last one frees the file's pages).
    if (gone >= 0) this.inodes.iput(gone);
    return r;
  }

  /** do_rmdir's checks, then vfs_rmdir's: 0 if `nd` names an empty directory that may go. */
  private mayRmdir(nd: Nameidata): number {
    if (nd.type === LastType.Dot) return -EINVAL;
    if (nd.type === LastType.DotDot) return -ENOTEMPTY;
    if (nd.type === LastType.Root) return -EBUSY;
    if (nd.ino < 0) return -ENOENT;
    if (!this.dcache.isDir(nd.ino)) return -ENOTDIR;
    return this.dcache.isEmpty(nd.ino) ? 0 : -ENOTEMPTY;
  }

  /** do_unlinkat's checks: 0 if `nd` names something other than a directory. */
  private mayUnlink(nd: Nameidata): number {
    if (nd.type !== LastType.Norm) return -EISDIR;
    if (nd.ino < 0) return -ENOENT;
    if (this.dcache.isDir(nd.ino)) return -EISDIR;
    // A trailing slash says the name is a directory, which it is not.
    return nd.slash ? -ENOTDIR : 0;
  }

  /** Take `ino`'s entry out of `dir` (its reference is the caller's to drop). Under fsLock. */
  private remove(ino: number, dir: number): void {
    if (this.dcache.isDir(ino)) this.dcache.addLinks(dir, -1);
    this.dcache.unlink(ino);
    this.inodes.touch(ino, Stamp.Change);
    this.inodes.touch(dir, Stamp.Modify | Stamp.Change);
  }

  /**
   * renameat2(olddirfd, oldpath, newdirfd, newpath, flags): move an entry, replacing what the
   * new name named (a file by a file, an empty directory by a directory). RENAME_NOREPLACE
   * refuses to replace; RENAME_EXCHANGE swaps two entries; RENAME_WHITEOUT needs a whiteout
   * device this file system does not have (-EINVAL).
   */
  renameat2(run: TaskRun, olddirfd: number, oldVa: number, newdirfd: number, newVa: number, flags: number): number {
    if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) !== 0) return -EINVAL;
    if ((flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) !== 0 && (flags & RENAME_EXCHANGE) !== 0) return -EINVAL;
    if ((flags & RENAME_WHITEOUT) !== 0) return -EINVAL;
    const oldPath = this.namei.readPath(oldVa);
    if (typeof oldPath === 'number') return oldPath;
    const newPath = this.namei.readPath(newVa);
    if (typeof newPath === 'number') return newPath;
    if (oldPath === '' || newPath === '') return -ENOENT;
    let replaced = -1;
    const r = this.namei.withStart(run, olddirfd, oldPath, (oldStart) => this.namei.withStart(run, newdirfd, newPath, (newStart) => this.namei.locked(() => {
      const from = this.namei.walk(this.namei.startDir(run, oldStart), oldPath, 0);
      if (typeof from === 'number') return from;
      const to = this.namei.walk(this.namei.startDir(run, newStart), newPath, 0);
      if (typeof to === 'number') return to;
      const err = this.mayRename(from, to, flags);
      if (err !== 0 || from.ino === to.ino) return err;
      if ((flags & RENAME_EXCHANGE) !== 0) this.exchange(from, to);
      else replaced = this.move(from, to);
      return 0;
    })));
    if (replaced >= 0) this.inodes.iput(replaced);
    return r;
  }

  /** do_renameat2's and vfs_rename's checks, in their order. Under fsLock. */
  private mayRename(from: Nameidata, to: Nameidata, flags: number): number {
    const { dcache } = this;
    if (from.type !== LastType.Norm) return -EBUSY;
    if (to.type !== LastType.Norm) return (flags & RENAME_NOREPLACE) !== 0 ? -EEXIST : -EBUSY;
    if (from.ino < 0) return -ENOENT;
    if ((flags & RENAME_EXCHANGE) !== 0 && to.ino < 0) return -ENOENT;
    if ((flags & RENAME_NOREPLACE) !== 0 && to.ino >= 0) return -EEXIST;
    if (to.ino < 0 && dcache.nlink(to.dir) === 0) return -ENOENT;
    const fromDir = dcache.isDir(from.ino);
    if (!fromDir && (from.slash || (to.slash && (flags & RENAME_EXCHANGE) === 0))) return -ENOTDIR;
    // A directory cannot move below itself (lock_rename's trap), nor replace its own ancestor.
    if (fromDir && dcache.isAncestor(from.ino, to.dir)) return -EINVAL;
    if (to.ino >= 0 && dcache.isDir(to.ino) && dcache.isAncestor(to.ino, from.dir)) return (flags & RENAME_EXCHANGE) !== 0 ? -EINVAL : -ENOTEMPTY;
    if (from.ino === to.ino || to.ino < 0 || (flags & RENAME_EXCHANGE) !== 0) return 0;
    const toDir = dcache.isDir(to.ino);
    if (fromDir && !toDir) return -ENOTDIR;
    if (!fromDir && toDir) return -EISDIR;
    return toDir && !dcache.isEmpty(to.ino) ? -ENOTEMPTY : 0;
  }

  /** Move `from`'s entry to `to`, removing what `to` named; returns that inode (to iput) or -1. */
  private move(from: Nameidata, to: Nameidata): number {
    const { dcache } = this;
    const replaced = to.ino;
    if (replaced >= 0) this.remove(replaced, to.dir);
    if (dcache.isDir(from.ino) && from.dir !== to.dir) {
      dcache.addLinks(from.dir, -1);
      dcache.addLinks(to.dir, 1);
    }
    dcache.link(from.ino, to.dir, to.last);
    this.stampRename(from, to);
    return replaced;
  }

  /** RENAME_EXCHANGE: the two entries trade places. */
  private exchange(a: Nameidata, b: Nameidata): void {
    const { dcache } = this;
    if (a.dir !== b.dir && dcache.isDir(a.ino) !== dcache.isDir(b.ino)) {
      // The directory's ".." moves from one parent to the other.
      const dirSide = dcache.isDir(a.ino) ? a : b;
      const other = dirSide === a ? b : a;
      dcache.addLinks(dirSide.dir, -1);
      dcache.addLinks(other.dir, 1);
    }
    dcache.link(a.ino, b.dir, b.last);
    dcache.link(b.ino, a.dir, a.last);
    this.inodes.touch(b.ino, Stamp.Change);
    this.stampRename(a, b);
  }

  private stampRename(from: Nameidata, to: Nameidata): void {
    this.inodes.touch(from.ino, Stamp.Change);
    this.inodes.touch(from.dir, Stamp.Modify | Stamp.Change);
    this.inodes.touch(to.dir, Stamp.Modify | Stamp.Change);
  }

  /** symlinkat(target, newdirfd, linkpath): a symlink holding `target`'s bytes (no NUL). */
  symlinkat(run: TaskRun, targetVa: number, newdirfd: number, linkVa: number): number {
    const target = this.namei.readPath(targetVa);
    if (typeof target === 'number') return target;
    if (target === '') return -ENOENT;
    return this.namei.atPath(run, newdirfd, linkVa, (nd) => {
      if (nd.type !== LastType.Norm || nd.ino >= 0) return -EEXIST;
      if (this.dcache.nlink(nd.dir) === 0) return -ENOENT;
      // A target is under PATH_MAX, so one page holds it (shmem_symlink's page).
      const ino = this.namei.createIn(nd.dir, nd.last, InodeType.Symlink, 0o777, 1);
      if (ino < 0) return -ENOSPC;
      const object = this.k.i32[this.k.layout.inodeBase(ino) + INODE.shmem]!;
      const frame = this.shmem.page(object, 0);
      if (frame === 0) {
        this.dcache.unlink(ino);
        this.inodes.iput(ino);
        return -ENOSPC;
      }
      for (let i = 0; i < target.length; i++) this.k.ram.bytes[frame * PAGE_SIZE + i] = target.charCodeAt(i);
      this.inodes.setSize(ino, target.length);
      return 0;
    });
  }

  /** readlinkat(dirfd, path, buf, bufsiz): the link's target, cut to `bufsiz`, with no NUL. */
  readlinkat(run: TaskRun, dirfd: number, pathVa: number, bufVa: number, bufsiz: number): number {
    if (bufsiz <= 0) return -EINVAL;
    let target = '';
    const r = this.namei.atPath(run, dirfd, pathVa, (nd) => {
      const ino = this.namei.resolveLast(nd, false);
      if (ino < 0) return ino;
      if (this.dcache.type(ino) !== InodeType.Symlink) return -EINVAL;
      this.inodes.touch(ino, Stamp.Access);
      target = this.namei.readLink(ino);
      return 0;
    });
    if (r < 0) return r;
    const bytes = Uint8Array.from(target.slice(0, bufsiz), (c) => c.charCodeAt(0));
    const w = copyToUser(this.k.user, bufVa, bytes);
    return w < 0 ? w : bytes.length;
  }

  /**
   * getdents64(fd, dirp, count): the directory's entries from the file's cursor, as many
   * linux_dirent64 records as fit ("." and ".." first, then the entries in slot order; each
   * record's d_off is the cursor after it). 0 at the end; -EINVAL if not even one fits.
   */
  getdents64(run: TaskRun, fd: number, dirp: number, count: number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      if (i32[fb + FILE.kind] !== FileKind.Directory) return -ENOTDIR;
      const dir = i32[fb + FILE.inode]!;
      // The cursor is a slot + 2, or wherever llseek put it (past every slot: the end).
      const pos = Math.min(i32[fb + FILE.posHi]! !== 0 ? Infinity : i32[fb + FILE.pos]! >>> 0, MAX_INODES + FIRST_CHILD_POS);
      const records = this.namei.locked(() => this.records(dir, pos, count >>> 0));
      if (typeof records === 'number') return records;
      const r = copyToUser(this.k.user, dirp, records.bytes);
      if (r < 0) return r;
      i32[fb + FILE.pos] = records.pos;
      return records.bytes.length;
    });
  }

  /**
   * The records getdents64 returns from cursor `pos`, in at most `count` bytes; -ENOENT for a
   * removed directory (iterate_dir's IS_DEADDIR). Under fsLock.
   */
  private records(dir: number, pos: number, count: number): { bytes: Uint8Array; pos: number } | number {
    const { dcache } = this;
    if (dcache.nlink(dir) === 0) return -ENOENT;
    const out: number[] = [];
    const entries: { ino: number; name: string; type: number; next: number }[] = [];
    if (pos === 0) entries.push({ ino: dir, name: '.', type: DT_DIR, next: 1 });
    if (pos <= 1) {
      const parent = dcache.parent(dir);
      entries.push({ ino: parent >= 0 ? parent : dir, name: '..', type: DT_DIR, next: FIRST_CHILD_POS });
    }
    const room = Math.floor(Math.min(count, 1 << 20) / 24) + 1;
    for (const c of dcache.children(dir, Math.max(0, pos - FIRST_CHILD_POS), room)) {
      entries.push({ ino: c.ino, name: c.name, type: dtype(c.type), next: c.ino + FIRST_CHILD_POS + 1 });
    }
    let cursor = pos;
    for (const e of entries) {
      const reclen = Math.ceil((DIRENT64_HEADER + e.name.length + 1) / 8) * 8;
      if (out.length + reclen > count) break;
      const rec = new Uint8Array(reclen);
      const dv = new DataView(rec.buffer);
      dv.setUint32(0, e.ino + 1, true); // d_ino (st_ino)
      dv.setUint32(8, e.next, true); // d_off
      dv.setUint16(16, reclen, true);
      rec[18] = e.type;
      for (let i = 0; i < e.name.length; i++) rec[DIRENT64_HEADER + i] = e.name.charCodeAt(i);
      out.push(...rec);
      cursor = e.next;
    }
    if (out.length === 0 && entries.length > 0) return -EINVAL;
    if (entries.length > 0) this.inodes.touch(dir, Stamp.Access);
    return { bytes: Uint8Array.from(out), pos: cursor };
  }

  /** chdir(path): the directory `path` names becomes the working directory. */
  chdir(run: TaskRun, pathVa: number): number {
    let old = -1;
    const r = this.namei.atPath(run, AT_FDCWD, pathVa, (nd) => {
      const ino = this.namei.resolveLast(nd, true);
      if (ino < 0) return ino;
      if (!this.dcache.isDir(ino)) return -ENOTDIR;
      this.inodes.iget(ino);
      old = this.fdt.setCwd(run, ino);
      return 0;
    });
    if (old >= 0) this.inodes.iput(old);
    return r;
  }

  /** fchdir(fd): the directory open at `fd` becomes the working directory. */
  fchdir(run: TaskRun, fd: number): number {
    let old = -1;
    const r = this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      if (i32[fb + FILE.kind] !== FileKind.Directory) return -ENOTDIR;
      const ino = i32[fb + FILE.inode]!;
      return this.namei.locked(() => {
        this.inodes.iget(ino);
        old = this.fdt.setCwd(run, ino);
        return 0;
      });
    });
    if (old >= 0) this.inodes.iput(old);
    return r;
  }

  /**
   * getcwd(buf, size): the working directory's path with its NUL; returns its length with
   * the NUL. -ERANGE if it does not fit, -ENOENT if the directory was removed.
   */
  getcwd(run: TaskRun, bufVa: number, size: number): number {
    const path = this.namei.locked(() => this.cwdPath(run));
    if (typeof path === 'number') return path;
    if (path.length + 1 > (size >>> 0)) return -ERANGE;
    const bytes = Uint8Array.from(path + '\0', (c) => c.charCodeAt(0));
    const r = copyToUser(this.k.user, bufVa, bytes);
    return r < 0 ? r : bytes.length;
  }

  /** The working directory's path, from its entries up to the root (d_path). Under fsLock. */
  private cwdPath(run: TaskRun): string | number {
    const { dcache } = this;
    let dir = this.namei.startDir(run, -1);
    if (dcache.nlink(dir) === 0) return -ENOENT;
    const names: string[] = [];
    for (let hops = 0; dir !== ROOT_INO && hops < MAX_INODES; hops++) {
      names.unshift(dcache.name(dir));
      dir = dcache.parent(dir);
    }
    const path = `/${names.join('/')}`;
    return path.length >= PATH_MAX ? -ENAMETOOLONG : path;
  }

  /**
   * faccessat2(dirfd, path, mode, flags) (faccessat is flags 0): whether the caller may access
   * the file. Every process is root: read and write are allowed; execute needs an execute
   * bit, except on a directory (generic_permission's CAP_DAC_OVERRIDE case).
   */
  faccessat(run: TaskRun, dirfd: number, pathVa: number, mode: number, flags: number): number {
    if ((mode & ~7) !== 0) return -EINVAL;
    if ((flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) return -EINVAL;
    const check = (ino: number): number => {
      if ((mode & X_OK) === 0 || this.dcache.isDir(ino)) return 0;
      return (this.k.i32[this.k.layout.inodeBase(ino) + INODE.mode]! & 0o111) !== 0 ? 0 : -EACCES;
    };
    return this.namei.atPath(run, dirfd, pathVa, (nd) => {
      const ino = this.namei.resolveLast(nd, (flags & AT_SYMLINK_NOFOLLOW) === 0);
      return ino < 0 ? ino : check(ino);
    });
  }
}

/** A directory entry's d_type for an inode type. */
function dtype(type: InodeType): number {
  switch (type) {
    case InodeType.Directory: return DT_DIR;
    case InodeType.Symlink: return DT_LNK;
    case InodeType.Fifo: return DT_FIFO;
    default: return DT_REG;
  }
}
