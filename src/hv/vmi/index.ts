/**
 * The VMI backend (VMware's Virtual Machine Interface ROM, Linux 2.6.21 to 2.6.36): the guest's
 * page tables are its own memory and the hardware walks them, but every page-table store is
 * followed by a trapping UpdatePxE notify (deferrable to the next flush with pte_update_defer,
 * queued in lazy mode); flushes and CR3 loads are trapping ROM calls; remote flushes are the
 * kernel's native IPIs, whose ICR writes trap. vCPU worker (create runs at boot).
 */
import type { Backend, BackendContext, PvOverrides } from '../backend.js';
import type { PvInfo, PvOps } from '../../pv/ops.js';
import { vmiMisc, vmiMmu } from './guest/mmu.js';
import { VmiRom } from './hypervisor/rom.js';
import { trappingApic } from './guest/trapping-apic.js';

/** vmi_32.c's activate_vmi: paravirt_enabled = 1; the kernel keeps ring 0 and shared kernel PMDs. */
const vmiInfo: PvInfo = Object.freeze({
  name: 'VMI',
  paravirtEnabled: true,
  kernelRpl: 0,
  sharedKernelPmd: true,
});

/** This vCPU's overrides and its ROM (whose stats tests read). */
export function createVmi(ctx: BackendContext, native: PvOps): { overrides: PvOverrides; rom: VmiRom } {
  const rom = new VmiRom(ctx.hw.cost);
  const overrides: PvOverrides = {
    info: vmiInfo,
    init: { banner: () => `Booting paravirtualized kernel on ${vmiInfo.name}` },
    misc: vmiMisc(rom),
    apic: trappingApic(ctx, native),
    mmu: vmiMmu(ctx, native, rom),
  };
  return { overrides, rom };
}

export const vmiBackend: Backend = Object.freeze({
  name: 'vmi',
  description: 'VMI ROM: PTE writes followed by trapping UpdatePxE notifies, deferrable to the next flush; native IPIs with trapping ICR writes',
  create: (ctx: BackendContext, native: PvOps) => createVmi(ctx, native).overrides,
});
