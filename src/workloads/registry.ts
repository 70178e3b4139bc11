/**
 * The workloads pvemu knows, by name. Any thread (workers look their workload up here).
 */
import type { Workload } from './workload.js';
import { tlbFlush1, tlbFlush2, tlbFlush3 } from './tlb-flush.js';
import { mprotectWorkload } from './mprotect.js';
import { unmapWorkload } from './unmap.js';
import { idleWorkload } from './idle.js';
import { touchWorkload } from './touch.js';
import { membarrierWorkload } from './membarrier.js';
import { ebizzyWorkload } from './ebizzy.js';
import { forkCowWorkload } from './fork-cow.js';
import { vmallocWorkload } from './vmalloc.js';
import { ctxswitchWorkload } from './ctxswitch.js';
import { hostileWorkload } from './hostile.js';

export const workloads: Readonly<Record<string, Workload>> = Object.freeze({
  tlb_flush1: tlbFlush1,
  tlb_flush2: tlbFlush2,
  tlb_flush3: tlbFlush3,
  mprotect: mprotectWorkload,
  munmap: unmapWorkload,
  idle: idleWorkload,
  touch: touchWorkload,
  membarrier: membarrierWorkload,
  ebizzy: ebizzyWorkload,
  fork_cow: forkCowWorkload,
  vmalloc: vmallocWorkload,
  ctxswitch: ctxswitchWorkload,
  hostile: hostileWorkload,
});

export interface WorkloadInfo {
  name: string;
  description: string;
  /** "name=default (min..max): description" for each parameter. */
  params: string[];
}

export function describeWorkloads(): WorkloadInfo[] {
  return Object.values(workloads).map((w) => ({
    name: w.name,
    description: w.description,
    params: w.params.map((p) => `${p.name}=${p.default} (${p.min}..${p.max}): ${p.description}`),
  }));
}

export function findWorkload(name: string): Workload | undefined {
  return Object.hasOwn(workloads, name) ? workloads[name] : undefined;
}
