/**
 * The page-fault handler (do_page_fault): demand-zero anonymous pages, shared pages from their
 * object, write faults on read-only PTEs of writable VMAs (copy-on-write), spurious faults from
 * stale TLB entries; anything else is a SIGSEGV for the task. Runs on the faulting vCPU, from
 * the MMU, with the faulting address in CR2.
 */
import { GuestSegfault } from '../lib/errors.js';
import { PF_WRITE } from '../hw/walker.js';
import { PAGE_SIZE, PTE_P, PTE_RW, pteFrame, USER_TOP } from '../hw/paging.js';
import type { Paddr, Vaddr } from '../hw/types.js';
import type { MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import type { FrameAllocator } from './frames.js';
import { MM } from './layout.js';
import { PTE_PROTNONE, userPte } from './mm.js';
import type { PageTables } from './pgtable.js';
import type { SharedMemory } from './shmem.js';
import { downRead, spinLock, spinUnlock, upRead } from './sync.js';
import type { TlbFlusher } from './tlbflush.js';
import { MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import { VmaTable } from './vma.js';

const enum FaultOutcome {
  Fixed,
  /** No mapping covers the address (SEGV_MAPERR). */
  Segv,
  /** A mapping covers it but forbids the access (bad_area_access_error: SEGV_ACCERR). */
  SegvAccess,
  /** No frame (or page table) left for it: the OOM killer's turn (VM_FAULT_OOM). */
  Oom,
  /** A file mapping's page past the end of the file (do_fault's VM_FAULT_SIGBUS). */
  Sigbus,
}

export class PageFaultHandler {
  constructor(
    private readonly k: KernelContext,
    private readonly frames: FrameAllocator,
    private readonly pt: PageTables,
    private readonly vmas: VmaTable,
    private readonly shmem: SharedMemory,
    private readonly flusher: TlbFlusher,
    private readonly currentMm: () => MmRef,
    /**
     * The OOM killer (oom.ts), for a fault with no memory left: true once `retry` (the fault
     * again) found memory, false when the faulting process is to die.
     */
    private readonly oom: (faulting: MmRef, retry: () => boolean) => boolean,
  ) {}

  /** IDT vector 14. Returns when the access can be retried; throws GuestSegfault otherwise. */
  handle(errorCode: number): void {
    const { counters, ops } = this.k;
    counters.pageFaults++;
    this.k.work('pageFault');
    const va = ops.mmu.readCr2() >>> 0;
    const mm = this.currentMm();
    let outcome = mm === 0 || va >= USER_TOP ? FaultOutcome.Segv : this.resolve(mm, va, errorCode);
    if (outcome === FaultOutcome.Oom) {
      // pagefault_out_of_memory: the OOM killer frees another process's memory and the fault
      // is tried again, or this process is the one that dies.
      let last: FaultOutcome = outcome;
      const fixed = this.oom(mm, () => (last = this.resolve(mm, va, errorCode)) !== FaultOutcome.Oom);
      if (!fixed) throw new GuestSegfault(va, errorCode, 'SIGKILL', 'out of memory');
      outcome = last;
    }
    if (outcome === FaultOutcome.Segv || outcome === FaultOutcome.SegvAccess) {
      counters.faultsSegv++;
      this.k.work('signal');
      if (outcome === FaultOutcome.SegvAccess) throw new GuestSegfault(va, errorCode, 'SIGSEGV', 'access not permitted by the mapping', true);
      throw new GuestSegfault(va, errorCode);
    }
    if (outcome === FaultOutcome.Sigbus) {
      counters.faultsSigbus++;
      this.k.work('signal');
      throw new GuestSegfault(va, errorCode, 'SIGBUS', 'past the end of the mapped file');
    }
  }

  private resolve(mm: MmRef, va: number, errorCode: number): FaultOutcome {
    const { i32, spinner } = this.k;
    const mb = mm >>> 2;
    downRead(i32, mb + MM.mmapLock, spinner);
    try {
      const i = this.vmas.find(mb, va);
      if (i < 0) return FaultOutcome.Segv;
      const v = this.vmas.read(mb, i);
      const write = (errorCode & PF_WRITE) !== 0;
      // An instruction fetch arrives as a read fault (i386 paging has no NX bit): an execute-only
      // mapping must serve it.
      if (write ? (v.prot & PROT_WRITE) === 0 : (v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) === 0) return FaultOutcome.SegvAccess;
      const privateCopy = v.shmem !== 0 && (v.flags & MAP_PRIVATE) !== 0;
      return this.fixLocked(mm, va, write, v.prot, v.shmem, v.pgoff + ((va - v.start) >>> 12), privateCopy);
    } finally {
      upRead(i32, mb + MM.mmapLock);
    }
  }

  /**
   * Under mmap_lock (read): install or upgrade the PTE under page_table_lock. `privateCopy`: a
   * MAP_PRIVATE file mapping, which maps the file's pages read-only until its first write to
   * each copies it (changes to the file show through until then, as on Linux).
   */
  private fixLocked(mm: MmRef, va: number, write: boolean, prot: number, shmemId: number, pgoff: number, privateCopy: boolean): FaultOutcome {
    const { i32, ops, cpu, spinner, counters, ram } = this.k;
    const mb = mm >>> 2;
    const page = (va & ~(PAGE_SIZE - 1)) >>> 0;
    spinLock(i32, mb + MM.pageTableLock, cpu, spinner);
    let flushPage = false;
    try {
      const ptep = this.pt.ptePointer(mm, this.k.i32[mb + MM.pgd]! as Paddr, page, true);
      if (ptep === 0) return FaultOutcome.Oom; // no frame for a page table
      const pte = Atomics.load(i32, ptep >>> 2);
      if ((pte & (PTE_P | PTE_PROTNONE)) === 0) {
        // Demand paging: shared pages come from their object; a private file page read before
        // it is written maps the file's page read-only (do_read_fault) and a write copies it
        // (do_cow_fault); a private anonymous page read first maps the zero page read-only
        // (do_anonymous_page), a write gets its own frame.
        let frame;
        let pteProt = prot;
        if (shmemId !== 0) {
          if (pgoff >= this.shmem.size(shmemId)) return FaultOutcome.Sigbus;
          const page = this.shmem.page(shmemId, pgoff);
          if (page === 0 || !privateCopy || !write) {
            frame = page;
            if (frame !== 0) this.frames.get(frame);
            if (privateCopy) pteProt = prot & ~PROT_WRITE;
          } else {
            frame = this.frames.alloc();
            if (frame !== 0) ram.copyFrame(page, frame);
          }
        } else if (!write) {
          frame = this.frames.zeroPage;
          pteProt = prot & ~PROT_WRITE;
        } else {
          frame = this.frames.allocZeroed();
          counters.faultsDemandZero++;
        }
        if (frame === 0) return FaultOutcome.Oom;
        ops.mmu.setPteAt(mm, page as Vaddr, ptep, userPte(frame, pteProt));
        if (!this.frames.isZeroPage(frame)) Atomics.add(i32, mb + MM.rss, 1);
        return FaultOutcome.Fixed;
      }
      if (write && (pte & PTE_RW) === 0 && (prot & PROT_WRITE) !== 0) {
        // A read-only PTE in a writable VMA: copy-on-write — a fresh frame for the zero page, a
        // copy of a shared frame, or the frame itself when we hold the only reference.
        const old = pteFrame(pte);
        if (this.frames.isZeroPage(old)) {
          const fresh = this.frames.allocZeroed();
          if (fresh === 0) return FaultOutcome.Oom;
          counters.faultsDemandZero++;
          ops.mmu.setPteAt(mm, page as Vaddr, ptep, userPte(fresh, prot));
          Atomics.add(i32, mb + MM.rss, 1);
          flushPage = true;
        } else if ((shmemId !== 0 && !privateCopy) || this.frames.refcount(old) === 1) {
          ops.mmu.setPteAt(mm, page as Vaddr, ptep, pte | PTE_RW);
          ops.mmu.pteUpdate(mm, page as Vaddr, ptep);
        } else {
          const copy = this.frames.alloc();
          if (copy === 0) return FaultOutcome.Oom;
          ram.copyFrame(old, copy);
          ops.mmu.setPteAt(mm, page as Vaddr, ptep, userPte(copy, prot));
          this.frames.put(old);
          flushPage = true;
        }
        return FaultOutcome.Fixed;
      }
      // The PTE already allows this access: another CPU fixed it, or our TLB held a stale,
      // weaker entry. Drop it locally and retry.
      ops.mmu.flushTlbSingle(page as Vaddr);
      return FaultOutcome.Fixed;
    } finally {
      spinUnlock(i32, mb + MM.pageTableLock);
      // ptep_clear_flush for a replaced frame: other CPUs may cache the old read-only one.
      if (flushPage) this.flusher.flushTlbMmRange(mm, page, page + PAGE_SIZE);
    }
  }
}
