/**
 * KVM's pv_apic_ops: the local APIC is the hypervisor's, so register writes exit — except the
 * two KVM made paravirtual. vCPU worker.
 *
 * - PV send-IPI (KVM_HC_SEND_IPI = 10, commit 4180bf1b655a): send_IPI_mask is one hypercall
 *   carrying the destination bitmap; the host raises the vector on every destination. One exit
 *   for the whole mask, where native ICR writes cost one exit per destination.
 * - PV EOI (commit ae7a2a3fb6f8): the guest clears a flag word the host set at injection and
 *   skips the EOI write, so an EOI costs no exit. pvemu's EOI never needs the host (no level-
 *   triggered interrupts), so the guest always takes the fast path: the native EOI, no exit.
 * - Every other write exits (VmExitReason.Apic) and then has its native effect. The ICR write
 *   is priced as x2APIC's one WRMSR of the 64-bit ICR: the ICR2 (destination) half does not
 *   exit on its own, so a native send costs one exit per destination, as for the trapping
 *   backends. Reads do not exit: KVM's APIC register page (TPR shadow, APICv) serves them.
 */
import type { BackendContext } from '../../backend.js';
import { VmExitReason } from '../../../hw/cost.js';
import type { PvApicOps, PvOps } from '../../../pv/ops.js';
import { APIC_EOI, APIC_ICR2 } from '../../../hw/apic.js';
import { armLapicTimer } from '../../native/apic.js';

/** KVM_HC_SEND_IPI (include/uapi/linux/kvm_para.h). */
export const KVM_HC_SEND_IPI = 10;

export function kvmApic(ctx: BackendContext, native: PvOps): Partial<PvApicOps> {
  const { hw } = ctx;
  const nativeWrite = native.apic.apicWrite;
  const write = (reg: number, value: number): void => {
    if (reg !== APIC_EOI && reg !== APIC_ICR2) hw.cost.vmexit(VmExitReason.Apic);
    nativeWrite(reg, value);
  };
  // The LAPIC timer programmed through the exiting writes (native's own does not go through apicWrite).
  const armTimer = (hz: number): void => armLapicTimer(write, hz);
  return {
    apicWrite: write,
    // kvm_send_ipi_mask: one KVM_HC_SEND_IPI for the whole mask (pvemu's cpumask fits the
    // hypercall's 128-bit bitmap, so never more than one).
    sendIpiMask: (mask, vector) => {
      const dests = mask.count();
      if (dests === 0) return;
      hw.cost.hypercall(dests);
      // kvm_pv_send_ipi skips APIC ids no vCPU has and returns the count it delivered.
      for (let c = mask.next(0); c >= 0; c = mask.next(c + 1)) {
        if (c >= hw.cpus) {
          hw.counters.ipiSendErrors++;
          continue;
        }
        hw.bus.raise(c, vector, true);
        hw.counters.ipisSent++;
      }
    },
    setupBootClock: armTimer,
    setupSecondaryClock: armTimer,
  };
}
