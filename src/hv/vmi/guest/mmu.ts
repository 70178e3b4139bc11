/**
 * VMI's pv_mmu_ops and pv_misc_ops (vmi_32.c): page-table stores are the native atomic stores
 * followed by the ROM's update notification; flushes and CR3 go through ROM calls; remote
 * flushes stay native (IPIs). Costs follow the rules in rom.ts. vCPU worker.
 */
import type { BackendContext } from '../../backend.js';
import { VmExitReason } from '../../../hw/cost.js';
import type { PvMiscOps, PvMmuOps, PvOps } from '../../../pv/ops.js';
import type { VmiRom } from '../hypervisor/rom.js';

export function vmiMmu(_ctx: BackendContext, native: PvOps, rom: VmiRom): Partial<PvMmuOps> {
  const n = native.mmu;
  const stats = rom.stats;
  return {
    // SetCR3: the VMM switches its shadow; the native effect is the hardware's CR3 load.
    writeCr3: (pd) => {
      rom.flushCall(VmExitReason.Cr3);
      n.writeCr3(pd);
    },
    // Not a ROM call: the backend only notes which address space is current (rule 3's test).
    activateMm: (prev, next) => {
      rom.currentMm = next;
      n.activateMm(prev, next);
    },
    // FlushTLB(VMI_FLUSH_TLB) and FlushTLB(VMI_FLUSH_TLB | VMI_FLUSH_GLOBAL).
    flushTlbUser: () => {
      rom.flushCall(VmExitReason.Cr3);
      n.flushTlbUser();
    },
    flushTlbKernel: () => {
      rom.flushCall(VmExitReason.Cr3);
      n.flushTlbKernel();
    },
    // InvalPage.
    flushTlbSingle: (va) => {
      rom.flushCall(VmExitReason.Invlpg);
      n.flushTlbSingle(va);
    },
    // AllocatePage(VMI_PAGE_L1 / L2) and ReleasePage.
    allocPt: (mm, frame) => {
      rom.pageTypeChange();
      n.allocPt(mm, frame);
    },
    allocPd: (frame) => {
      rom.pageTypeChange();
      n.allocPd(frame);
    },
    releasePt: (frame) => {
      rom.pageTypeChange();
      n.releasePt(frame);
    },
    releasePd: (frame) => {
      rom.pageTypeChange();
      n.releasePd(frame);
    },
    // SetPxE: the store, then the VMM's notification (rules 1 and 2).
    setPte: (ptep, pte) => {
      n.setPte(ptep, pte);
      stats.pteWrites++;
      rom.updatePxE();
    },
    setPteAt: (mm, va, ptep, pte) => {
      n.setPteAt(mm, va, ptep, pte);
      stats.pteWrites++;
      rom.updatePxE();
    },
    setPmd: (pmdp, pmd) => {
      n.setPmd(pmdp, pmd);
      stats.pteWrites++;
      rom.updatePxE();
    },
    pteClear: (mm, va, ptep) => {
      const old = n.pteClear(mm, va, ptep);
      stats.pteWrites++;
      rom.updatePxE();
      return old;
    },
    // UpdatePxE, now or deferred to the next flush (rule 3).
    pteUpdate: () => {
      stats.pteUpdates++;
      rom.updatePxE();
    },
    pteUpdateDefer: (mm) => {
      rom.updatePxEDefer(mm);
    },
  };
}

/** SetLazyMode for the MMU; lazy CPU mode has nothing to batch here and stays native. */
export function vmiMisc(rom: VmiRom): Partial<PvMiscOps> {
  return {
    enterLazyMmu: () => rom.enterLazy(),
    leaveLazyMmu: () => rom.leaveLazy(),
    flushLazy: () => rom.flushLazy(),
  };
}
