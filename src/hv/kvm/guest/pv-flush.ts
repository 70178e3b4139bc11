/**
 * KVM's paravirtual TLB flush, the guest half (Linux arch/x86/kernel/kvm.c kvm_flush_tlb_multi);
 * the host half, record_steal_time's flush as a vCPU is loaded again, is
 * src/hv/kvm/hypervisor/flush-on-load.ts. vCPU worker: the guest half runs on the initiator,
 * the host half on the target.
 *
 * Guest half, flush_tlb_others(mask, info) on initiator I:
 *   for each target V in mask:
 *     s = V.preempted                              (V's steal-time record)
 *     while s & PREEMPTED:
 *       cmpxchg(V.preempted, s, s | FLUSH_TLB)     success: drop V from the mask, no IPI
 *                                                  failure: s = the byte found, look again
 *   native_flush_tlb_others(remaining mask, info)  (queue, IPI, wait for acknowledgements)
 *
 * Host half, V loaded again (an onResume hook, before any guest code runs):
 *   old = xchg(V.preempted, 0); if old & FLUSH_TLB: flush V's whole TLB, global entries too
 *
 * Why I may return without V's acknowledgement: V sets PREEMPTED itself as it parks, after its
 * last guest access (src/vcpu/park.ts), and the hook flushes before its next one; the
 * compare-exchange against the exchange decides, in every race, whether V flushes on load or
 * gets the IPI (the argument is in src/hw/steal-time.ts). A kernel flush (info.mm 0)
 * covers global entries, so the load-time flush drops those too; one full flush covers every
 * range and mm any number of deferred requests could have named.
 *
 * What a deferred target does not do is bring its per-CPU tlb_gen up to date (flush_tlb_func
 * never ran there): its generation stays behind, so its next flush_tlb_func takes the full
 * flush — more flushing than needed, never less.
 */
import type { BackendContext } from '../../backend.js';
import type { PvMmuOps } from '../../../pv/ops.js';
import { CpuMask } from '../../../pv/cpumask.js';
import { KVM_VCPU_PREEMPTED } from '../../../hw/pvclock.js';
import { loadPreempted, requestFlush } from '../../../hw/steal-time.js';

/** This vCPU's PV flush counts (worker-local; tests read them). */
export interface PvFlushStats {
  /** Targets this vCPU skipped because they were preempted (a FLUSH_TLB request stands). */
  deferred: number;
  /** Targets this vCPU handed to native_flush_tlb_others: each was seen not preempted. */
  sentToRunning: number;
  /** Load-time flushes this vCPU did for requests left while it was preempted. */
  flushedOnLoad: number;
}

export function newPvFlushStats(): PvFlushStats {
  return { deferred: 0, sentToRunning: 0, flushedOnLoad: 0 };
}

/** The guest half: pv_mmu_ops.flushTlbOthers (kvm_flush_tlb_multi). */
export function kvmFlushTlbOthers(ctx: BackendContext, stats: PvFlushStats): PvMmuOps['flushTlbOthers'] {
  const { hw, guest } = ctx;
  const words = hw.machineWords;
  const send = new CpuMask();
  return (mask, info) => {
    send.copyFrom(mask);
    for (let c = mask.next(0); c >= 0; c = mask.next(c + 1)) {
      // ORDERING: the load and the compare-exchange pair with the target's markPreempted
      // store and its takeOnLoad exchange (src/hw/steal-time.ts).
      let state = loadPreempted(words, c);
      while ((state & KVM_VCPU_PREEMPTED) !== 0) {
        const found = requestFlush(words, c, state);
        if (found === state) {
          send.clear(c);
          stats.deferred++;
          hw.cost.deferredFlush();
          hw.counters.shootdownDeferred++;
          break;
        }
        state = found;
      }
    }
    if (send.isEmpty()) return;
    stats.sentToRunning += send.count();
    guest.nativeFlushTlbOthers(send, info);
  };
}
