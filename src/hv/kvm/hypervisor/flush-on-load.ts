/**
 * KVM's paravirtual TLB flush, the host half (Linux arch/x86/kvm/x86.c record_steal_time): as a
 * vCPU is loaded again it takes its steal-time record's preempted byte and flushes its whole TLB
 * if a guest left a FLUSH_TLB request while it was preempted. The guest half, and why the pair is
 * right, is src/hv/kvm/guest/pv-flush.ts. Runs on the owning vCPU's worker, before any guest code.
 */
import type { BackendContext } from '../../backend.js';
import { KVM_VCPU_FLUSH_TLB } from '../../../hw/pvclock.js';
import { takeOnLoad } from '../../../hw/steal-time.js';
import { TraceKind } from '../../../stats/trace-buffer.js';

/**
 * The host half, installed as this vCPU's resume hook: take the preempted byte and flush the
 * whole TLB if a guest left a FLUSH_TLB request while this vCPU was preempted. Owning vCPU only.
 */
export function installFlushOnLoad(ctx: BackendContext, stats: { flushedOnLoad: number }): void {
  const { hw } = ctx;
  hw.onResume(() => {
    // ORDERING: the exchange pairs with initiators' requestFlush compare-exchange.
    if ((takeOnLoad(hw.machineWords, hw.cpu) & KVM_VCPU_FLUSH_TLB) === 0) return;
    // Injected fault: the request is taken and forgotten; the vCPU runs on with its old entries.
    if (ctx.faults?.skipFlushOnLoad === true) return;
    const trace = hw.trace;
    const t0 = trace !== null ? trace.now() : 0;
    hw.tlb.flushAllIncludingGlobal();
    hw.cost.charge('flushGlobal');
    stats.flushedOnLoad++;
    // --trace: the FLUSH_TLB a preempted vCPU was left, done as it is loaded again.
    if (trace !== null) trace.span(TraceKind.ResumeFlush, t0, trace.now(), 1, 0, 0);
  });
}
