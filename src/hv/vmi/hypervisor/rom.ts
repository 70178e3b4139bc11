/**
 * One vCPU's view of the VMI ROM (Linux 2.6.21-2.6.36, arch/x86/kernel/vmi_32.c): the calls the
 * paravirt ops make into it, and what each costs. The ROM is code in the guest's address space;
 * a call exits to the VMM when the VMM has to act (an MMU update, a flush, CR3), which is what
 * is charged here. Worker-local: the ROM's lazy queue and deferred resyncs belong to this vCPU.
 *
 * The rules, from the ROM's flags (VMI_PAGE_DEFER, VMI_PAGE_CURRENT_AS, SetLazyMode):
 *   1. Every page-table store (SetPxE: set_pte, set_pte_at, set_pmd, pte_clear) and every
 *      pte_update (UpdatePxE) is one exit, at once outside lazy mode.
 *   2. In lazy MMU mode (SetLazyMode(1)) those exits are queued and replayed when the mode is
 *      left or flushed: each queued update is still its own trap-and-emulate, so lazy mode moves
 *      the exits, it does not merge them. Hence traps >= PTE stores, lazy or not.
 *   3. pte_update_defer on the current address space (or init_mm) costs nothing at the call;
 *      the VMM resyncs the deferred entries in one exit taken at the next InvalPage, FlushTLB or
 *      SetCR3 on this vCPU. On another address space there is no flush to wait for: it is an
 *      ordinary UpdatePxE (rule 1).
 *   4. Anything queued (rule 2) or deferred (rule 3) is issued before a flush or CR3 write, so a
 *      flush never runs ahead of the updates it is meant to publish.
 */
import type { CostMeter } from '../../../hw/cost.js';
import { VmExitReason } from '../../../hw/cost.js';
import type { MmRef } from '../../../pv/ops.js';

/** What the ROM saw on this vCPU: the backend's own counts, for tests and diagnostics. */
export class VmiRomStats {
  /** Page-table stores through SetPxE (set_pte, set_pte_at, set_pmd, pte_clear). */
  pteWrites = 0;
  /** pte_update calls (UpdatePxE, resync now). */
  pteUpdates = 0;
  /** pte_update_defer calls that were deferred (rule 3). */
  deferredUpdates = 0;
  /** Exits that resynced a batch of deferred updates. */
  deferredResyncs = 0;
  /** Updates queued in lazy mode and replayed at leave or flush. */
  lazyQueued = 0;
  /** AllocatePage / ReleasePage calls. */
  pageTypeCalls = 0;
}

export class VmiRom {
  readonly stats = new VmiRomStats();
  /** SetLazyMode(1) is in effect. */
  private lazy = false;
  /** UpdatePxE exits queued in lazy mode (rule 2). */
  private queued = 0;
  /** Deferred resyncs owed at the next flush (rule 3). */
  private deferred = 0;
  /** The address space loaded on this vCPU (activate_mm's `next`; 0 = init_mm). */
  currentMm = 0 as MmRef;

  constructor(private readonly cost: CostMeter) {}

  /** SetPxE / UpdatePxE: one MMU-update exit, now or at the end of lazy mode (rules 1, 2). */
  updatePxE(): void {
    if (this.lazy) {
      this.queued++;
      this.stats.lazyQueued++;
    } else {
      this.cost.trap(VmExitReason.PtWrite);
    }
  }

  /** UpdatePxE with VMI_PAGE_DEFER (rule 3). */
  updatePxEDefer(mm: MmRef): void {
    if (mm !== this.currentMm && mm !== 0) {
      this.updatePxE();
      return;
    }
    this.deferred++;
    this.stats.deferredUpdates++;
  }

  /** AllocatePage / ReleasePage: the VMM learns a page-table page's type, in one exit. */
  pageTypeChange(): void {
    this.stats.pageTypeCalls++;
    this.cost.trap(VmExitReason.PtWrite);
  }

  /** SetLazyMode(1). */
  enterLazy(): void {
    this.lazy = true;
  }

  /** SetLazyMode(0): replay what was queued. */
  leaveLazy(): void {
    this.issueQueued();
    this.lazy = false;
  }

  /** arch_flush_lazy_mmu_mode: replay what was queued and stay lazy. */
  flushLazy(): void {
    this.issueQueued();
  }

  /**
   * A ROM call that flushes or reloads CR3 (InvalPage, FlushTLB, SetCR3): first what is queued
   * or deferred (rule 4), then the call's own exit.
   */
  flushCall(reason: VmExitReason): void {
    this.issueQueued();
    if (this.deferred > 0) {
      this.deferred = 0;
      this.stats.deferredResyncs++;
      this.cost.trap(VmExitReason.PtWrite);
    }
    this.cost.trap(reason);
  }

  /** Updates queued in lazy mode and not yet issued (for tests). */
  get pendingQueued(): number {
    return this.queued;
  }

  /** Deferred updates not yet resynced (for tests). */
  get pendingDeferred(): number {
    return this.deferred;
  }

  private issueQueued(): void {
    // Each queued UpdatePxE is replayed as its own trap-and-emulate (rule 2).
    for (; this.queued > 0; this.queued--) this.cost.trap(VmExitReason.PtWrite);
  }
}
