/**
 * Native pv_mmu_ops: page-table entries are plain atomic stores the hardware walker sees at
 * once; TLB operations act on this vCPU's TLB; remote flushes are the kernel's IPI protocol
 * (native_flush_tlb_others). Allocation, pinning and update notifications are no-ops.
 * vCPU worker.
 */
import type { BackendContext } from '../backend.js';
import type { PvMmuOps } from '../../pv/ops.js';
import type { Paddr, Vaddr } from '../../hw/types.js';

export function nativeMmu(ctx: BackendContext): PvMmuOps {
  const { hw, guest } = ctx;
  const i32 = hw.ram.i32;
  // ORDERING: every entry store is an Atomics.store; pairs with the walker's Atomics.load of the
  // entry and its compareExchange when it sets A/D (src/hw/walker.ts).
  const store = (ptep: Paddr, value: number): void => {
    Atomics.store(i32, ptep >>> 2, value);
  };
  return {
    pagetableSetupStart: () => {},
    pagetableSetupDone: () => {},
    readCr2: () => hw.cr2 as Vaddr,
    readCr3: () => hw.mmu.cr3 as Paddr,
    writeCr3: (pd) => hw.mmu.writeCr3(pd),
    activateMm: () => {},
    dupMmap: () => {},
    exitMmap: () => {},
    flushTlbUser: () => {
      hw.tlb.flushAll();
      hw.cost.charge('flushFull');
    },
    flushTlbKernel: () => {
      hw.tlb.flushAllIncludingGlobal();
      hw.cost.charge('flushGlobal');
    },
    flushTlbSingle: (va) => {
      hw.mmu.invlpg(va);
      hw.cost.charge('flushSingle');
    },
    flushTlbOthers: (mask, info) => guest.nativeFlushTlbOthers(mask, info),
    allocPt: () => {},
    allocPd: () => {},
    releasePt: () => {},
    releasePd: () => {},
    setPte: store,
    setPteAt: (_mm, _va, ptep, pte) => store(ptep, pte),
    setPmd: store,
    pteUpdate: () => {},
    pteUpdateDefer: () => {},
    // ptep_get_and_clear: an exchange, so A/D bits a concurrent walker sets are not lost.
    // ORDERING: pairs with the walker's compareExchange (it fails and restarts on the new 0).
    pteClear: (_mm, _va, ptep) => Atomics.exchange(i32, ptep >>> 2, 0),
  };
}
