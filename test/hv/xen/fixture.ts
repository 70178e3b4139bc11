/**
 * A small Xen machine for unit tests without threads: 16 MiB of guest RAM, a machine block and
 * one hvState shared by `cpus` vCPUs' hardware, all on the test's thread. Page tables are built
 * by writing RAM directly (as the guest writes unpinned tables) and pinned through the hypercalls.
 */
import { VcpuHardware } from '../../../src/hw/cpu.js';
import { machineBlockBytes } from '../../../src/hw/layout.js';
import { GuestRam } from '../../../src/hw/memory.js';
import { PAGE_SHIFT, PTE_P, PTE_RW, PTE_US, makePte } from '../../../src/hw/paging.js';
import type { Pfn, Paddr } from '../../../src/hw/types.js';
import { buildPvOps } from '../../../src/hv/bind.js';
import type { CpuMask } from '../../../src/pv/cpumask.js';
import type { FlushInfo, PvOps, GuestServices, MmRef } from '../../../src/pv/ops.js';
import { VcpuCounters } from '../../../src/stats/counters.js';
import type { BackendContext } from '../../../src/hv/backend.js';
import { createXenVcpu, xenBackend, type XenVcpu } from '../../../src/hv/xen/index.js';
import { XenHypervisor } from '../../../src/hv/xen/hypervisor/hypervisor.js';
import { FRAME, PGT_count_mask, PGT_pinned, PGT_TYPE_MASK } from '../../../src/hv/xen/hypervisor/layout.js';
import { testGuest, testWaitPolicy } from '../../helpers/hardware.js';
import { MM } from '../../../src/kernel/layout.js';
import type { WaitPolicy } from '../../../src/hw/wait.js';

export const RAM_BYTES = 16 * 1024 * 1024;
export const USER_RW = PTE_P | PTE_RW | PTE_US;
export const USER_RO = PTE_P | PTE_US;

export interface XenTestMachine {
  ram: GuestRam;
  machineWords: Int32Array;
  hvState: SharedArrayBuffer;
  hws: VcpuHardware[];
}

export function xenMachine(cpus = 2): XenTestMachine {
  const ram = new GuestRam(new SharedArrayBuffer(RAM_BYTES));
  const machineWords = new Int32Array(new SharedArrayBuffer(machineBlockBytes(cpus)));
  const hvState = new SharedArrayBuffer(xenBackend.stateBytes!(RAM_BYTES, cpus));
  const hws = Array.from({ length: cpus }, (_, cpu) => new VcpuHardware({ cpu, cpus, ram, machineWords, counters: new VcpuCounters() }));
  return { ram, machineWords, hvState, hws };
}

/** The hypervisor as vCPU `cpu` calls it (no pv ops). */
export function hypervisorOf(m: XenTestMachine, cpu: number): XenHypervisor {
  const hv = new XenHypervisor(m.hws[cpu]!, m.hvState, testWaitPolicy(2000));
  hv.flush.install();
  return hv;
}

/** What the kernel would lend: no native flush (Xen does its own), mm->pgd read from guest RAM. */
function guestOf(m: XenTestMachine): GuestServices {
  return testGuest({
    nativeFlushTlbOthers: (_m: CpuMask, _i: FlushInfo): void => {},
    pgdOf: (mm: MmRef) => Atomics.load(m.ram.i32, (mm >>> 2) + MM.pgd) as Paddr,
  });
}

/** vCPU `cpu`'s complete pv ops table on Xen, with the backend's own handle; `wait` is the run's wait policy. */
export function xenOpsOf(m: XenTestMachine, cpu: number, wait: WaitPolicy = testWaitPolicy(2000)): { ops: PvOps; xen: XenVcpu } {
  let xen: XenVcpu | undefined;
  const ctx: BackendContext = { hw: m.hws[cpu]!, guest: guestOf(m), hvState: m.hvState, wait };
  const ops = buildPvOps({ ...xenBackend, create: (c, native) => { xen = createXenVcpu(c, native); return xen.overrides; } }, ctx);
  return { ops, xen: xen! };
}

/** Write a page-table entry straight into RAM (an untyped table, as the guest writes it). */
export function poke(m: XenTestMachine, frame: number, index: number, value: number): void {
  m.ram.i32[(frame << (PAGE_SHIFT - 2)) + index] = value;
}

export function peek(m: XenTestMachine, frame: number, index: number): number {
  return Atomics.load(m.ram.i32, (frame << (PAGE_SHIFT - 2)) + index);
}

export const pte = (frame: number, flags: number): number => makePte(frame as Pfn, flags);

/** A frame's type, count and pinned flag as the hypervisor's frame table has them. */
export function frameState(hv: XenHypervisor, frame: number): { type: number; count: number; pinned: boolean } {
  const ti = hv.words[hv.layout.frameBase(frame) + FRAME.typeInfo]!;
  return { type: ti & PGT_TYPE_MASK, count: ti & PGT_count_mask, pinned: (ti & PGT_pinned) !== 0 };
}

/** Every word of hvState, for before/after comparisons. */
export function snapshot(m: XenTestMachine): Int32Array {
  return new Int32Array(m.hvState).slice();
}
