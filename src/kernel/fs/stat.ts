/**
 * File status (Linux's fs/stat.c): what an inode or an open file is (struct kstat), written
 * out as struct statx — which musl's riscv32 uses for stat, lstat, fstat and fstatat alike,
 * riscv32 having no stat64 calls — or as asm-generic's struct stat64 for fstat (nr 80), which
 * pvemu's TypeScript programs call.
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import { PAGE_SIZE } from '../../hw/paging.js';
import type { KernelContext } from '../context.js';
import { EINVAL } from '../../uapi/errno.js';
import { FILE, FileKind, INODE, InodeType, MAX_INODES } from '../layout.js';
import type { TaskRun } from '../sched.js';
import type { SharedMemory } from '../shmem.js';
import { uaccess } from '../uaccess.js';
import { AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW } from '../../uapi/fcntl.js';
import { S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, STATX_BASIC_STATS, STATX_BYTES, STATX__RESERVED } from '../../uapi/fs.js';
import type { FdTables } from './fdtable.js';
import type { Inodes } from './inode.js';
import type { Namei } from './namei.js';

/** struct stat64 of asm-generic/stat.h, what fstat (nr 80) fills. */
export const STAT64_BYTES = 104;
/** The console's device, /dev/console: char 5:1; it lives on devtmpfs (0:5 here). */
const CONSOLE_RDEV = { major: 5, minor: 1 };
const CONSOLE_DEV = { major: 0, minor: 5 };
/** The anonymous devices of this file system and of pipefs (as tmpfs and pipefs get one each). */
const TMPFS_DEV = { major: 0, minor: 0x1a };
const PIPEFS_DEV = { major: 0, minor: 0xc };

interface Time {
  sec: number;
  nsec: number;
}

/** struct kstat: what both layouts are filled from. */
interface Kstat {
  ino: number;
  mode: number;
  nlink: number;
  dev: { major: number; minor: number };
  rdev: { major: number; minor: number };
  size: number;
  blocks: number;
  atime: Time;
  mtime: Time;
  ctime: Time;
}

export class Stat {
  constructor(
    private readonly k: KernelContext,
    private readonly shmem: SharedMemory,
    private readonly inodes: Inodes,
    private readonly fdt: FdTables,
    private readonly namei: Namei,
  ) {}

  /** An inode's kstat (shmem_getattr): st_ino is its slot + 1. Caller holds fsLock. */
  private inodeStat(ino: number): Kstat {
    const { i32, layout } = this.k;
    const ib = layout.inodeBase(ino);
    const type = i32[ib + INODE.type]!;
    const time = (at: number): Time => ({ sec: (i32[ib + at]! >>> 0) + i32[ib + at + 1]! * 4294967296, nsec: i32[ib + at + 2]! });
    const hasPages = type === InodeType.Regular || type === InodeType.Symlink;
    const perm = type === InodeType.Fifo ? 0o600 : i32[ib + INODE.mode]!;
    return {
      ino: ino + 1,
      mode: fileType(type) | perm,
      nlink: type === InodeType.Fifo ? 1 : i32[ib + INODE.nlink]!,
      dev: type === InodeType.Fifo ? PIPEFS_DEV : TMPFS_DEV,
      rdev: { major: 0, minor: 0 },
      size: hasPages ? this.inodes.size(ino) : type === InodeType.Directory ? dirSize(this.namei, ino) : 0,
      // st_blocks counts 512-byte units of the pages that exist: a hole takes none.
      blocks: hasPages ? this.shmem.residentPages(i32[ib + INODE.shmem]!) * (PAGE_SIZE / 512) : 0,
      atime: time(INODE.atime),
      mtime: time(INODE.mtime),
      ctime: time(INODE.ctime),
    };
  }

  /** An open file's kstat: its inode's, or the console's (open file `f`). Caller holds fsLock. */
  private fileStat(f: number, fb: number): Kstat {
    const { i32 } = this.k;
    if (i32[fb + FILE.kind] !== FileKind.Console) return this.inodeStat(i32[fb + FILE.inode]!);
    const zero = { sec: 0, nsec: 0 };
    return {
      ino: MAX_INODES + f + 1, mode: S_IFCHR | 0o620, nlink: 1, dev: CONSOLE_DEV, rdev: CONSOLE_RDEV,
      size: 0, blocks: 0, atime: zero, mtime: zero, ctime: zero,
    };
  }

  /**
   * statx(dirfd, path, flags, mask, buf): the file `path` names (its symlink itself with
   * AT_SYMLINK_NOFOLLOW), or with AT_EMPTY_PATH and "" the file `dirfd` is open on (the working
   * directory for AT_FDCWD). Every basic field is filled, whatever `mask` asks for.
   */
  statx(run: TaskRun, dirfd: number, pathVa: number, flags: number, mask: number, buf: number): number {
    if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) !== 0) return -EINVAL;
    if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return -EINVAL;
    if ((mask & STATX__RESERVED) !== 0) return -EINVAL;
    const path = this.namei.readPath(pathVa);
    if (typeof path === 'number') return path;
    let st: Kstat | undefined;
    let r: number;
    if (path === '' && (flags & AT_EMPTY_PATH) !== 0) {
      r = dirfd === AT_FDCWD
        ? this.namei.locked(() => { st = this.inodeStat(this.namei.startDir(run, -1)); return 0; })
        : this.fdt.withFile(run, dirfd, (f, fb) => { st = this.namei.locked(() => this.fileStat(f, fb)); return 0; });
    } else {
      r = this.namei.atPath(run, dirfd, pathVa, (nd) => {
        const ino = this.namei.resolveLast(nd, (flags & AT_SYMLINK_NOFOLLOW) === 0);
        if (ino >= 0) st = this.inodeStat(ino);
        return ino < 0 ? ino : 0;
      });
    }
    if (r < 0 || st === undefined) return r;
    return this.putStatx(st, buf);
  }

  /** fstat(fd, &stat64). */
  fstat(run: TaskRun, fd: number, statVa: number): number {
    let st: Kstat | undefined;
    const r = this.fdt.withFile(run, fd, (f, fb) => { st = this.namei.locked(() => this.fileStat(f, fb)); return 0; });
    if (r < 0 || st === undefined) return r;
    return this.putStat64(st, statVa);
  }

  /** cp_statx: struct statx (include/uapi/linux/stat.h), 256 bytes. */
  private putStatx(st: Kstat, buf: number): number {
    const out = new DataView(new ArrayBuffer(STATX_BYTES));
    out.setUint32(0, STATX_BASIC_STATS, true); // stx_mask
    out.setUint32(4, PAGE_SIZE, true); // stx_blksize
    out.setUint32(16, st.nlink, true);
    out.setUint16(28, st.mode, true);
    setU64(out, 32, st.ino);
    setU64(out, 40, st.size);
    setU64(out, 48, st.blocks);
    [st.atime, { sec: 0, nsec: 0 }, st.ctime, st.mtime].forEach((t, i) => {
      // stx_atime, stx_btime (not kept: the mask leaves STATX_BTIME out), stx_ctime, stx_mtime.
      setU64(out, 64 + i * 16, t.sec);
      out.setUint32(64 + i * 16 + 8, t.nsec, true);
    });
    out.setUint32(128, st.rdev.major, true);
    out.setUint32(132, st.rdev.minor, true);
    out.setUint32(136, st.dev.major, true);
    out.setUint32(140, st.dev.minor, true);
    return this.copyOut(out, buf);
  }

  /** cp_new_stat64's asm-generic struct stat64 (32-bit): 104 bytes. */
  private putStat64(st: Kstat, buf: number): number {
    const out = new DataView(new ArrayBuffer(STAT64_BYTES));
    setU64(out, 0, (st.dev.major << 8) | st.dev.minor);
    setU64(out, 8, st.ino);
    out.setUint32(16, st.mode, true);
    out.setUint32(20, st.nlink, true);
    setU64(out, 32, (st.rdev.major << 8) | st.rdev.minor);
    setU64(out, 48, st.size);
    out.setUint32(56, PAGE_SIZE, true); // st_blksize
    setU64(out, 64, st.blocks);
    [st.atime, st.mtime, st.ctime].forEach((t, i) => {
      out.setUint32(72 + i * 8, t.sec % 4294967296, true);
      out.setUint32(76 + i * 8, t.nsec, true);
    });
    return this.copyOut(out, buf);
  }

  private copyOut(out: DataView, buf: number): number {
    const { user } = this.k;
    return uaccess(() => {
      for (let i = 0; i < out.byteLength; i += 4) user.store32(buf + i, out.getInt32(i, true));
      return 0;
    });
  }
}

function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % 4294967296, true);
  dv.setUint32(at + 4, Math.floor(v / 4294967296), true);
}

function fileType(type: InodeType): number {
  switch (type) {
    case InodeType.Directory: return S_IFDIR;
    case InodeType.Symlink: return S_IFLNK;
    case InodeType.Fifo: return S_IFIFO;
    default: return S_IFREG;
  }
}

/**
 * A directory's st_size: tmpfs counts BOGO_DIRENT_SIZE (20) per entry, "." and ".." included
 * (shmem_mknod and simple_offset's i_size += BOGO_DIRENT_SIZE).
 */
function dirSize(namei: Namei, dir: number): number {
  return (namei.dcache.children(dir, 0, MAX_INODES).length + 2) * 20;
}
