/**
 * The Xen-style direct-paging backend (docs/architecture.md, "Backends"): the guest's page tables are the
 * real ones, but every store into a validated table is a hypercall the hypervisor checks against
 * its frame table (types, counts, ownership); lazy MMU mode batches them 32 to a multicall;
 * address spaces are pinned before they are loaded; remote flushes are one mmuext_op that the
 * hypervisor carries out on the targets with no guest IPIs; IPIs are event-channel sends.
 * `create` runs on each vCPU's worker at boot.
 *
 *   index.ts                    the Backend: pv_info, pv_init_ops.memorySetup, event-channel IPIs, wiring
 *   abi.ts                      Xen's public constants (xen/include/public): what both sides agree on
 * The guest side (Linux's arch/x86/xen), calling in through hypercalls only:
 *   guest/mmu.ts                pv_mmu_ops / pv_misc_ops (Linux's xen/mmu.c)
 *   guest/pin.ts                pinning whole directories (xen_pgd_pin / xen_pgd_unpin)
 *   guest/multicall.ts          the per-CPU 32-entry multicall buffer
 * The hypervisor side (Xen itself), which never calls the guest side:
 *   hypervisor/hypervisor.ts    the hypercalls: mmu_update, mmuext_op, multicall, update_va_mapping, evtchn
 *   hypervisor/entry-update.ts  validated page-table stores (mod_l1_entry / mod_l2_entry), untyped stores
 *   hypervisor/mmuext.ts        mmuext_op's commands: pin, unpin, NEW_BASEPTR, local and remote flushes
 *   hypervisor/validate.ts      page-table validation (get_page_type and friends)
 *   hypervisor/frame-table.ts   per-frame type, count, pinned flag, owner; undo log
 *   hypervisor/remote-flush.ts  the hypervisor's flush mailboxes, HV_FLUSH handler and resume hook
 *   hypervisor/layout.ts        hvState's words;  hypervisor/audit.ts  its end-of-run laws
 * The frame-table and pin locks are HvLocks (src/hv/hv-lock.ts, shared with the shadow backend).
 *
 * pv_cpu_ops and pv_irq_ops stay native (a PV guest's event-channel mask makes cli/sti cheap
 * without a hypercall); cpuid reports the hypervisor bit.
 */
import type { Backend, BackendContext, PvOverrides } from '../backend.js';
import { nativeCpu } from '../native/cpu.js';
import { formatBytes } from '../../hw/memory.js';
import { PAGE_SHIFT } from '../../hw/paging.js';
import type { PvInfo, PvOps } from '../../pv/ops.js';
import { EVTCHNOP_send } from './abi.js';
import { auditXen } from './hypervisor/audit.js';
import { XenGuestMmu } from './guest/mmu.js';
import { XenHypervisor, ipiPort } from './hypervisor/hypervisor.js';
import { XEN_RESERVED_FRAMES, XenLayout } from './hypervisor/layout.js';

export const xenInfo: PvInfo = Object.freeze({
  name: 'Xen',
  paravirtEnabled: true,
  // The PV kernel runs in ring 1; Xen has ring 0.
  kernelRpl: 1,
  // True: pvemu's kernel shares its vmalloc-area page tables between every directory (they are
  // preallocated and copied into each pgd), as non-PAE i386 Xen guests shared kernel PMDs.
  sharedKernelPmd: true,
});

/** One vCPU's Xen backend: the hypervisor as it calls in, its guest-side MMU code, its overrides. */
export interface XenVcpu {
  readonly hypervisor: XenHypervisor;
  readonly guest: XenGuestMmu;
  readonly overrides: PvOverrides;
}

/** Build the backend for the vCPU `ctx.hw` (tests call this to reach the hypervisor too). */
export function createXenVcpu(ctx: BackendContext, _native: PvOps): XenVcpu {
  const { hw } = ctx;
  const hypervisor = new XenHypervisor(hw, ctx.hvState, ctx.wait, ctx.faults);
  hypervisor.flush.install();
  const guest = new XenGuestMmu(hw, hypervisor, ctx.guest);
  const layout = hypervisor.layout;
  // Xen's own frames are not the domain's: the hardware never translates to them for it.
  hw.mmu.setGuestFrames(layout.usableFrames);
  const paravirtCpu = nativeCpu(ctx, true);
  const overrides: PvOverrides = {
    info: xenInfo,
    init: {
      // The domain's memory: everything below the hypervisor's reserved frames.
      memorySetup: () => {
        const usableBytes = layout.usableFrames << PAGE_SHIFT;
        const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
        return {
          usableBytes,
          description:
            `Xen-provided physical RAM map: ${hex(0)} - ${hex(usableBytes)} (usable, ${formatBytes(usableBytes)}), ` +
            `${hex(usableBytes)} - ${hex(hw.ram.size)} (reserved for Xen, ${XEN_RESERVED_FRAMES} frames)`,
        };
      },
      banner: () => `Booting paravirtualized kernel on ${xenInfo.name}`,
    },
    misc: guest.misc(),
    cpu: { cpuid: paravirtCpu.cpuid },
    apic: {
      // Event channels: one EVTCHNOP_send hypercall per destination, raising the vector there.
      sendIpiMask: (mask, vector) => {
        guest.batch.flush();
        for (let c = mask.next(0); c >= 0; c = mask.next(c + 1)) {
          if (hypervisor.HYPERVISOR_event_channel_op(EVTCHNOP_send, ipiPort(c, vector)) === 0) hw.counters.ipisSent++;
          else {
            // -EINVAL: no such vCPU (the hypervisor counted the refusal).
            guest.kernelErrors++;
            hw.counters.ipiSendErrors++;
          }
        }
      },
    },
    mmu: guest.mmu(),
  };
  return { hypervisor, guest, overrides };
}

export const xenBackend: Backend = Object.freeze({
  name: 'xen',
  description: 'Xen PV direct paging: validated mmu_update/update_va_mapping, 32-entry multicall batching, hypervisor remote flush',
  create: (ctx: BackendContext, native: PvOps) => createXenVcpu(ctx, native).overrides,
  stateBytes: (ramBytes: number, cpus: number) => new XenLayout(ramBytes, cpus).bytes,
  audit: auditXen,
});
