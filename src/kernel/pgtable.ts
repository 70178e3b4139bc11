/**
 * Page-table construction and teardown for user address spaces, through pv_mmu_ops only:
 * pgd_alloc / pgd_free, page-table allocation on demand, PTE lookup. Runs on a vCPU worker.
 * Callers hold the mm's page_table_lock when they may allocate a page table.
 */
import { PAGE_SHIFT, PTE_P, PTE_RW, PTE_US, PTRS_PER_TABLE, makePte, pdIndex, pteAddr, pteFrame, ptIndex, KERNEL_PGD_INDEX } from '../hw/paging.js';
import type { Paddr, Pfn } from '../hw/types.js';
import type { MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import type { FrameAllocator } from './frames.js';
import { KGLOBALS, MM } from './layout.js';

/** Flags of a PDE pointing at a user page table: permissions are decided by the PTEs. */
export const USER_PDE_FLAGS = PTE_P | PTE_RW | PTE_US;

export class PageTables {
  constructor(private readonly k: KernelContext, private readonly frames: FrameAllocator) {}

  /** pgd_alloc: a page directory with the kernel's half copied from swapper_pg_dir, or 0 if out of memory. */
  pgdAlloc(): Paddr {
    const { i32, ram, ops, layout } = this.k;
    const frame = this.frames.allocZeroed();
    if (frame === 0) return 0 as Paddr;
    const pgd = ram.frameAddr(frame);
    const swapper = i32[layout.kglobals + KGLOBALS.swapperPgDir]!;
    // Before allocPd: a backend that validates the directory (Xen) sees it complete.
    for (let i = KERNEL_PGD_INDEX; i < PTRS_PER_TABLE; i++) {
      // ORDERING: the directory is not yet visible to any walker; plain copy is enough, and
      // loading it into CR3 (writeCr3) publishes it.
      i32[(pgd >>> 2) + i] = Atomics.load(i32, (swapper >>> 2) + i);
    }
    ops.mmu.allocPd(frame);
    return pgd;
  }

  /**
   * Address of the PTE for `va` in `mm`, allocating its page table if `alloc` (caller holds
   * page_table_lock); 0 if there is no table (or no memory for one).
   */
  ptePointer(mm: MmRef, pgd: Paddr, va: number, alloc: boolean): Paddr {
    const { i32, ops } = this.k;
    const pdep = (pgd + pdIndex(va) * 4) as Paddr;
    // ORDERING: pairs with setPmd's Atomics store below (by us or another CPU under the lock).
    let pde = Atomics.load(i32, pdep >>> 2);
    if ((pde & PTE_P) === 0) {
      if (!alloc) return 0 as Paddr;
      const frame = this.frames.allocZeroed();
      if (frame === 0) return 0 as Paddr;
      ops.mmu.allocPt(mm, frame);
      pde = makePte(frame, USER_PDE_FLAGS);
      ops.mmu.setPmd(pdep, pde);
      Atomics.add(i32, (mm >>> 2) + MM.ptPages, 1);
      Atomics.add(i32, this.k.layout.kglobals + KGLOBALS.pageTables, 1);
    }
    return (pteAddr(pde) + ptIndex(va) * 4) as Paddr;
  }

  /**
   * Free every user page table of `pgd` and the directory itself (exit_mmap's free_pgtables
   * and pgd_free). The caller has cleared every PTE and made sure no CPU has `pgd` loaded.
   */
  pgdFree(mm: MmRef, pgd: Paddr): void {
    const { i32, ops, layout } = this.k;
    for (let i = 0; i < KERNEL_PGD_INDEX; i++) {
      const pdep = (pgd + i * 4) as Paddr;
      const pde = Atomics.load(i32, pdep >>> 2);
      if ((pde & PTE_P) === 0) continue;
      ops.mmu.setPmd(pdep, 0);
      ops.mmu.releasePt(pteFrame(pde));
      this.frames.put(pteFrame(pde));
      Atomics.sub(i32, (mm >>> 2) + MM.ptPages, 1);
      Atomics.sub(i32, layout.kglobals + KGLOBALS.pageTables, 1);
    }
    ops.mmu.releasePd((pgd >>> PAGE_SHIFT) as Pfn);
    this.frames.put((pgd >>> PAGE_SHIFT) as Pfn);
  }
}
