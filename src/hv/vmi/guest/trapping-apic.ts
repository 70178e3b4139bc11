/**
 * pv_apic_ops for a hypervisor that emulates the local APIC by trapping (VMI's APICRead and
 * APICWrite ROM calls; a shadow-paging VMM without APIC virtualisation): every register read
 * exits, and so does every write to ICR (low), the write that sends an IPI. The register's
 * effect is then the native one. Shared by the vmi and shadow backends. vCPU worker.
 *
 * Modelling choice: only the ICR write of an IPI exits, not the ICR2 (destination) write before
 * it nor EOI writes. A send costs one exit per destination, which is what separates these
 * backends from KVM's PV send-IPI (one exit per mask) in a shootdown; EOI exits are left out so
 * that interrupt handling costs the same as natively and comparisons isolate the send side.
 */
import type { BackendContext } from '../../backend.js';
import { VmExitReason } from '../../../hw/cost.js';
import type { PvApicOps, PvOps } from '../../../pv/ops.js';
import { APIC_ICR, APIC_ICR2, SET_APIC_DEST_FIELD } from '../../../hw/apic.js';

export function trappingApic(ctx: BackendContext, native: PvOps): Partial<PvApicOps> {
  const { cost } = ctx.hw;
  const nativeWrite = native.apic.apicWrite;
  const nativeRead = native.apic.apicRead;
  const write = (reg: number, value: number): void => {
    if (reg === APIC_ICR) cost.trap(VmExitReason.Apic);
    nativeWrite(reg, value);
  };
  return {
    apicWrite: write,
    apicRead: (reg) => {
      cost.trap(VmExitReason.Apic);
      return nativeRead(reg);
    },
    // send_IPI_mask_sequence through the trapping write: one ICR exit per destination.
    sendIpiMask: (mask, vector) => {
      for (let c = mask.next(0); c >= 0; c = mask.next(c + 1)) {
        write(APIC_ICR2, SET_APIC_DEST_FIELD(c));
        write(APIC_ICR, vector);
      }
    },
  };
}
