/**
 * Page-table validation, Xen's get_page_type / get_page_from_l1e / get_page_from_l2e and their
 * put_ counterparts (xen/arch/x86/mm.c), over pvemu's two-level i386 tables. Every method runs
 * with the frame-table lock held, inside a FrameTable operation (beginOp ... commitOp or
 * rollbackOp): a `get` that fails part-way leaves references behind, which the caller's rollback
 * removes. Runs on the vCPU worker making the hypercall.
 *
 * The rules, for a frame F being typed:
 *   - as an L1: every present entry maps a frame the guest owns; a writable entry takes a
 *     PGT_writable_page reference on its frame, which fails if that frame is a page table (L1 or
 *     L2, F itself included). Read-only entries may map anything the guest owns, page tables too
 *     (Xen requires page-table pages to be mapped read-only).
 *   - as an L2: every present entry below the kernel's half points at a frame that is, or can be
 *     validated as, an L1 (one type reference each); in the kernel's half the same, or a 4 MiB
 *     PS entry (see below).
 *   - a frame changes type only while its count is 0.
 *
 * Deviation from Xen, stated here once: Xen PV never allowed PSE superpages, but pvemu's kernel
 * direct-maps RAM with 4 MiB PS entries in the kernel's half of every directory. Those entries are
 * accepted when their first frame is the guest's, and take no references — so the direct map
 * reaches page-table frames (and the hypervisor's reserved frames at the top of RAM) writable,
 * which real Xen would refuse. The kernel never writes a page table through the direct map
 * (every entry store is a pv op), so nothing relies on the gap.
 */
import { InternalError } from '../../../lib/errors.js';
import { PAGE_SHIFT, PDE_LARGE_FRAME_MASK, PTE_P, PTE_PS, PTE_RW, PTRS_PER_TABLE, KERNEL_PGD_INDEX } from '../../../hw/paging.js';
import { XEN_EINVAL } from '../abi.js';
import type { FrameTable } from './frame-table.js';
import { PGT_count_mask, PGT_l1_page_table, PGT_l2_page_table, PGT_pinned, PGT_TYPE_MASK, PGT_writable_page } from './layout.js';

/** First directory index of the guest kernel's half (pvemu's PAGE_OFFSET >> 22). */
export const KERNEL_PDE_FIRST = KERNEL_PGD_INDEX;

export class PageTableValidator {
  /** Present entries examined since the last reset (priced as hypercall entries by the caller). */
  validated = 0;

  constructor(private readonly ft: FrameTable, private readonly ram: Int32Array) {}

  /**
   * Take one type reference of `type` on `frame` (get_page_type): validate it first when it had
   * no type. 0 or -errno.
   */
  getPageType_locked(frame: number, type: number): number {
    const err = this.ft.checkOwned(frame);
    if (err !== 0) return err;
    const ti = this.ft.typeInfo(frame);
    const count = ti & PGT_count_mask;
    if (count === 0) {
      // Untyped: take the type, then validate the contents (with the type already set, an entry
      // of F mapping F writable finds F a page table and fails, as it must).
      this.ft.setTypeInfo_locked(frame, type | 1);
      if (type === PGT_l1_page_table) return this.validateL1_locked(frame);
      if (type === PGT_l2_page_table) return this.validateL2_locked(frame);
      return 0;
    }
    if ((ti & PGT_TYPE_MASK) !== type) return -XEN_EINVAL;
    if (count === PGT_count_mask) return -XEN_EINVAL;
    this.ft.setTypeInfo_locked(frame, ti + 1);
    return 0;
  }

  /** Drop one type reference (put_page_type); the last one devalidates the frame's contents. */
  putPageType_locked(frame: number): void {
    const ti = this.ft.typeInfo(frame);
    const count = ti & PGT_count_mask;
    if (count === 0) {
      throw new InternalError(`Xen frame table: type reference dropped on untyped frame 0x${frame.toString(16)}`);
    }
    if (count > 1) {
      this.ft.setTypeInfo_locked(frame, ti - 1);
      return;
    }
    if ((ti & PGT_pinned) !== 0) {
      throw new InternalError(`Xen frame table: last type reference of pinned frame 0x${frame.toString(16)} dropped`);
    }
    this.ft.setTypeInfo_locked(frame, 0);
    const type = ti & PGT_TYPE_MASK;
    if (type === PGT_l1_page_table) this.devalidateL1_locked(frame);
    else if (type === PGT_l2_page_table) this.devalidateL2_locked(frame);
  }

  /** References a PTE value holds (get_page_from_l1e). 0 or -errno. */
  getL1eRef_locked(pte: number): number {
    if ((pte & PTE_P) === 0) return 0;
    const frame = pte >>> PAGE_SHIFT;
    if ((pte & PTE_RW) === 0) return this.ft.checkOwned(frame);
    return this.getPageType_locked(frame, PGT_writable_page);
  }

  putL1eRef_locked(pte: number): void {
    if ((pte & (PTE_P | PTE_RW)) === (PTE_P | PTE_RW)) this.putPageType_locked(pte >>> PAGE_SHIFT);
  }

  /** References a PDE value at directory index `index` holds (get_page_from_l2e). 0 or -errno. */
  getL2eRef_locked(pde: number, index: number): number {
    if ((pde & PTE_P) === 0) return 0;
    if ((pde & PTE_PS) !== 0) {
      // pvemu's direct map (see the header): kernel half only, first frame the guest's, no reference.
      if (index < KERNEL_PDE_FIRST) return -XEN_EINVAL;
      return this.ft.checkOwned((pde & PDE_LARGE_FRAME_MASK) >>> PAGE_SHIFT);
    }
    return this.getPageType_locked(pde >>> PAGE_SHIFT, PGT_l1_page_table);
  }

  putL2eRef_locked(pde: number): void {
    if ((pde & (PTE_P | PTE_PS)) === PTE_P) this.putPageType_locked(pde >>> PAGE_SHIFT);
  }

  private validateL1_locked(frame: number): number {
    const base = frame << (PAGE_SHIFT - 2);
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      // ORDERING: pairs with guest stores to this (until now untyped) table, which take the lock
      // (src/hv/xen/hypervisor/hypervisor.ts writeUntypedEntry), and with the walker's A/D compareExchange,
      // which changes no bit validation looks at.
      const pte = Atomics.load(this.ram, base + i);
      if ((pte & PTE_P) === 0) continue;
      this.validated++;
      const err = this.getL1eRef_locked(pte);
      if (err !== 0) return err;
    }
    return 0;
  }

  private validateL2_locked(frame: number): number {
    const base = frame << (PAGE_SHIFT - 2);
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      // ORDERING: as in validateL1_locked.
      const pde = Atomics.load(this.ram, base + i);
      if ((pde & PTE_P) === 0) continue;
      this.validated++;
      const err = this.getL2eRef_locked(pde, i);
      if (err !== 0) return err;
    }
    return 0;
  }

  private devalidateL1_locked(frame: number): void {
    const base = frame << (PAGE_SHIFT - 2);
    // ORDERING: entries of a validated table change only under the lock we hold (mmu_update);
    // the walker's A/D updates leave P, RW and the frame alone.
    for (let i = 0; i < PTRS_PER_TABLE; i++) this.putL1eRef_locked(Atomics.load(this.ram, base + i));
  }

  private devalidateL2_locked(frame: number): void {
    const base = frame << (PAGE_SHIFT - 2);
    // ORDERING: as in devalidateL1_locked.
    for (let i = 0; i < PTRS_PER_TABLE; i++) this.putL2eRef_locked(Atomics.load(this.ram, base + i));
  }
}
