/**
 * pvemu as a library: create a machine, run a workload, get the report the CLI prints.
 *
 *   import { defaultConfig, runReport } from 'pvemu';
 *   const report = await runReport({ ...defaultConfig(), cpus: 2, workload: 'tlb_flush1' });
 */
export { Machine, waitPolicyFor } from './machine/machine.js';
export { defaultConfig, type MachineConfig } from './machine/config.js';
export { MAX_CPUS } from './lib/limits.js';
export type { RunResult } from './machine/result.js';
export { backends, describeBackends, findBackend } from './hv/registry.js';
export type { Backend, BackendContext, PvOverrides } from './hv/backend.js';
export { HvLock } from './hv/hv-lock.js';
export { TakeWhileWaiting, VcpuWait, waitPolicy, type WaitPolicy, type WaitSite } from './hw/wait.js';
export { workloads, describeWorkloads, findWorkload } from './workloads/registry.js';
export type { Workload, WorkloadParam } from './workloads/workload.js';
export { buildReport, runReport } from './report/build.js';
export { formatReport } from './report/format.js';
export type { Report } from './report/types.js';
export * from './pv/ops.js';
export type { InterruptHandler } from './hw/cpu.js';
export { CpuMask } from './pv/cpumask.js';
export { bindPvGroup, PV_EXPORTS } from './pv/exports.js';
export * from './lib/errors.js';
export { checkConservation, type ConservationReport } from './machine/conservation.js';
