/**
 * Regular files (tmpfs in spirit, Linux's mm/shmem.c): a file's bytes live in a shmem object,
 * one per inode, so mapping it MAP_SHARED maps the file's own pages. Sizes and positions are
 * 64 bits; a file may be sparse up to MAX_FILE_BYTES: a hole reads as zeros and holds no page,
 * only written (or fallocated) pages have frames (shmem.ts's far index reaches past 256 MiB).
 * Read and write at the file position or at a given offset (pread64/pwrite64), truncate and
 * ftruncate, llseek, fallocate, fadvise64_64, sync_file_range, and mmap's mapFile.
 *
 * Runs on the vCPU worker of the calling task, on its behalf.
 */
import { PAGE_SIZE } from '../../hw/paging.js';
import type { KernelContext } from '../context.js';
import { EACCES, EBADF, EFBIG, EINVAL, EISDIR, ENODEV, ENOSPC, EOPNOTSUPP, EOVERFLOW, ESPIPE } from '../../uapi/errno.js';
import { FILE, FileKind, INODE } from '../layout.js';
import type { AddressSpaces } from '../mm.js';
import type { TaskRun } from '../sched.js';
import { SHMEM_MAX_PAGES, type SharedMemory } from '../shmem.js';
import { uaccess } from '../uaccess.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../../uapi/mman.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, O_ACCMODE, O_APPEND, O_RDONLY, O_RDWR, O_WRONLY, POSIX_FADV_NOREUSE, SYNC_FILE_RANGE_VALID } from '../../uapi/fcntl.js';
import { SEEK_CUR, SEEK_END, SEEK_HOLE, SEEK_SET } from '../../uapi/fs.js';
import type { FdTables } from './fdtable.js';
import { Stamp, type Inodes } from './inode.js';

/**
 * Largest regular file (the superblock's s_maxbytes): what a shmem object's index reaches,
 * 4 TiB. Linux's 32-bit MAX_LFS_FILESIZE is 16 TiB; past 4 TiB this file system answers -EFBIG
 * (writes, truncate, fallocate) and -EINVAL (llseek) where Linux would go on to 16 TiB.
 */
export const MAX_FILE_BYTES = SHMEM_MAX_PAGES * PAGE_SIZE;

const TWO_32 = 4294967296;

/** A 64-bit system-call argument from its register pair (low word, high word), signed. */
export function arg64(lo: number, hi: number): number {
  return hi * TWO_32 + (lo >>> 0);
}

export class RegularFiles {
  constructor(
    private readonly k: KernelContext,
    private readonly shmem: SharedMemory,
    private readonly mms: AddressSpaces,
    private readonly inodes: Inodes,
    private readonly fdt: FdTables,
  ) {}

  private object(ino: number): number {
    return this.k.i32[this.k.layout.inodeBase(ino) + INODE.shmem]!;
  }

  /** The open file's position (64 bits). */
  pos(fb: number): number {
    return arg64(this.k.i32[fb + FILE.pos]!, this.k.i32[fb + FILE.posHi]!);
  }

  setPos(fb: number, pos: number): void {
    this.k.i32[fb + FILE.pos] = pos % TWO_32;
    this.k.i32[fb + FILE.posHi] = Math.floor(pos / TWO_32);
  }

  /** Set a file's size: new pages are holes; pages past a smaller size are dropped and unmapped. */
  truncate(ino: number, size: number): number {
    const { ram } = this.k;
    if (size < 0) return -EINVAL;
    if (size > MAX_FILE_BYTES) return -EFBIG;
    const object = this.object(ino);
    this.inodes.lockInode(ino);
    const old = this.inodes.size(ino);
    const pages = Math.ceil(size / PAGE_SIZE);
    const shrank = pages < this.shmem.size(object);
    if (size < old && size % PAGE_SIZE !== 0) {
      // The rest of the new last page reads as zeros if the file grows again.
      const frame = this.shmem.peek(object, pages - 1);
      if (frame !== 0) ram.bytes.fill(0, frame * PAGE_SIZE + (size % PAGE_SIZE), (frame + 1) * PAGE_SIZE);
    }
    this.shmem.resize(object, pages);
    this.inodes.setSize(ino, size);
    this.inodes.touch(ino, Stamp.Modify | Stamp.Change);
    this.inodes.unlockInode(ino);
    if (shrank) this.mms.unmapMappingRange(object, pages);
    return 0;
  }

  /** ftruncate64(fd, length): the length in the register pair (lo, hi). */
  ftruncate(run: TaskRun, fd: number, lo: number, hi: number): number {
    const length = arg64(lo, hi);
    if (length < 0) return -EINVAL;
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      if (i32[fb + FILE.kind] !== FileKind.Regular || (i32[fb + FILE.flags]! & O_ACCMODE) === O_RDONLY) return -EINVAL;
      return this.truncate(i32[fb + FILE.inode]!, length);
    });
  }

  /** read at the file position, moving it. */
  readRegular(fb: number, len: number): Uint8Array {
    const ino = this.k.i32[fb + FILE.inode]!;
    this.inodes.lockInode(ino);
    const out = this.readAtLocked(ino, this.pos(fb), len);
    this.setPos(fb, this.pos(fb) + out.length);
    this.inodes.unlockInode(ino);
    return out;
  }

  /** pread64: read at `pos`; the file position stays. */
  readAt(ino: number, pos: number, len: number): Uint8Array {
    this.inodes.lockInode(ino);
    const out = this.readAtLocked(ino, pos, len);
    this.inodes.unlockInode(ino);
    return out;
  }

  /** Up to `len` bytes from `pos` (none past the end); holes read as zeros. Inode lock held. */
  private readAtLocked(ino: number, pos: number, len: number): Uint8Array {
    const { ram } = this.k;
    const object = this.object(ino);
    const n = Math.max(0, Math.min(len, this.inodes.size(ino) - pos));
    const out = new Uint8Array(n);
    for (let done = 0; done < n;) {
      const at = pos + done;
      const chunk = Math.min(n - done, PAGE_SIZE - (at % PAGE_SIZE));
      const frame = this.shmem.peek(object, Math.floor(at / PAGE_SIZE));
      // A hole reads as zeros (out is zeroed).
      if (frame !== 0) out.set(ram.bytes.subarray(frame * PAGE_SIZE + (at % PAGE_SIZE), frame * PAGE_SIZE + (at % PAGE_SIZE) + chunk), done);
      done += chunk;
    }
    if (n > 0) this.inodes.touch(ino, Stamp.Access);
    return out;
  }

  /** write at the file position (or the end, O_APPEND), moving it past what was written. */
  writeRegular(fb: number, data: Uint8Array): number {
    const { i32 } = this.k;
    const ino = i32[fb + FILE.inode]!;
    this.inodes.lockInode(ino);
    const append = (i32[fb + FILE.flags]! & O_APPEND) !== 0;
    const pos = append ? this.inodes.size(ino) : this.pos(fb);
    const r = this.writeAtLocked(ino, pos, data);
    if (r > 0) this.setPos(fb, pos + r);
    this.inodes.unlockInode(ino);
    return r;
  }

  /**
   * pwrite64: write at `pos`; the file position stays. On an O_APPEND file the data go to the
   * end whatever `pos` says, as Linux does (pwrite(2), BUGS).
   */
  writeAt(fb: number, pos: number, data: Uint8Array): number {
    const { i32 } = this.k;
    const ino = i32[fb + FILE.inode]!;
    this.inodes.lockInode(ino);
    const at = (i32[fb + FILE.flags]! & O_APPEND) !== 0 ? this.inodes.size(ino) : pos;
    const r = this.writeAtLocked(ino, at, data);
    this.inodes.unlockInode(ino);
    return r;
  }

  /**
   * Write `data` at `pos`: -EFBIG at or past MAX_FILE_BYTES, a short write up to it; pages are
   * allocated as they are written (a short write, or -ENOSPC if nothing went, when memory runs
   * out). A zero-length write changes nothing. Inode lock held.
   */
  private writeAtLocked(ino: number, pos: number, data: Uint8Array): number {
    const { ram } = this.k;
    if (data.length === 0) return 0;
    if (pos >= MAX_FILE_BYTES) return -EFBIG;
    const object = this.object(ino);
    const size = this.inodes.size(ino);
    const n = Math.min(data.length, MAX_FILE_BYTES - pos);
    const pages = Math.ceil((pos + n) / PAGE_SIZE);
    if (pages > this.shmem.size(object)) this.shmem.resize(object, pages);
    let done = 0;
    while (done < n) {
      const at = pos + done;
      const chunk = Math.min(n - done, PAGE_SIZE - (at % PAGE_SIZE));
      const frame = this.shmem.page(object, Math.floor(at / PAGE_SIZE));
      if (frame === 0) break; // out of memory
      ram.bytes.set(data.subarray(done, done + chunk), frame * PAGE_SIZE + (at % PAGE_SIZE));
      done += chunk;
    }
    const newSize = done > 0 ? Math.max(pos + done, size) : size;
    this.inodes.setSize(ino, newSize);
    // A write that ran out of memory leaves the object no bigger than the file.
    this.shmem.resize(object, Math.ceil(newSize / PAGE_SIZE));
    if (done === 0) return -ENOSPC;
    this.inodes.touch(ino, Stamp.Modify | Stamp.Change);
    return done;
  }

  /**
   * llseek(fd, offset_high, offset_low, &result, whence): generic_file_llseek_size for regular
   * files (SEEK_END from the size), dcache_dir_lseek for directories (SEEK_SET and SEEK_CUR
   * only); a pipe or the console cannot seek. SEEK_DATA and SEEK_HOLE are not here (-EINVAL).
   */
  llseek(run: TaskRun, fd: number, hi: number, lo: number, resultVa: number, whence: number): number {
    const offset = arg64(lo, hi);
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32, user } = this.k;
      const kind = i32[fb + FILE.kind]!;
      if (kind !== FileKind.Regular && kind !== FileKind.Directory) return -ESPIPE;
      if ((whence >>> 0) > SEEK_HOLE) return -EINVAL;
      const ino = i32[fb + FILE.inode]!;
      this.inodes.lockInode(ino);
      let base = NaN;
      if (whence === SEEK_SET) base = 0;
      else if (whence === SEEK_CUR) base = this.pos(fb);
      else if (whence === SEEK_END && kind === FileKind.Regular) base = this.inodes.size(ino);
      const pos = base + offset;
      const ok = Number.isFinite(pos) && pos >= 0 && pos <= MAX_FILE_BYTES;
      if (ok) this.setPos(fb, pos);
      this.inodes.unlockInode(ino);
      if (!ok) return -EINVAL;
      return uaccess(() => {
        user.store32(resultVa, pos % TWO_32);
        user.store32(resultVa + 4, Math.floor(pos / TWO_32));
        return 0;
      });
    });
  }

  /**
   * fallocate(fd, mode, offset, len) (vfs_fallocate's checks, then shmem_fallocate): mode 0
   * allocates the range's pages and grows the file to cover it; FALLOC_FL_KEEP_SIZE allocates
   * without growing; FALLOC_FL_PUNCH_HOLE | KEEP_SIZE frees the range's whole pages and zeroes
   * its partial ones. Out of memory, the pages this call allocated are freed again (-ENOSPC).
   */
  fallocate(run: TaskRun, fd: number, mode: number, offset: number, len: number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32 } = this.k;
      if (offset < 0 || len <= 0) return -EINVAL;
      if ((mode & ~0x7f) !== 0) return -EOPNOTSUPP; // FALLOC_FL_SUPPORTED_MASK
      if ((mode & FALLOC_FL_PUNCH_HOLE) !== 0 && (mode & FALLOC_FL_KEEP_SIZE) === 0) return -EOPNOTSUPP;
      if ((i32[fb + FILE.flags]! & O_ACCMODE) === O_RDONLY) return -EBADF;
      const kind = i32[fb + FILE.kind]!;
      if (kind === FileKind.PipeRead || kind === FileKind.PipeWrite) return -ESPIPE;
      if (kind === FileKind.Directory) return -EISDIR;
      if (kind !== FileKind.Regular) return -ENODEV;
      if (offset + len > MAX_FILE_BYTES) return -EFBIG;
      if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) !== 0) return -EOPNOTSUPP;
      const ino = i32[fb + FILE.inode]!;
      return (mode & FALLOC_FL_PUNCH_HOLE) !== 0 ? this.punchHole(ino, offset, len) : this.allocate(ino, offset, len, (mode & FALLOC_FL_KEEP_SIZE) !== 0);
    });
  }

  /**
   * Allocate the range's pages. With KEEP_SIZE only the part inside the file is allocated: the
   * object's size is the file's (a fault past it is SIGBUS), so pages past the end would not be
   * kept — Linux keeps them for a later growth, a difference no read can see.
   */
  private allocate(ino: number, offset: number, len: number, keepSize: boolean): number {
    const object = this.object(ino);
    this.inodes.lockInode(ino);
    try {
      const size = this.inodes.size(ino);
      const oldPages = this.shmem.size(object);
      const first = Math.floor(offset / PAGE_SIZE);
      const end = keepSize ? Math.min(Math.ceil((offset + len) / PAGE_SIZE), oldPages) : Math.ceil((offset + len) / PAGE_SIZE);
      if (end > oldPages) this.shmem.resize(object, end);
      const fresh: number[] = [];
      for (let p = first; p < end; p++) {
        if (this.shmem.peek(object, p) !== 0) continue;
        if (this.shmem.page(object, p) === 0) {
          // shmem_fallocate's undo: give back what this call took, as it was.
          for (const q of fresh) this.shmem.punch(object, q, q + 1);
          this.shmem.resize(object, oldPages);
          return -ENOSPC;
        }
        fresh.push(p);
      }
      if (!keepSize && offset + len > size) this.inodes.setSize(ino, offset + len);
      this.inodes.touch(ino, Stamp.Change);
      return 0;
    } finally {
      this.inodes.unlockInode(ino);
    }
  }

  private punchHole(ino: number, offset: number, len: number): number {
    const { ram } = this.k;
    const object = this.object(ino);
    const end = offset + len;
    this.inodes.lockInode(ino);
    // Partial pages at either edge are zeroed in place; whole pages go.
    for (const [from, to] of [[offset, Math.min(end, Math.ceil(offset / PAGE_SIZE) * PAGE_SIZE)], [Math.max(offset, Math.floor(end / PAGE_SIZE) * PAGE_SIZE), end]] as const) {
      if (from >= to) continue;
      const frame = this.shmem.peek(object, Math.floor(from / PAGE_SIZE));
      if (frame !== 0) ram.bytes.fill(0, frame * PAGE_SIZE + (from % PAGE_SIZE), frame * PAGE_SIZE + (from % PAGE_SIZE) + (to - from));
    }
    const firstWhole = Math.ceil(offset / PAGE_SIZE);
    const endWhole = Math.floor(end / PAGE_SIZE);
    if (endWhole > firstWhole) this.shmem.punch(object, firstWhole, endWhole);
    this.inodes.touch(ino, Stamp.Modify | Stamp.Change);
    this.inodes.unlockInode(ino);
    // Mappings of the punched pages fault them in again, as zeros.
    if (endWhole > firstWhole) this.mms.unmapMappingRange(object, firstWhole);
    return 0;
  }

  /**
   * fadvise64_64(fd, offset, len, advice): a file in memory has no readahead or writeback to
   * advise (generic_fadvise on a noop backing device): the advice is checked, nothing done.
   */
  fadvise(run: TaskRun, fd: number, len: number, advice: number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const kind = this.k.i32[fb + FILE.kind]!;
      if (kind === FileKind.PipeRead || kind === FileKind.PipeWrite) return -ESPIPE;
      if (len < 0) return -EINVAL;
      return (advice >>> 0) <= POSIX_FADV_NOREUSE ? 0 : -EINVAL;
    });
  }

  /**
   * sync_file_range(fd, offset, nbytes, flags): nothing to write back (the file is in memory),
   * so after ksys_sync_file_range's checks it succeeds on regular files and directories.
   */
  syncFileRange(run: TaskRun, fd: number, offset: number, nbytes: number, flags: number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      if ((flags & ~SYNC_FILE_RANGE_VALID) !== 0) return -EINVAL;
      // endbyte = offset + nbytes in s64: past 2^63 - 1 it wraps negative (-EINVAL).
      const end = offset + nbytes;
      if (offset < 0 || end < offset || end >= 2 ** 63) return -EINVAL;
      const kind = this.k.i32[fb + FILE.kind]!;
      return kind === FileKind.Regular || kind === FileKind.Directory ? 0 : -ESPIPE;
    });
  }

  /**
   * mmap of a file: the shmem object holding `fd`'s pages, with a reference the mapping takes
   * over, or -errno: -EACCES when the open mode does not allow the mapping's protection;
   * -EOVERFLOW when the mapping would reach past MAX_FILE_BYTES (file_mmap_ok's limit, the
   * largest offset a file here can have).
   */
  mapFile(run: TaskRun, fd: number, prot: number, flags: number, offset: number, len: number): number {
    return this.fdt.withFile(run, fd, (_f, fb) => {
      const { i32, layout } = this.k;
      if (i32[fb + FILE.kind] !== FileKind.Regular) return -ENODEV;
      const mode = i32[fb + FILE.flags]! & O_ACCMODE;
      if (mode === O_WRONLY && (prot & (PROT_READ | PROT_WRITE)) !== 0) return -EACCES;
      if ((flags & MAP_SHARED) !== 0 && (prot & PROT_WRITE) !== 0 && mode !== O_RDWR) return -EACCES;
      if (offset + (len >>> 0) > MAX_FILE_BYTES) return -EOVERFLOW;
      const object = i32[layout.inodeBase(i32[fb + FILE.inode]!) + INODE.shmem]!;
      this.shmem.get(object);
      return object;
    });
  }
}
