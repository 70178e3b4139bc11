/**
 * The guest side of Xen PV paging: pv_mmu_ops and pv_misc_ops as Linux's arch/x86/xen/mmu.c and
 * enlighten.c implement them, over the hypercalls of src/hv/xen/hypervisor/hypervisor.ts. Runs on a vCPU
 * worker, for that vCPU; its state (lazy flag, multicall buffer) is worker-local.
 *
 * Entry stores (setPte, setPteAt, setPmd, pteClear):
 *   - into a validated page table (an address space that is pinned, or the kernel's shared
 *     tables): an mmu_update request — one hypercall each, or queued in the multicall buffer
 *     while lazy MMU mode is active (never for PDEs, see below);
 *   - into a table the hypervisor does not know as one (an mm not pinned yet: boot, pgd_alloc,
 *     fork's child before dup_mmap, exit_mmap after the unpin): a plain store, no hypercall, as a
 *     Xen guest writes its unpinned tables through a writable mapping. Validation happens when the
 *     table is pinned.
 * A refused request reaches this code as -errno; pv ops return void and the kernel only ever
 * issues valid updates, so a refusal is counted (kernelErrors here, and the hypervisor's
 * rejected count, which a run's report shows) and the kernel carries on.
 *
 * Lazy mode applies outside interrupt handlers only (paravirt_get_lazy_mode returned NONE
 * in_interrupt()); any op issued immediately first issues what is queued, keeping program order.
 *
 * Reads after queued writes — a queued update is not in memory until the batch is issued. Every
 * kernel site that queues (src/kernel/*), and why it is safe:
 *   1. zapRange (munmap, brk shrink, mmap MAP_FIXED, madvise DONTNEED): Atomics.load of the PTE,
 *      then pteClear, once per page per lazy section (VMAs do not overlap), so the load never
 *      meets a queued store of this CPU; pteClear returns that loaded value (A/D bits a walker
 *      sets before the batch is issued are missing from it; the kernel uses only P and the frame).
 *      Other CPUs: munmap, brk and MAP_FIXED hold mmap_lock for writing until after
 *      leaveLazyMmu, so no fault or madvise elsewhere reads these PTEs meanwhile.
 *      madvise holds mmap_lock only for reading, and zapRange drops page_table_lock before
 *      madvise leaves lazy mode: in that window a fault, or a second madvise of the same page, on
 *      another vCPU can read a PTE whose clear is still queued (a madvise would return the same
 *      frame twice). No workload does that, but the kernel should leave (or flush) lazy mode
 *      before it drops page_table_lock, as Linux's zap_pte_range does.
 *   2. exit_mmap: exitMmap unpinned the directory first, so its zap stores go straight to memory.
 *   3. mprotect: Atomics.load, then setPteAt once per page; mmap_lock held for writing until after
 *      leaveLazyMmu; pteUpdateDefer is a no-op (the hypervisor has already seen the update).
 *   4. dup_mmap (fork): the parent's write-protect is queued (the parent is pinned), read once per
 *      page, the child's copy built from the loaded value, not re-read; the child is not pinned
 *      yet, so its stores and its new tables' PDEs go straight to memory; the parent's mmap_lock
 *      is held for writing until after leaveLazyMmu.
 *   5. PDEs are never queued: ptePointer reads a PDE right after another setPmd may have stored it.
 * Everything else (fault.ts, vmalloc.ts, pgtable.ts, tlbflush.ts) runs outside lazy sections.
 */
import type { VcpuHardware } from '../../../hw/cpu.js';
import { PAGE_SHIFT, PAGE_SIZE, PTE_FRAME_MASK, PTE_P } from '../../../hw/paging.js';
import type { Paddr, Pfn } from '../../../hw/types.js';
import { TLB_FLUSH_ALL, type FlushInfo, type MmRef, type PvMiscOps, type PvMmuOps } from '../../../pv/ops.js';
import type { CpuMask } from '../../../pv/cpumask.js';
import {
  MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_PRESERVE_AD, MMUEXT_INVLPG_LOCAL, MMUEXT_INVLPG_MULTI, MMUEXT_NEW_BASEPTR,
  MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_TLB_FLUSH_MULTI,
} from '../abi.js';
import type { XenHypervisor } from '../hypervisor/hypervisor.js';
import { MulticallBatch } from './multicall.js';
import { DirectoryPinning } from './pin.js';
import type { GuestServices } from '../../../pv/ops.js';

export class XenGuestMmu {
  /** Requests of the kernel's own pv ops the hypervisor refused (a kernel bug if ever non-zero). */
  kernelErrors = 0;
  readonly batch: MulticallBatch;
  readonly pinning: DirectoryPinning;
  private lazy = false;
  private readonly i32: Int32Array;

  constructor(
    private readonly hw: VcpuHardware,
    private readonly hv: XenHypervisor,
    /** What the guest kernel lends its backend (mm->pgd). */
    private readonly kernel: GuestServices,
  ) {
    this.i32 = hw.ram.i32;
    this.batch = new MulticallBatch(hv, () => { this.kernelErrors++; });
    this.pinning = new DirectoryPinning(hv, () => { this.kernelErrors++; });
  }

  /** Lazy MMU mode is in effect for this call: entered, and not inside an interrupt handler. */
  private lazyNow(): boolean {
    return this.lazy && !this.hw.handlingInterrupt;
  }

  private check(errno: number): void {
    if (errno !== 0) this.kernelErrors++;
  }

  /** The mm's page directory frame (mm->pgd), or -1 for none. */
  private pgdFrame(mm: MmRef): number {
    if (mm === 0) return -1;
    // mm->pgd through the kernel's GuestServices: published before the mm is used (mm_alloc's
    // store, then the task table), read as Linux's backends read mm->pgd.
    const pgd = this.kernel.pgdOf(mm);
    return pgd === 0 ? -1 : pgd >>> PAGE_SHIFT;
  }

  /** Store one entry: plainly into an untyped table, else as a validated (maybe queued) mmu_update. */
  private storeEntry(ptep: number, val: number, mayQueue: boolean, preserveAD: boolean): void {
    const hv = this.hv;
    if (!hv.frames.isPageTable(ptep >>> PAGE_SHIFT) && hv.writeUntypedEntry(ptep, val)) return;
    const ptr = ptep | (preserveAD ? MMU_PT_UPDATE_PRESERVE_AD : MMU_NORMAL_PT_UPDATE);
    if (mayQueue && this.lazyNow()) {
      this.batch.queueMmuUpdate(ptr, val);
      return;
    }
    this.batch.flush();
    this.check(hv.mmuUpdateOne(ptr, val));
  }

  /** A local flush: queued while lazy, else one mmuext_op. */
  private localFlush(cmd: number, va: number): void {
    if (this.lazyNow()) {
      this.batch.queueLocalFlush(cmd, va);
      return;
    }
    this.batch.flush();
    this.check(this.hv.mmuextOneCall(cmd, 0, va, null));
  }

  misc(): Partial<PvMiscOps> {
    return {
      enterLazyMmu: () => { this.lazy = true; },
      leaveLazyMmu: () => {
        this.batch.flush();
        this.lazy = false;
      },
      flushLazy: () => { this.batch.flush(); },
    };
  }

  mmu(): Partial<PvMmuOps> {
    const hv = this.hv;
    const i32 = this.i32;
    return {
      // swapper_pg_dir is complete (direct map, vmalloc tables): pin it before it is loaded.
      pagetableSetupDone: (basePd: Pfn) => this.pinning.pinDirectory(basePd),
      // xen_write_cr3: MMUEXT_NEW_BASEPTR; the directory must be pinned.
      writeCr3: (pd: Paddr) => {
        this.batch.flush();
        this.check(hv.mmuextOneCall(MMUEXT_NEW_BASEPTR, pd >>> PAGE_SHIFT, 0, null));
      },
      // xen_activate_mm / xen_dup_mmap: pin the whole directory before it can be loaded.
      activateMm: (_prev: MmRef, next: MmRef) => {
        const pgd = this.pgdFrame(next);
        if (pgd >= 0 && !hv.frames.isPinned(pgd)) this.pinning.pinDirectory(pgd);
      },
      dupMmap: (_old: MmRef, mm: MmRef) => {
        const pgd = this.pgdFrame(mm);
        if (pgd >= 0) this.pinning.pinDirectory(pgd);
      },
      // xen_exit_mmap: every CPU has left the mm (the kernel's leaveMm and evictMm ran first).
      exitMmap: (mm: MmRef) => {
        const pgd = this.pgdFrame(mm);
        if (pgd >= 0) this.pinning.unpinDirectory(pgd);
      },
      // Local flushes are hypercalls: a PV kernel in ring 1 cannot reload CR3 or INVLPG.
      flushTlbUser: () => this.localFlush(MMUEXT_TLB_FLUSH_LOCAL, 0),
      flushTlbKernel: () => this.localFlush(MMUEXT_TLB_FLUSH_LOCAL, 0),
      flushTlbSingle: (va) => this.localFlush(MMUEXT_INVLPG_LOCAL, va),
      // xen_flush_tlb_others: one mmuext_op carrying the vcpumask; the hypervisor flushes the
      // targets without guest IPIs. Xen's flushes drop global entries too, so kernel mappings
      // (info.mm === 0) need no TLB_FLUSH_ALL, which would flush this vCPU a second time.
      flushTlbOthers: (mask: CpuMask, info: FlushInfo) => {
        this.batch.flush();
        const single = info.start !== TLB_FLUSH_ALL && ((info.end - info.start) >>> 0) === PAGE_SIZE;
        const cmd = single ? MMUEXT_INVLPG_MULTI : MMUEXT_TLB_FLUSH_MULTI;
        this.check(hv.mmuextOneCall(cmd, 0, single ? info.start : 0, mask));
      },
      allocPt: (mm: MmRef, frame: Pfn) => {
        const pgd = this.pgdFrame(mm);
        if (pgd >= 0) this.pinning.pinTableIfDirectoryPinned(pgd, frame);
      },
      releasePt: (frame: Pfn) => this.pinning.unpinTable(frame),
      releasePd: (frame: Pfn) => this.pinning.unpinTable(frame),
      setPte: (ptep: Paddr, pte: number) => this.storeEntry(ptep, pte, true, false),
      setPteAt: (_mm: MmRef, _va, ptep: Paddr, pte: number) => {
        // A protection change of a present mapping keeps the A/D bits the hardware set since the
        // kernel read the entry: MMU_PT_UPDATE_PRESERVE_AD (Linux's ptep_modify_prot_commit).
        // ORDERING: pairs with the walker's A/D compareExchange; a stale answer only picks the
        // other request type, and the hypervisor applies either atomically.
        const cur = Atomics.load(i32, ptep >>> 2);
        const sameFrame = (pte & cur & PTE_P) !== 0 && ((pte ^ cur) & PTE_FRAME_MASK) === 0;
        this.storeEntry(ptep, pte, true, sameFrame);
      },
      setPmd: (pmdp: Paddr, pmd: number) => this.storeEntry(pmdp, pmd, false, false),
      pteClear: (_mm: MmRef, _va, ptep: Paddr) => {
        if (!hv.frames.isPageTable(ptep >>> PAGE_SHIFT) && hv.writeUntypedEntry(ptep, 0)) return hv.lastOld;
        if (this.lazyNow()) {
          // ptep_get_and_clear in lazy mode: the value now, then the clear queued (see the header).
          // ORDERING: pairs with the walker's A/D compareExchange and earlier issued updates.
          const old = Atomics.load(i32, ptep >>> 2);
          this.batch.queueMmuUpdate(ptep | MMU_NORMAL_PT_UPDATE, 0);
          return old;
        }
        this.batch.flush();
        const r = hv.mmuUpdateOne(ptep | MMU_NORMAL_PT_UPDATE, 0);
        this.check(r);
        // ORDERING: a refused clear left the entry as it was; report what is there.
        return r === 0 ? hv.lastOld : Atomics.load(i32, ptep >>> 2);
      },
    };
  }
}
