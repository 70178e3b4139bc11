/**
 * Shadow paging's pv_mmu_ops. The guest kernel runs its page tables as if native — its stores
 * land in its own tables — but the hypervisor has write-protected every page-table page, so
 * each store traps and the hypervisor resyncs its shadow (tables.ts); CR3 loads and INVLPG trap
 * too, and the hardware walks the shadow, never the guest's tables. A shadow miss the guest's
 * tables would allow is a hidden fault the guest never sees. Remote flushes stay the kernel's
 * native IPIs: the shadow is shared by every vCPU and synced at write time, so a target only
 * flushes its TLB (no out-of-sync pages, hence nothing to resync there). vCPU worker.
 *
 * Not charged: alloc_pt/alloc_pd/release_pt/release_pd. A shadow-paging hypervisor gets no such
 * calls from an unmodified guest; here they only tell it when to drop shadows it would
 * otherwise find stale on its own, after the PDE store that unhooked the table has trapped.
 */
import type { BackendContext } from '../../backend.js';
import { VmExitReason } from '../../../hw/cost.js';
import type { PvMmuOps, PvOps } from '../../../pv/ops.js';
import type { Paddr } from '../../../hw/types.js';
import { shadowAccessBits, type ShadowTables } from '../hypervisor/tables.js';

/** What this vCPU's hypervisor remembers about its guest: the guest's own CR3. */
export class ShadowVcpu {
  /** The guest page directory the guest loaded (read_cr3 returns it; CR3 holds its shadow). */
  guestCr3 = 0 as Paddr;
}

export function shadowMmu(ctx: BackendContext, native: PvOps, tables: ShadowTables, vcpu: ShadowVcpu): Partial<PvMmuOps> {
  const { hw } = ctx;
  const { cost } = hw;
  const n = native.mmu;
  // The hypervisor sees every page fault first: a miss the guest's tables would allow is filled.
  hw.pageFaultFilter = (va, errorCode) => tables.fill(vcpu.guestCr3, hw.mmu.cr3 as Paddr, va, errorCode);
  // --check compares what the hardware fills from the shadow with the guest's own tables.
  hw.mmu.guestTablesRoot = () => vcpu.guestCr3;
  // Injected fault (BackendFaults.skipShadowSync): a guest PTE store traps, and the shadow is
  // not resynced — it keeps the entry the guest just changed until something else replaces it.
  const skipSync = ctx.faults?.skipShadowSync === true;
  const syncPte = (ptep: Paddr): number => (skipSync ? 0 : tables.syncPte(ptep));
  return {
    readCr3: () => vcpu.guestCr3,
    // MOV to CR3 exits: the hypervisor finds (or builds) the shadow of `pd` and loads that.
    writeCr3: (pd) => {
      cost.trap(VmExitReason.Cr3);
      if (!tables.isGuestDirectory(pd)) {
        // A directory outside the guest's memory: refused (KVM's shadow MMU would fail the root
        // check and triple-fault the guest); CR3 keeps the shadow it had.
        cost.rejected();
        return;
      }
      const shadowPd = tables.loadPdFor(pd);
      vcpu.guestCr3 = pd;
      hw.mmu.writeCr3(shadowPd);
    },
    // INVLPG exits; the flush itself is the hardware's.
    flushTlbSingle: (va) => {
      cost.trap(VmExitReason.Invlpg);
      n.flushTlbSingle(va);
    },
    // A CR3 reload (flush_tlb_user) and a CR4.PGE toggle (flush_tlb_kernel): control-register exits.
    flushTlbUser: () => {
      cost.trap(VmExitReason.Cr3);
      n.flushTlbUser();
    },
    flushTlbKernel: () => {
      cost.trap(VmExitReason.Cr3);
      n.flushTlbKernel();
    },
    // Write-protected page-table pages: the guest's store, its trap, the shadow's resync.
    setPte: (ptep, pte) => {
      n.setPte(ptep, pte);
      cost.trap(VmExitReason.PtWrite);
      syncPte(ptep);
    },
    setPteAt: (mm, va, ptep, pte) => {
      n.setPteAt(mm, va, ptep, pte);
      cost.trap(VmExitReason.PtWrite);
      syncPte(ptep);
    },
    setPmd: (pmdp, pmd) => {
      n.setPmd(pmdp, pmd);
      cost.trap(VmExitReason.PtWrite);
      tables.syncPde(pmdp);
    },
    pteClear: (mm, va, ptep) => {
      const old = n.pteClear(mm, va, ptep);
      cost.trap(VmExitReason.PtWrite);
      return shadowAccessBits(old, syncPte(ptep));
    },
    // pte_update(_defer): the store that changed the entry already trapped and resynced it.
    pteUpdate: () => {},
    pteUpdateDefer: () => {},
    releasePt: (frame) => {
      tables.releasePt(frame);
      n.releasePt(frame);
    },
    releasePd: (frame) => {
      tables.releasePd(frame);
      n.releasePd(frame);
    },
  };
}
