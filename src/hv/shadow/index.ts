/**
 * The shadow-paging backend: an unmodified-style guest whose page-table pages the hypervisor
 * write-protects. Every guest page-table store traps and resyncs the hypervisor's shadow tables,
 * which are what the hardware walks; CR3 loads and INVLPG trap; a shadow miss the guest allows
 * is a hidden fault. Remote flushes are native IPIs whose ICR writes trap. The shadow tables
 * live in RAM the hypervisor reserves above what memory_setup gives the kernel.
 * vCPU worker (create runs at boot); stateBytes on the main thread.
 */
import type { Backend, BackendContext, PvOverrides } from '../backend.js';
import type { PvInitOps, PvOps } from '../../pv/ops.js';
import { formatBytes } from '../../hw/memory.js';
import { trappingApic } from '../vmi/guest/trapping-apic.js';
import { ShadowLayout } from './hypervisor/layout.js';
import { ShadowVcpu, shadowMmu } from './guest/mmu.js';
import { ShadowTables } from './hypervisor/tables.js';
import { InternalError } from '../../lib/errors.js';
import { VcpuWait } from '../../hw/wait.js';

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

function shadowInit(layout: ShadowLayout): Partial<PvInitOps> {
  return {
    // e820: the kernel gets RAM below the shadow pool; the pool is reserved.
    memorySetup: () => ({
      usableBytes: layout.usableBytes,
      description:
        `BIOS-provided physical RAM map: ${hex(0)} - ${hex(layout.usableBytes)} (usable, ${formatBytes(layout.usableBytes)}); ` +
        `${hex(layout.usableBytes)} - ${hex(layout.ramBytes)} (reserved: shadow page tables, ${formatBytes(layout.ramBytes - layout.usableBytes)})`,
    }),
    banner: () => 'Booting paravirtualized kernel on shadow paging',
  };
}

/** This vCPU's overrides and the shadow MMU behind them (tests inspect it). */
export function createShadow(ctx: BackendContext, native: PvOps): { overrides: PvOverrides; tables: ShadowTables; vcpu: ShadowVcpu } {
  const { hw } = ctx;
  const layout = new ShadowLayout(hw.ram.size, hw.cpus);
  if (ctx.hvState.byteLength < layout.words * 4) {
    throw new InternalError(`shadow paging: hypervisor state is ${ctx.hvState.byteLength} bytes, needs ${layout.words * 4}`);
  }
  // The guest's physical memory ends where the pool begins: a guest entry naming a pool frame
  // (or one past RAM) faults like a non-existent frame (a machine check), never reaching it.
  hw.mmu.setGuestFrames(layout.poolFirst);
  const tables = new ShadowTables(hw, new Int32Array(ctx.hvState), layout, new VcpuWait(hw, ctx.wait));
  const vcpu = new ShadowVcpu();
  const overrides: PvOverrides = {
    info: { name: 'shadow paging', paravirtEnabled: false, kernelRpl: 0, sharedKernelPmd: true },
    init: shadowInit(layout),
    apic: trappingApic(ctx, native),
    mmu: shadowMmu(ctx, native, tables, vcpu),
  };
  return { overrides, tables, vcpu };
}

export const shadowBackend: Backend = Object.freeze({
  name: 'shadow',
  description: 'shadow paging: write-protected guest tables trap into shadow updates; CR3 and INVLPG trap; hidden faults fill the shadow',
  create: (ctx: BackendContext, native: PvOps) => createShadow(ctx, native).overrides,
  stateBytes: (ramBytes: number, cpus: number) => new ShadowLayout(ramBytes, cpus).words * 4,
});
