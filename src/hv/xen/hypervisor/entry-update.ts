/**
 * Page-table entry stores as the hypervisor performs them: mmu_update's checked `*ptr = val`
 * (Xen's mod_l1_entry / mod_l2_entry), update_va_mapping's lookup through the current base, and
 * the guest's plain stores into tables the hypervisor does not police. Runs on the vCPU making
 * the call; every store here holds the frame-table lock, so validation and the store are one
 * step with respect to every other vCPU's hypercalls.
 *
 * A validated store takes the new entry's references first (which may fail, and then changes
 * nothing: the operation's undo log is rolled back and the entry is never written), then writes
 * the entry, then drops the old entry's references — Xen's order, so an entry rewritten with the
 * same writable frame never lets that frame's count touch 0.
 */
import { InternalError } from '../../../lib/errors.js';
import type { VcpuHardware } from '../../../hw/cpu.js';
import { PAGE_SHIFT, PAGE_SIZE, PTE_A, PTE_D, PTE_FRAME_MASK, PTE_P, PTE_PS, pdIndex, ptIndex } from '../../../hw/paging.js';
import type { HvLock } from '../../hv-lock.js';
import {
  MMU_MACHPHYS_UPDATE, MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_PRESERVE_AD, MMU_UPDATE_TYPE_MASK, XEN_EINVAL, XEN_ENOSYS,
  type MmuUpdate,
} from '../abi.js';
import type { FrameTable } from './frame-table.js';
import { PGT_l1_page_table, PGT_l2_page_table, PGT_TYPE_MASK, XEN_VCPU, type XenLayout } from './layout.js';
import type { PageTableValidator } from './validate.js';

export class EntryUpdates {
  /**
   * The entry's value just before the last store this vCPU applied (what the store replaced):
   * Linux's ptep_get_and_clear returns it. Worker-local.
   */
  lastOld = 0;
  private readonly ram: Int32Array;

  constructor(
    private readonly hw: VcpuHardware,
    private readonly words: Int32Array,
    private readonly layout: XenLayout,
    private readonly frames: FrameTable,
    private readonly validator: PageTableValidator,
    private readonly lock: HvLock,
  ) {
    this.ram = hw.ram.i32;
  }

  /** One mmu_update request: 0 or -errno. Takes the lock. */
  mmuUpdate(req: MmuUpdate): number {
    const type = req.ptr & MMU_UPDATE_TYPE_MASK;
    if (type === MMU_MACHPHYS_UPDATE) return -XEN_ENOSYS;
    if (type !== MMU_NORMAL_PT_UPDATE && type !== MMU_PT_UPDATE_PRESERVE_AD) return -XEN_EINVAL;
    const addr = (req.ptr & ~MMU_UPDATE_TYPE_MASK) >>> 0;
    if (addr >= this.hw.ram.size) return -XEN_EINVAL;
    this.lock.acquire();
    try {
      return this.modEntry_locked(addr, req.val, type === MMU_PT_UPDATE_PRESERVE_AD);
    } finally {
      this.lock.release();
    }
  }

  /** update_va_mapping's store: the PTE mapping `va` in this vCPU's current base. Takes the lock. */
  updateVaMapping(va: number, val: number): number {
    this.lock.acquire();
    try {
      // ORDERING: our own currentBase, written under this lock (MmuextCommands' NEW_BASEPTR).
      const base = Atomics.load(this.words, this.layout.vcpuBase(this.hw.cpu) + XEN_VCPU.currentBase) - 1;
      if (base < 0) return -XEN_EINVAL;
      // ORDERING: a validated directory changes only under this lock, which we hold.
      const pde = Atomics.load(this.ram, (base << (PAGE_SHIFT - 2)) + pdIndex(va));
      if ((pde & (PTE_P | PTE_PS)) !== PTE_P) return -XEN_EINVAL;
      const ptep = ((pde & PTE_FRAME_MASK) >>> 0) + ptIndex(va) * 4;
      if ((this.frames.typeInfo(ptep >>> PAGE_SHIFT) & PGT_TYPE_MASK) !== PGT_l1_page_table) return -XEN_EINVAL;
      return this.modEntry_locked(ptep, val, false);
    } finally {
      this.lock.release();
    }
  }

  /**
   * Store `val` into the entry at `ptep` if its table is not a validated page table — a table of
   * an address space not pinned yet, which Xen lets the guest write as ordinary memory — and
   * return true (the replaced value in lastOld). False when the table is a page table: the
   * store must be an mmu_update. Not a hypercall: the guest writes its own memory. The check and
   * the store are atomic with respect to pinning (both under the frame-table lock), as a Xen
   * guest's writable mapping of a table keeps the table from being pinned.
   */
  writeUntyped(ptep: number, val: number): boolean {
    if (ptep < 0 || ptep >= this.hw.ram.size || (ptep & 3) !== 0) {
      throw new InternalError(`cpu ${this.hw.cpu}: page-table entry address 0x${(ptep >>> 0).toString(16)} is not an aligned RAM address`);
    }
    this.lock.acquire();
    try {
      if (this.frames.isPageTable(ptep >>> PAGE_SHIFT)) return false;
      // ORDERING: an exchange, so A/D a concurrent walker sets are not lost; pairs with the
      // walker's Atomics.load and compareExchange of the entry.
      this.lastOld = Atomics.exchange(this.ram, ptep >>> 2, val);
      return true;
    } finally {
      this.lock.release();
    }
  }

  /**
   * Validate and apply one entry store at `addr` (lock held). The table's type decides the rules:
   * a PTE in an L1, a PDE in an L2; anything else is not a page table and mmu_update refuses it.
   */
  private modEntry_locked(addr: number, val: number, preserveAD: boolean): number {
    const table = addr >>> PAGE_SHIFT;
    const owned = this.frames.checkOwned(table);
    if (owned !== 0) return owned;
    const type = this.frames.typeInfo(table) & PGT_TYPE_MASK;
    if (type !== PGT_l1_page_table && type !== PGT_l2_page_table) return -XEN_EINVAL;
    const v = this.validator;
    this.frames.beginOp();
    const r = type === PGT_l1_page_table ? v.getL1eRef_locked(val) : v.getL2eRef_locked(val, (addr & (PAGE_SIZE - 1)) >>> 2);
    if (r !== 0) {
      this.frames.rollbackOp();
      return r;
    }
    const old = this.applyEntry(addr >>> 2, val, preserveAD);
    if (type === PGT_l1_page_table) v.putL1eRef_locked(old);
    else v.putL2eRef_locked(old);
    this.frames.commitOp();
    this.lastOld = old;
    return 0;
  }

  /** The store itself: an exchange, or for PRESERVE_AD a compare-exchange loop keeping A and D. */
  private applyEntry(index: number, val: number, preserveAD: boolean): number {
    // ORDERING: pairs with the hardware walker's Atomics.load of the entry and its A/D
    // compareExchange: an exchange cannot lose a concurrent A/D update (the walker's exchange
    // fails and it walks again), and the loop below folds one in.
    if (!preserveAD) return Atomics.exchange(this.ram, index, val);
    for (;;) {
      // ORDERING: as above: a walker's A/D update between the load and the compareExchange
      // makes it fail, and the loop folds the new bits in.
      const cur = Atomics.load(this.ram, index);
      const next = val | (cur & (PTE_A | PTE_D));
      if (Atomics.compareExchange(this.ram, index, cur, next) === cur) return cur;
    }
  }
}
