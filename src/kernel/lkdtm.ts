/**
 * A hostile kernel on demand, after Linux's LKDTM (drivers/misc/lkdtm, "Linux Kernel Dump Test
 * Module"): each command makes this guest kernel do, through its pv ops, something a broken or
 * malicious kernel would try against its hypervisor — map one of its own page tables writable,
 * map memory it does not have, load a directory nobody validated, interrupt a CPU that does not
 * exist. The backends must answer each with an error code or a fault and keep their state
 * intact; the hostile workload (src/workloads/hostile.ts) drives the commands and checks that.
 *
 * LKDTM is reached through debugfs; pvemu's kernel has no file systems, so it is a system call
 * (SYS_lkdtm in src/uapi/unistd.ts, outside Linux's numbering). What a command reports is only what a kernel can see
 * for itself: whether the entry it stored reads back (Xen refuses an mmu_update by leaving the
 * entry alone), whether CR3 took the new directory, what the local APIC's ESR says, and whether
 * a probe access faulted. Runs on the calling task's vCPU, in its system call.
 */
import { GuestSegfault } from '../lib/errors.js';
import { APIC_ESR, APIC_ICR, APIC_ICR2, CALL_FUNCTION_VECTOR, SET_APIC_DEST_FIELD } from '../hw/apic.js';
import { PAGE_SHIFT, PAGE_SIZE, PTE_A, PTE_D, PTE_P, PTE_RW, PTE_US, PTRS_PER_TABLE, makePte, USER_TOP, KERNEL_PGD_INDEX } from '../hw/paging.js';
import type { Pfn, Vaddr } from '../hw/types.js';
import { CpuMask } from '../pv/cpumask.js';
import type { MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { EBUSY, EFAULT, EINVAL, EIO, ENODEV, ENOMEM, EPERM } from '../uapi/errno.js';
import type { FrameAllocator } from './frames.js';
import { KGLOBALS, MM } from './layout.js';
import type { AddressSpaces } from './mm.js';
import { USER_PDE_FLAGS, type PageTables } from './pgtable.js';
import { downWrite, spinLock, spinUnlock, upWrite } from './sync.js';
import type { TlbFlusher } from './tlbflush.js';
import type { VmaTable } from './vma.js';
import { LKDTM_IPI_NO_CPU, LKDTM_LOAD_UNVALIDATED_PD, LKDTM_MAP_BEYOND_RAM, LKDTM_MAP_RESERVED, LKDTM_PT_WRITABLE, LKDTM_UNMAP } from '../uapi/lkdtm.js';

/** How far past the end of RAM the beyond-RAM mappings point. */
const BEYOND_RAM_FRAMES = 16;

export class Lkdtm {
  private readonly mask = new CpuMask();

  constructor(
    private readonly k: KernelContext,
    private readonly mms: AddressSpaces,
    private readonly pt: PageTables,
    private readonly vmas: VmaTable,
    private readonly frames: FrameAllocator,
    private readonly flusher: TlbFlusher,
  ) {}

  /** lkdtm(cmd, va): 0 or a positive status when the command ran, -errno otherwise (see each). */
  run(mm: MmRef, cmd: number, va: number): number {
    switch (cmd) {
      case LKDTM_PT_WRITABLE: return this.mapAt(mm, va, (this.mms.pgd(mm) >>> PAGE_SHIFT) as Pfn);
      case LKDTM_MAP_BEYOND_RAM: return this.mapAt(mm, va, (this.k.ram.frames + BEYOND_RAM_FRAMES) as Pfn);
      case LKDTM_MAP_RESERVED: {
        const usable = this.k.ops.init.memorySetup().usableBytes >>> PAGE_SHIFT;
        return usable < this.k.ram.frames ? this.mapAt(mm, va, usable as Pfn) : -ENODEV;
      }
      case LKDTM_UNMAP: return this.unmapAt(mm, va);
      case LKDTM_LOAD_UNVALIDATED_PD: return this.loadUnvalidatedPd(va);
      case LKDTM_IPI_NO_CPU: return this.ipiNoCpu();
      default: return -EINVAL;
    }
  }

  /**
   * Store a user PTE for `va` (inside one of the caller's VMAs, not yet populated) naming `frame`,
   * writable — through set_pte_at, the way any kernel installs one. Returns 0 if the entry reads
   * back as stored (the backend let it through), -EPERM if it does not (the hypervisor refused).
   * The caller probes the mapping from user mode, then calls LKDTM_UNMAP before anything else
   * touches the range: the frame was never the kernel's to map, so no reference is held on it.
   */
  private mapAt(mm: MmRef, va: number, frame: Pfn): number {
    const { i32, ops, cpu, spinner } = this.k;
    const mb = mm >>> 2;
    if (!this.inVma(mm, va)) return -EINVAL;
    const pte = makePte(frame, PTE_P | PTE_RW | PTE_US);
    downWrite(i32, mb + MM.mmapLock, spinner);
    spinLock(i32, mb + MM.pageTableLock, cpu, spinner);
    try {
      const ptep = this.pt.ptePointer(mm, this.mms.pgd(mm), va, true);
      if (ptep === 0) return -ENOMEM;
      // ORDERING: under page_table_lock; pairs with the walker's A/D compareExchange.
      if (Atomics.load(i32, ptep >>> 2) !== 0) return -EBUSY;
      ops.mmu.setPteAt(mm, va as Vaddr, ptep, pte);
      // ORDERING: reads back our own store (or the hypervisor's refusal to make it); A and D
      // are the hardware's to set.
      return (Atomics.load(i32, ptep >>> 2) & ~(PTE_A | PTE_D)) === pte ? 0 : -EPERM;
    } finally {
      spinUnlock(i32, mb + MM.pageTableLock);
      upWrite(i32, mb + MM.mmapLock);
    }
  }

  /** Clear what mapAt installed at `va` and shoot it down; the frame is not the kernel's to free. */
  private unmapAt(mm: MmRef, va: number): number {
    const { i32, ops, cpu, spinner } = this.k;
    const mb = mm >>> 2;
    if (!this.inVma(mm, va)) return -EINVAL;
    downWrite(i32, mb + MM.mmapLock, spinner);
    try {
      spinLock(i32, mb + MM.pageTableLock, cpu, spinner);
      let cleared = false;
      try {
        const ptep = this.pt.ptePointer(mm, this.mms.pgd(mm), va, false);
        // ORDERING: under page_table_lock; pairs with the walker's A/D compareExchange.
        if (ptep !== 0 && Atomics.load(i32, ptep >>> 2) !== 0) {
          ops.mmu.pteClear(mm, va as Vaddr, ptep);
          cleared = true;
        }
      } finally {
        spinUnlock(i32, mb + MM.pageTableLock);
      }
      if (cleared) this.flusher.flushTlbMmRange(mm, va, va + PAGE_SIZE);
      return 0;
    } finally {
      upWrite(i32, mb + MM.mmapLock);
    }
  }

  /**
   * Build a page directory no backend has seen — the kernel's half copied, every user PDE naming
   * a "page table" past the end of RAM — load it into CR3 with interrupts off, read `va` through
   * it, and go back. Returns -EPERM if CR3 did not take it (Xen: NEW_BASEPTR of an unpinned
   * directory; shadow: a directory outside guest memory), -EIO if the probe raised a machine
   * check (the walk reached for memory that is not there), -EFAULT for any other fault, and 0 if
   * the probe read something (which would be a hole in the hardware model).
   */
  private loadUnvalidatedPd(va: number): number {
    const { i32, ops, ram, layout, user } = this.k;
    const frame = this.frames.allocZeroed();
    if (frame === 0) return -ENOMEM;
    const pd = ram.frameAddr(frame);
    const swapper = i32[layout.kglobals + KGLOBALS.swapperPgDir]!;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      // ORDERING: the directory is visible to no walker until the CR3 load below publishes it.
      i32[(pd >>> 2) + i] = i < KERNEL_PGD_INDEX
        ? makePte((ram.frames + BEYOND_RAM_FRAMES + i) as Pfn, USER_PDE_FLAGS)
        : Atomics.load(i32, (swapper >>> 2) + i);
    }
    ops.mmu.allocPd(frame);
    const flags = ops.irq.saveFl();
    ops.irq.irqDisable();
    let r: number;
    const before = ops.mmu.readCr3();
    try {
      ops.mmu.writeCr3(pd);
      if (ops.mmu.readCr3() !== pd) {
        r = -EPERM;
      } else {
        try {
          user.load8(va);
          r = 0;
        } catch (e) {
          if (!(e instanceof GuestSegfault)) throw e;
          r = e.signal === 'SIGBUS' ? -EIO : -EFAULT;
        }
      }
    } finally {
      if (ops.mmu.readCr3() !== before) ops.mmu.writeCr3(before);
      ops.irq.restoreFl(flags);
    }
    ops.mmu.releasePd(frame);
    this.frames.put(frame);
    return r;
  }

  /**
   * Interrupt CPUs that do not exist: an ICR write naming APIC id `cpus`, a send_IPI_mask with
   * bit `cpus` set, and a fixed IPI with an illegal vector (2) to ourselves. Returns the ESR the
   * ICR writes left (send-accept and send-illegal-vector errors), 0 if the APIC saw none.
   */
  private ipiNoCpu(): number {
    const { ops, cpus, cpu } = this.k;
    ops.apic.apicWrite(APIC_ESR, 0);
    ops.apic.apicWrite(APIC_ICR2, SET_APIC_DEST_FIELD(cpus));
    ops.apic.apicWrite(APIC_ICR, CALL_FUNCTION_VECTOR);
    ops.apic.apicWrite(APIC_ICR2, SET_APIC_DEST_FIELD(cpu));
    ops.apic.apicWrite(APIC_ICR, 2);
    this.mask.lo = 0;
    this.mask.hi = 0;
    this.mask.set(cpus);
    ops.apic.sendIpiMask(this.mask, CALL_FUNCTION_VECTOR);
    ops.apic.apicWrite(APIC_ESR, 0);
    return ops.apic.apicRead(APIC_ESR);
  }

  /** Is `va` a page-aligned user address inside one of `mm`'s VMAs? */
  private inVma(mm: MmRef, va: number): boolean {
    va >>>= 0;
    return (va & (PAGE_SIZE - 1)) === 0 && va < USER_TOP && this.vmas.find(mm >>> 2, va) >= 0;
  }
}
