/**
 * Address spaces: mm_struct lifetime and the memory system calls (mmap, munmap, mprotect,
 * madvise, brk), written against pv_mmu_ops and pv_misc_ops. Runs on a vCPU worker.
 *
 * Every multi-PTE change is bracketed by enterLazyMmu / leaveLazyMmu inside page_table_lock (a
 * backend may batch inside), then flushed with flush_tlb_mm_range, and only then are the frames
 * it unmapped freed — a frame must not be reused while another CPU's TLB can still reach it.
 */
import { PAGE_SIZE, PTE_A, PTE_D, PTE_P, PTE_RW, PTE_US, makePte, pteFrame, USER_TOP } from '../hw/paging.js';
import type { Paddr, Pfn, Vaddr } from '../hw/types.js';
import { TLB_FLUSH_ALL, type MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { EBADF, EFAULT, EINVAL, ENOMEM } from '../uapi/errno.js';
import type { FrameAllocator } from './frames.js';
import { KGLOBALS, MM, MMAP_BASE, MMAP_MIN_ADDR } from './layout.js';
import { MAX_MMS } from '../lib/limits.js';
import type { PageTables } from './pgtable.js';
import type { SharedMemory } from './shmem.js';
import { downRead, downWrite, spinLock, spinUnlock, upRead, upWrite } from './sync.js';
import type { TlbFlusher } from './tlbflush.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, MADV_DONTNEED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE } from '../uapi/mman.js';
import { VmaTable, type VmaFields } from './vma.js';

/** Software PTE bit: a PROT_NONE page that keeps its frame (not present to the hardware). */
export const PTE_PROTNONE = 1 << 9;

/** Hardware PTE for a user page with VMA protection `prot`. */
export function userPte(frame: Pfn, prot: number): number {
  if ((prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) === 0) return makePte(frame, PTE_PROTNONE);
  return makePte(frame, PTE_P | PTE_US | ((prot & PROT_WRITE) !== 0 ? PTE_RW : 0));
}

const pageAligned = (x: number): boolean => (x & (PAGE_SIZE - 1)) === 0;
/**
 * Round an address or length up to a page, in double arithmetic: user addresses reach
 * 0xC0000000, past int32, where `(x + 4095) & ~4095` would wrap negative.
 */
const pageAlignUp = (x: number): number => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;

export class AddressSpaces {
  /** Frames unmapped by the current operation, freed after its flush (mmu_gather). */
  private readonly gather: number[] = [];

  constructor(
    private readonly k: KernelContext,
    private readonly frames: FrameAllocator,
    private readonly pt: PageTables,
    private readonly vmas: VmaTable,
    private readonly shmem: SharedMemory,
    private readonly flusher: TlbFlusher,
  ) {}

  /** mm_alloc: a fresh address space with one user, or 0 when out of slots or memory. */
  alloc(): MmRef {
    const { i32, layout, cpu, spinner } = this.k;
    const lock = layout.kglobals + KGLOBALS.tableLock;
    spinLock(i32, lock, cpu, spinner);
    let slot = -1;
    // A slot is free when its mm_count is 0: mm_users reaching 0 only starts the teardown.
    for (let s = 0; s < MAX_MMS; s++) {
      if (i32[layout.mmBase(layout.mmAddr(s)) + MM.count] === 0) { slot = s; break; }
    }
    if (slot >= 0) i32[layout.mmBase(layout.mmAddr(slot)) + MM.count] = 1;
    spinUnlock(i32, lock);
    if (slot < 0) return 0 as MmRef;
    const mm = layout.mmAddr(slot) as MmRef;
    const b = layout.mmBase(mm);
    for (let w = 0; w < MM.WORDS; w++) if (w !== MM.count) i32[b + w] = 0;
    i32[b + MM.users] = 1;
    i32[b + MM.id] = slot + 1;
    i32[b + MM.tlbGen] = 1;
    const pgd = this.pt.pgdAlloc();
    if (pgd === 0) {
      Atomics.store(i32, b + MM.count, 0);
      return 0 as MmRef;
    }
    // ORDERING: the mm is published to other CPUs through the task table (clone's stores).
    i32[b + MM.pgd] = pgd;
    return mm;
  }

  pgd(mm: MmRef): Paddr {
    return this.k.i32[(mm >>> 2) + MM.pgd]! as Paddr;
  }

  /** mmget: another task shares the mm. */
  get(mm: MmRef): void {
    Atomics.add(this.k.i32, (mm >>> 2) + MM.users, 1);
  }

  /**
   * dup_mmap for fork: a new address space with the parent's VMAs, sharing its pages
   * copy-on-write — private writable PTEs become read-only in both, shared ones stay as they
   * are — then a flush of the parent (its other threads may cache the writable entries) and
   * pv_mmu_ops.dupMmap (a backend pins the new directory). Returns 0 when out of memory.
   */
  dup(old: MmRef): MmRef {
    const { i32, spinner, ops, cpu } = this.k;
    const ob = old >>> 2;
    const mm = this.alloc();
    if (mm === 0) return mm;
    const nb = mm >>> 2;
    downWrite(i32, ob + MM.mmapLock, spinner);
    let ok = true;
    let wrprotected = false;
    try {
      i32[nb + MM.brkStart] = i32[ob + MM.brkStart]!;
      i32[nb + MM.brk] = i32[ob + MM.brk]!;
      const oldPgd = this.pgd(old);
      const newPgd = this.pgd(mm);
      spinLock(i32, ob + MM.pageTableLock, cpu, spinner);
      ops.misc.enterLazyMmu();
      try {
        for (let i = 0; i < this.vmas.count(ob) && ok; i++) {
          const v = this.vmas.read(ob, i);
          if (!this.vmas.insert(nb, v)) { ok = false; break; }
          if (v.shmem !== 0) this.shmem.get(v.shmem);
          for (let va = v.start; va < v.end; va += PAGE_SIZE) {
            const src = this.pt.ptePointer(old, oldPgd, va, false);
            if (src === 0) {
              va = ((va >>> 22) + 1) * 0x400000 - PAGE_SIZE;
              continue;
            }
            let pte = Atomics.load(i32, src >>> 2);
            if ((pte & (PTE_P | PTE_PROTNONE)) === 0) continue;
            const dst = this.pt.ptePointer(mm, newPgd, va, true);
            if (dst === 0) { ok = false; break; }
            // Private pages (anonymous, or copied from a file): copy-on-write for both.
            if ((v.shmem === 0 || (v.flags & MAP_PRIVATE) !== 0) && (pte & PTE_RW) !== 0) {
              // Copy-on-write: both sides lose write access; the first write fault copies.
              pte &= ~PTE_RW;
              ops.mmu.setPteAt(old, va as Vaddr, src, pte);
              wrprotected = true;
            }
            this.frames.get(pteFrame(pte));
            ops.mmu.setPteAt(mm, va as Vaddr, dst, pte);
            if (!this.frames.isZeroPage(pteFrame(pte))) Atomics.add(i32, nb + MM.rss, 1);
          }
        }
      } finally {
        ops.misc.leaveLazyMmu();
        spinUnlock(i32, ob + MM.pageTableLock);
      }
      if (wrprotected) this.flusher.flushTlbMmRange(old, TLB_FLUSH_ALL, TLB_FLUSH_ALL);
    } finally {
      upWrite(i32, ob + MM.mmapLock);
    }
    if (!ok) {
      this.put(mm);
      return 0 as MmRef;
    }
    ops.mmu.dupMmap(old, mm);
    return mm;
  }

  /** mmput: the last user tears the address space down. Returns true if it was torn down. */
  put(mm: MmRef): boolean {
    if (Atomics.sub(this.k.i32, (mm >>> 2) + MM.users, 1) !== 1) return false;
    this.exitMmap(mm);
    return true;
  }

  /**
   * mmap(addr, len, prot, flags, fd, offset). Anonymous mappings, or a file's pages: `file` is
   * the shmem object of the regular file `fd` names (FileSystem.mapFile took a reference for
   * this call, which the mapping keeps or this drops on failure). MAP_SHARED file pages are the
   * file's; MAP_PRIVATE ones too, read-only, until a write copies one. Returns the address or -errno.
   */
  mmap(mm: MmRef, addr: number, len: number, prot: number, flags: number, fd: number, offset: number, file = 0): number {
    const r = this.mmapRegion(mm, addr, len, prot, flags, fd, offset, file);
    if (r < 0 && file !== 0) this.shmem.put(file);
    return r;
  }

  private mmapRegion(mm: MmRef, addr: number, len: number, prot: number, flags: number, fd: number, offset: number, file: number): number {
    addr >>>= 0;
    len >>>= 0;
    if (len === 0 || len > USER_TOP) return -EINVAL;
    const type = flags & (MAP_SHARED | MAP_PRIVATE);
    if (type !== MAP_SHARED && type !== MAP_PRIVATE) return -EINVAL;
    const anonymous = (flags & MAP_ANONYMOUS) !== 0;
    if (anonymous ? fd !== -1 && fd !== 0xffffffff : file === 0) return -EBADF;
    if (!pageAligned(offset) || offset < 0) return -EINVAL;
    if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return -EINVAL;
    const size = pageAlignUp(len);
    const { i32, spinner } = this.k;
    const mb = mm >>> 2;
    downWrite(i32, mb + MM.mmapLock, spinner);
    try {
      let start: number;
      if ((flags & MAP_FIXED) !== 0) {
        if (!pageAligned(addr) || addr < MMAP_MIN_ADDR || addr + size > USER_TOP) return -EINVAL;
        start = addr;
        const r = this.unmapLocked(mm, start, start + size);
        if (r < 0) return r;
      } else {
        start = this.vmas.findFreeRange(mb, size, MMAP_BASE, USER_TOP);
        if (start < 0) return -ENOMEM;
      }
      let object = file;
      if (anonymous && type === MAP_SHARED) {
        object = this.shmem.create(size / PAGE_SIZE);
        if (object === 0) return -ENOMEM;
      }
      const pgoff = anonymous ? 0 : offset / PAGE_SIZE;
      const vma: VmaFields = { start, end: start + size, prot, flags: flags & (MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS), shmem: object, pgoff };
      if (!this.vmas.insert(mb, vma)) {
        if (anonymous && object !== 0) this.shmem.put(object);
        return -ENOMEM;
      }
      return start;
    } finally {
      upWrite(i32, mb + MM.mmapLock);
    }
  }

  /**
   * mremap(old, oldLen, newLen, flags, newAddr): shrinking unmaps the tail in place; growing is
   * refused with -ENOMEM (no VMA ever moves or grows here — what a kernel answers when neither
   * the space after the mapping nor MREMAP_MAYMOVE helps, and libc falls back to mmap + copy).
   */
  mremap(mm: MmRef, addr: number, oldLen: number, newLen: number, flags: number): number {
    addr >>>= 0;
    oldLen >>>= 0;
    newLen >>>= 0;
    if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0) return -EINVAL;
    if ((flags & MREMAP_FIXED) !== 0 && (flags & MREMAP_MAYMOVE) === 0) return -EINVAL;
    if (!pageAligned(addr) || newLen === 0 || addr >= USER_TOP) return -EINVAL;
    const oldSize = pageAlignUp(oldLen);
    const newSize = pageAlignUp(newLen);
    if (oldSize > USER_TOP - addr || newSize > USER_TOP) return -EINVAL;
    const { i32, spinner } = this.k;
    const mb = mm >>> 2;
    downWrite(i32, mb + MM.mmapLock, spinner);
    try {
      const i = this.vmas.find(mb, addr);
      if (i < 0 || this.vmas.read(mb, i).end < addr + Math.min(oldSize, newSize)) return -EFAULT;
      if (newSize > oldSize) return -ENOMEM;
      if (newSize < oldSize) {
        const r = this.unmapLocked(mm, addr + newSize, addr + oldSize);
        if (r < 0) return r;
      }
      return addr;
    } finally {
      upWrite(i32, mb + MM.mmapLock);
    }
  }

  munmap(mm: MmRef, addr: number, len: number): number {
    addr >>>= 0;
    len >>>= 0;
    if (!pageAligned(addr) || len === 0 || addr >= USER_TOP || len > USER_TOP - addr) return -EINVAL;
    const end = pageAlignUp(addr + len);
    const { i32, spinner } = this.k;
    downWrite(i32, (mm >>> 2) + MM.mmapLock, spinner);
    try {
      return this.unmapLocked(mm, addr, end >>> 0);
    } finally {
      upWrite(i32, (mm >>> 2) + MM.mmapLock);
    }
  }

  /** Split VMAs at start and end, zap the PTEs, flush, free, drop the VMAs. mmap_lock held for write. */
  private unmapLocked(mm: MmRef, start: number, end: number): number {
    const mb = mm >>> 2;
    if (!this.splitAround(mb, start, end)) return -ENOMEM;
    let i = this.vmas.firstEndingAbove(mb, start);
    let any = false;
    while (i < this.vmas.count(mb)) {
      const v = this.vmas.read(mb, i);
      if (v.start >= end) break;
      this.zapRange(mm, v.start, v.end);
      any = true;
      i++;
    }
    if (any) this.flushAndFree(mm, start, end);
    // Drop the VMAs (and their shared objects) after the flush: nothing can fault them back in,
    // since we hold mmap_lock for write.
    i = this.vmas.firstEndingAbove(mb, start);
    while (i < this.vmas.count(mb)) {
      const v = this.vmas.read(mb, i);
      if (v.start >= end) break;
      this.vmas.remove(mb, i);
      if (v.shmem !== 0) this.shmem.put(v.shmem);
    }
    return 0;
  }

  /** Make VMA boundaries at `start` and `end` (if they fall inside VMAs). */
  private splitAround(mb: number, start: number, end: number): boolean {
    for (const at of [start, end]) {
      const i = this.vmas.find(mb, at);
      if (i < 0) continue;
      const v = this.vmas.read(mb, i);
      if (v.start !== at) {
        if (!this.vmas.split(mb, i, at)) return false;
        if (v.shmem !== 0) this.shmem.get(v.shmem);
      }
    }
    return true;
  }

  /**
   * Clear every PTE in [start, end) (present or PROT_NONE), gathering frames to free after the
   * flush. Caller holds mmap_lock; page_table_lock is taken here.
   */
  private zapRange(mm: MmRef, start: number, end: number): void {
    const { i32, ops, cpu, spinner } = this.k;
    const mb = mm >>> 2;
    const pgd = this.pgd(mm);
    spinLock(i32, mb + MM.pageTableLock, cpu, spinner);
    // Lazy MMU mode inside page_table_lock, as zap_pte_range does: a backend's queued clears are
    // issued before the lock goes, so no other CPU's fault or madvise (mmap_lock is only held
    // for reading here) can read a PTE whose clear is still queued.
    ops.misc.enterLazyMmu();
    for (let va = start; va < end; va += PAGE_SIZE) {
      const ptep = this.pt.ptePointer(mm, pgd, va, false);
      if (ptep === 0) {
        va = ((va >>> 22) + 1) * 0x400000 - PAGE_SIZE; // no table: skip to the next 4 MiB
        continue;
      }
      if ((Atomics.load(i32, ptep >>> 2) & (PTE_P | PTE_PROTNONE)) === 0) continue;
      const old = ops.mmu.pteClear(mm, va as Vaddr, ptep);
      if ((old & (PTE_P | PTE_PROTNONE)) !== 0) {
        const frame = pteFrame(old);
        if (this.frames.isZeroPage(frame)) continue;
        this.gather.push(frame);
        Atomics.sub(i32, mb + MM.rss, 1);
      }
    }
    ops.misc.leaveLazyMmu();
    spinUnlock(i32, mb + MM.pageTableLock);
  }

  /** The end of every unmapping: shoot down the range, then free what was gathered. */
  private flushAndFree(mm: MmRef, start: number, end: number): void {
    if (this.gather.length === 0) return;
    this.flusher.flushTlbMmRange(mm, start, end);
    for (const f of this.gather) this.frames.put(f as Pfn);
    this.gather.length = 0;
  }

  mprotect(mm: MmRef, addr: number, len: number, prot: number): number {
    addr >>>= 0;
    len >>>= 0;
    if (!pageAligned(addr) || addr >= USER_TOP || len > USER_TOP - addr) return -EINVAL;
    if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return -EINVAL;
    if (len === 0) return 0;
    const end = pageAlignUp(addr + len);
    const { i32, ops, cpu, spinner } = this.k;
    const mb = mm >>> 2;
    downWrite(i32, mb + MM.mmapLock, spinner);
    try {
      // The whole range must be mapped (Linux: -ENOMEM otherwise).
      let cursor = addr;
      for (let i = this.vmas.firstEndingAbove(mb, addr); i < this.vmas.count(mb) && cursor < end; i++) {
        const v = this.vmas.read(mb, i);
        if (v.start > cursor) break;
        cursor = v.end;
      }
      if (cursor < end) return -ENOMEM;
      if (!this.splitAround(mb, addr, end)) return -ENOMEM;
      const pgd = this.pgd(mm);
      let changed = false;
      spinLock(i32, mb + MM.pageTableLock, cpu, spinner);
      ops.misc.enterLazyMmu();
      for (let i = this.vmas.firstEndingAbove(mb, addr); i < this.vmas.count(mb); i++) {
        const v = this.vmas.read(mb, i);
        if (v.start >= end) break;
        this.vmas.update(mb, i, { ...v, prot });
        const isPrivate = v.shmem === 0 || (v.flags & MAP_PRIVATE) !== 0;
        for (let va = v.start; va < v.end; va += PAGE_SIZE) {
          const ptep = this.pt.ptePointer(mm, pgd, va, false);
          if (ptep === 0) continue;
          const old = Atomics.load(i32, ptep >>> 2);
          if ((old & (PTE_P | PTE_PROTNONE)) === 0) continue;
          // In a private mapping only a frame this mapping owns alone may become writable here
          // (can_change_pte_writable): the zero page, a frame shared copy-on-write after fork
          // and a file's own page stay read-only, so a write faults and copies.
          const frame = pteFrame(old);
          const exclusive = !this.frames.isZeroPage(frame) && (!isPrivate || this.frames.refcount(frame) === 1);
          const pteProt = exclusive ? prot : prot & ~PROT_WRITE;
          const next = userPte(frame, pteProt) | (old & (PTE_A | PTE_D) & ((prot & 7) !== 0 ? -1 : 0));
          if (next === old) continue;
          ops.mmu.setPteAt(mm, va as Vaddr, ptep, next);
          // The flush below follows at once: the backend may resync then (pte_update_defer).
          ops.mmu.pteUpdateDefer(mm, va as Vaddr, ptep);
          changed = true;
        }
      }
      ops.misc.leaveLazyMmu();
      spinUnlock(i32, mb + MM.pageTableLock);
      if (changed) this.flusher.flushTlbMmRange(mm, addr, end >>> 0);
      return 0;
    } finally {
      upWrite(i32, mb + MM.mmapLock);
    }
  }

  /**
   * The OOM reaper's work on a killed process's address space (__oom_reap_task_mm): drop every
   * private page now, so the memory is free before the victim's threads get round to exiting.
   * Shared mappings keep their pages (they belong to the object).
   */
  oomReap(mm: MmRef): void {
    const { i32, spinner } = this.k;
    const mb = mm >>> 2;
    downRead(i32, mb + MM.mmapLock, spinner);
    try {
      for (let i = 0; i < this.vmas.count(mb); i++) {
        const v = this.vmas.read(mb, i);
        if (v.shmem === 0 || (v.flags & MAP_PRIVATE) !== 0) this.zapRange(mm, v.start, v.end);
      }
      this.flushAndFree(mm, 0, USER_TOP);
    } finally {
      upRead(i32, mb + MM.mmapLock);
    }
  }

  /** The address space's total mapped size in bytes (total-vm). */
  totalVm(mm: MmRef): number {
    const mb = mm >>> 2;
    let bytes = 0;
    for (let i = 0; i < this.vmas.count(mb); i++) {
      const v = this.vmas.read(mb, i);
      bytes += v.end - v.start;
    }
    return bytes;
  }

  /** madvise: MADV_DONTNEED drops the pages (private: they read back zero; shared: from the object). */
  madvise(mm: MmRef, addr: number, len: number, advice: number): number {
    addr >>>= 0;
    len >>>= 0;
    if (!pageAligned(addr) || addr >= USER_TOP || len > USER_TOP - addr) return -EINVAL;
    if (advice !== MADV_DONTNEED) return -EINVAL;
    if (len === 0) return 0;
    const end = pageAlignUp(addr + len);
    const { i32, spinner } = this.k;
    const mb = mm >>> 2;
    downRead(i32, mb + MM.mmapLock, spinner);
    try {
      let cursor = addr;
      for (let i = this.vmas.firstEndingAbove(mb, addr); i < this.vmas.count(mb) && cursor < end; i++) {
        const v = this.vmas.read(mb, i);
        if (v.start > cursor) break;
        this.zapRange(mm, Math.max(v.start, addr), Math.min(v.end, end >>> 0));
        cursor = v.end;
      }
      this.flushAndFree(mm, addr, end >>> 0);
      return cursor < end ? -ENOMEM : 0;
    } finally {
      upRead(i32, mb + MM.mmapLock);
    }
  }

  /**
   * unmap_mapping_range for a truncated file: in every address space, zap the PTEs of mappings
   * of shmem object `object` at page offsets from `fromPgoff` on, so the next access faults
   * (and past the end of the file, gets SIGBUS). Private copies go too, as truncate's
   * even_cows does. Any CPU; takes each address space's mmap_lock for reading.
   */
  unmapMappingRange(object: number, fromPgoff: number): void {
    const { i32, layout, spinner } = this.k;
    for (let s = 0; s < MAX_MMS; s++) {
      const mm = layout.mmAddr(s) as MmRef;
      const mb = mm >>> 2;
      if (!this.getNotZero(mm)) continue;
      downRead(i32, mb + MM.mmapLock, spinner);
      let lo = USER_TOP;
      let hi = 0;
      for (let i = 0; i < this.vmas.count(mb); i++) {
        const v = this.vmas.read(mb, i);
        if (v.shmem !== object) continue;
        const start = v.start + Math.max(0, fromPgoff - v.pgoff) * PAGE_SIZE;
        if (start >= v.end) continue;
        this.zapRange(mm, start, v.end);
        lo = Math.min(lo, start);
        hi = Math.max(hi, v.end);
      }
      if (hi > lo) this.flushAndFree(mm, lo, hi);
      upRead(i32, mb + MM.mmapLock);
      this.put(mm);
    }
  }

  /**
   * mmget_not_zero: take a user reference unless the address space is gone or going (a caller
   * holding tableLock also keeps its slot from being reused meanwhile).
   */
  getNotZero(mm: MmRef): boolean {
    const { i32 } = this.k;
    const w = (mm >>> 2) + MM.users;
    for (;;) {
      const users = Atomics.load(i32, w);
      if (users <= 0) return false;
      // ORDERING: pairs with put's Atomics.sub: a reference is taken only while one is held.
      if (Atomics.compareExchange(i32, w, users, users + 1) === users) return true;
    }
  }

  /**
   * exec's set_brk: the heap starts at `base` (page aligned: just past the program's highest
   * segment), empty. Before that, brk places the heap itself (TypeScript programs).
   */
  startBrk(mm: MmRef, base: number): void {
    const { i32, spinner } = this.k;
    const mb = mm >>> 2;
    downWrite(i32, mb + MM.mmapLock, spinner);
    i32[mb + MM.brkStart] = base;
    i32[mb + MM.brk] = base;
    upWrite(i32, mb + MM.mmapLock);
  }

  /** brk: grow or shrink the heap VMA; returns the new break (or the old one on failure). */
  brk(mm: MmRef, requested: number): number {
    const { i32, spinner } = this.k;
    const mb = mm >>> 2;
    downWrite(i32, mb + MM.mmapLock, spinner);
    try {
      if (i32[mb + MM.brkStart] === 0) {
        const base = this.vmas.findFreeRange(mb, 64 * 1024 * 1024, MMAP_BASE / 2, MMAP_BASE);
        if (base < 0) return 0;
        i32[mb + MM.brkStart] = base;
        i32[mb + MM.brk] = base;
      }
      const start = i32[mb + MM.brkStart]! >>> 0;
      const cur = i32[mb + MM.brk]! >>> 0;
      requested >>>= 0;
      if (requested === 0 || requested < start) return cur;
      const curTop = pageAlignUp(cur);
      const newTop = pageAlignUp(requested);
      if (newTop > curTop) {
        if (newTop > USER_TOP || this.vmas.overlaps(mb, curTop, newTop)) return cur;
        const i = curTop > start ? this.vmas.find(mb, curTop - 1) : -1;
        if (i >= 0) {
          const v = this.vmas.read(mb, i);
          this.vmas.update(mb, i, { ...v, end: newTop });
        } else if (!this.vmas.insert(mb, { start: curTop, end: newTop, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS, shmem: 0, pgoff: 0 })) {
          return cur;
        }
      } else if (newTop < curTop) {
        this.unmapLocked(mm, newTop, curTop);
      }
      i32[mb + MM.brk] = requested;
      return requested;
    } finally {
      upWrite(i32, mb + MM.mmapLock);
    }
  }

  /**
   * exit_mmap: the last user is gone. Move every CPU still holding the mm (lazily) to init_mm,
   * tell the backend (it may unpin), zap everything, free the page tables and the directory.
   */
  private exitMmap(mm: MmRef): void {
    const { i32, ops } = this.k;
    const mb = mm >>> 2;
    this.flusher.leaveMm(mm);
    this.flusher.evictMm(mm);
    ops.mmu.exitMmap(mm);
    while (this.vmas.count(mb) > 0) {
      const v = this.vmas.read(mb, 0);
      this.zapRange(mm, v.start, v.end);
      this.vmas.remove(mb, 0);
      if (v.shmem !== 0) this.shmem.put(v.shmem);
    }
    // No CPU has the mm loaded any more (evictMm waited), so no TLB can reach these frames.
    for (const f of this.gather) this.frames.put(f as Pfn);
    this.gather.length = 0;
    this.pt.pgdFree(mm, this.pgd(mm));
    i32[mb + MM.pgd] = 0;
    // ORDERING: mmdrop: frees the slot; pairs with alloc's scan of mm_count under tableLock.
    Atomics.store(i32, mb + MM.count, 0);
  }
}

/** TLB_FLUSH_ALL re-exported for callers that flush whole address spaces. */
export { TLB_FLUSH_ALL };
