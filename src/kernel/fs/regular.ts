/**
 * Regular files (tmpfs in spirit): a file's bytes live in a shmem object, one per inode, so
 * mapping it MAP_SHARED maps the file's own pages. Read and write of a regular file (the inode
 * lock held, the data in a kernel buffer), truncate/ftruncate, llseek, mmap's mapFile, and
 * fstat, which answers for the console and pipes too.
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import { PAGE_SIZE } from '../../hw/paging.js';
import type { KernelContext } from '../context.js';
import { EACCES, EFBIG, EINVAL, ENODEV, ENOSPC, ESPIPE } from '../../uapi/errno.js';
import { FILE, FileKind, INODE, MAX_INODES } from '../layout.js';
import type { AddressSpaces } from '../mm.js';
import type { TaskRun } from '../sched.js';
import { SHMEM_MAX_PAGES, type SharedMemory } from '../shmem.js';
import { uaccess } from '../uaccess.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../../uapi/mman.js';
import { O_ACCMODE, O_APPEND, O_RDONLY, O_RDWR, O_WRONLY } from '../../uapi/fcntl.js';
import { SEEK_CUR, SEEK_END, SEEK_SET } from '../../uapi/fs.js';
import type { FdTables } from './fdtable.js';
import type { Inodes } from './inode.js';

// st_mode (include/uapi/linux/stat.h).
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFREG = 0o100000;
/** struct stat64 of asm-generic/stat.h, what riscv32's fstat (nr 80) fills. */
export const STAT64_BYTES = 104;

/** Largest regular file: its shmem object's largest size. */
export const MAX_FILE_BYTES = SHMEM_MAX_PAGES * PAGE_SIZE;

export class RegularFiles {
  constructor(
    private readonly k: KernelContext,
    private readonly shmem: SharedMemory,
    private readonly mms: AddressSpaces,
    private readonly inodes: Inodes,
    private readonly fdt: FdTables,
  ) {}

  /** Set a file's size: new pages are holes; pages past a smaller size are dropped and unmapped. */
  truncate(ino: number, size: number): number {
    const { i32, layout, ram } = this.k;
    if (size < 0) return -EINVAL;
    if (size > MAX_FILE_BYTES) return -EFBIG;
    const ib = layout.inodeBase(ino);
    const object = i32[ib + INODE.shmem]!;
    this.inodes.lockInode(ino);
    const old = i32[ib + INODE.size]!;
    const pages = Math.ceil(size / PAGE_SIZE);
    const shrank = pages < this.shmem.size(object);
    if (size < old && size % PAGE_SIZE !== 0) {
      // The rest of the new last page reads as zeros if the file grows again.
      const frame = this.shmem.peek(object, pages - 1);
      if (frame !== 0) ram.bytes.fill(0, frame * PAGE_SIZE + (size % PAGE_SIZE), (frame + 1) * PAGE_SIZE);
    }
    this.shmem.resize(object, pages);
    i32[ib + INODE.size] = size;
    this.inodes.unlockInode(ino);
    if (shrank) this.mms.unmapMappingRange(object, pages);
    return 0;
  }

  /** ftruncate(fd, length): the length is 64 bits, in the register pair (lo, hi). */
  ftruncate(run: TaskRun, fd: number, lo: number, hi: number): number {
    const length = (lo >>> 0) + hi * 4294967296;
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      if (i32[fb + FILE.kind] !== FileKind.Regular || (i32[fb + FILE.flags]! & O_ACCMODE) === O_RDONLY) return -EINVAL;
      return this.truncate(i32[fb + FILE.inode]!, length);
    });
  }

  readRegular(fb: number, len: number): Uint8Array | number {
    const { i32, layout, ram } = this.k;
    const ino = i32[fb + FILE.inode]!;
    const ib = layout.inodeBase(ino);
    const object = i32[ib + INODE.shmem]!;
    this.inodes.lockInode(ino);
    const pos = i32[fb + FILE.pos]!;
    const n = Math.max(0, Math.min(len, i32[ib + INODE.size]! - pos));
    const out = new Uint8Array(n);
    for (let done = 0; done < n;) {
      const at = pos + done;
      const chunk = Math.min(n - done, PAGE_SIZE - (at % PAGE_SIZE));
      const frame = this.shmem.peek(object, Math.floor(at / PAGE_SIZE));
      // A hole reads as zeros (out is zeroed).
      if (frame !== 0) out.set(ram.bytes.subarray(frame * PAGE_SIZE + (at % PAGE_SIZE), frame * PAGE_SIZE + (at % PAGE_SIZE) + chunk), done);
      done += chunk;
    }
    i32[fb + FILE.pos] = pos + n;
    this.inodes.unlockInode(ino);
    return out;
  }

  writeRegular(fb: number, data: Uint8Array): number {
    const { i32, layout, ram } = this.k;
    // A zero-length write changes nothing, not even a file it would extend.
    if (data.length === 0) return 0;
    const ino = i32[fb + FILE.inode]!;
    const ib = layout.inodeBase(ino);
    const object = i32[ib + INODE.shmem]!;
    this.inodes.lockInode(ino);
    try {
      const size = i32[ib + INODE.size]!;
      const pos = (i32[fb + FILE.flags]! & O_APPEND) !== 0 ? size : i32[fb + FILE.pos]!;
      if (pos >= MAX_FILE_BYTES) return -EFBIG;
      const n = Math.min(data.length, MAX_FILE_BYTES - pos);
      const pages = Math.ceil((pos + n) / PAGE_SIZE);
      if (pages > this.shmem.size(object)) this.shmem.resize(object, pages);
      let done = 0;
      while (done < n) {
        const at = pos + done;
        const chunk = Math.min(n - done, PAGE_SIZE - (at % PAGE_SIZE));
        const frame = this.shmem.page(object, Math.floor(at / PAGE_SIZE));
        if (frame === 0) break; // out of memory: a short write, or ENOSPC if nothing went
        ram.bytes.set(data.subarray(done, done + chunk), frame * PAGE_SIZE + (at % PAGE_SIZE));
        done += chunk;
      }
      const newSize = done > 0 ? Math.max(pos + done, size) : size;
      i32[ib + INODE.size] = newSize;
      // A write that ran out of memory leaves the object no bigger than the file.
      this.shmem.resize(object, Math.ceil(newSize / PAGE_SIZE));
      if (done === 0) return -ENOSPC;
      i32[fb + FILE.pos] = pos + done;
      return done;
    } finally {
      this.inodes.unlockInode(ino);
    }
  }

  /** llseek(fd, offset_high, offset_low, &result, whence). */
  llseek(run: TaskRun, fd: number, hi: number, lo: number, resultVa: number, whence: number): number {
    const offset = hi * 4294967296 + (lo >>> 0);
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32, layout, user } = this.k;
      if (i32[fb + FILE.kind] !== FileKind.Regular) return -ESPIPE;
      const ino = i32[fb + FILE.inode]!;
      this.inodes.lockInode(ino);
      const base = whence === SEEK_SET ? 0 : whence === SEEK_CUR ? i32[fb + FILE.pos]! : whence === SEEK_END ? i32[layout.inodeBase(ino) + INODE.size]! : NaN;
      const pos = base + offset;
      const ok = Number.isFinite(pos) && pos >= 0 && pos <= MAX_FILE_BYTES;
      if (ok) i32[fb + FILE.pos] = pos;
      this.inodes.unlockInode(ino);
      if (!ok) return -EINVAL;
      return uaccess(() => {
        user.store32(resultVa, pos);
        user.store32(resultVa + 4, 0);
        return 0;
      });
    });
  }

  /** fstat(fd, &stat64). */
  fstat(run: TaskRun, fd: number, statVa: number): number {
    return this.fdt.withFile(run, fd, (f, fb) => {
      const { i32, layout, user } = this.k;
      const kind = i32[fb + FILE.kind]!;
      const ino = i32[fb + FILE.inode]!;
      const ib = layout.inodeBase(ino);
      const words = new Int32Array(STAT64_BYTES / 4);
      let blocks = 0;
      if (kind === FileKind.Regular) {
        const size = i32[ib + INODE.size]!;
        words[2] = ino + 1; // st_ino
        words[4] = S_IFREG | i32[ib + INODE.mode]!;
        words[5] = i32[ib + INODE.nlink]!;
        words[12] = size; // st_size (low word; files are under 4 GiB)
        blocks = this.allocatedPages(i32[ib + INODE.shmem]!) * (PAGE_SIZE / 512);
      } else if (kind === FileKind.Console) {
        words[2] = MAX_INODES + f + 1;
        words[4] = S_IFCHR | 0o620;
        words[5] = 1;
        words[8] = (5 << 8) | 1; // st_rdev: /dev/console, char 5:1
      } else {
        words[2] = ino + 1;
        words[4] = S_IFIFO | 0o600;
        words[5] = 1;
      }
      words[14] = PAGE_SIZE; // st_blksize
      words[16] = blocks; // st_blocks, in 512-byte units
      return uaccess(() => {
        for (let i = 0; i < words.length; i++) user.store32(statVa + i * 4, words[i]!);
        return 0;
      });
    });
  }

  private allocatedPages(object: number): number {
    let n = 0;
    for (let p = 0, pages = this.shmem.size(object); p < pages; p++) if (this.shmem.peek(object, p) !== 0) n++;
    return n;
  }

  /**
   * mmap of a file: the shmem object holding `fd`'s pages, with a reference the mapping takes
   * over, or -errno: -EACCES when the open mode does not allow the mapping's protection.
   */
  mapFile(run: TaskRun, fd: number, prot: number, flags: number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32, layout } = this.k;
      if (i32[fb + FILE.kind] !== FileKind.Regular) return -ENODEV;
      const mode = i32[fb + FILE.flags]! & O_ACCMODE;
      if (mode === O_WRONLY && (prot & (PROT_READ | PROT_WRITE)) !== 0) return -EACCES;
      if ((flags & MAP_SHARED) !== 0 && (prot & PROT_WRITE) !== 0 && mode !== O_RDWR) return -EACCES;
      const object = i32[layout.inodeBase(i32[fb + FILE.inode]!) + INODE.shmem]!;
      this.shmem.get(object);
      return object;
    });
  }
}
