/**
 * The native backend: bare hardware, the complete table every other backend falls back to.
 * vCPU worker (createNativeOps runs at boot).
 */
import type { Backend, BackendContext } from '../backend.js';
import type { PvOps } from '../../pv/ops.js';
import { nativeApic } from './apic.js';
import { nativeCpu } from './cpu.js';
import { nativeInfo } from './info.js';
import { nativeInit } from './init.js';
import { nativeIrq } from './irq.js';
import { nativeMisc } from './misc.js';
import { nativeMmu } from './mmu.js';
import { nativeTime } from './time.js';

/** The complete native table for one vCPU. */
export function createNativeOps(ctx: BackendContext): PvOps {
  return {
    info: nativeInfo,
    init: nativeInit(ctx),
    misc: nativeMisc(),
    time: nativeTime(ctx),
    cpu: nativeCpu(ctx),
    irq: nativeIrq(ctx),
    apic: nativeApic(ctx),
    mmu: nativeMmu(ctx),
  };
}

export const nativeBackend: Backend = Object.freeze({
  name: 'native',
  description: 'bare hardware: plain PTE stores, IPI shootdowns via APIC ICR writes, 2-level walks',
  create: () => ({}),
});
