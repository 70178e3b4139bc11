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
export { backends, describeBackends, findBackend, type BackendInfo } from './hv/registry.js';
export type { Backend, BackendContext, PvOverrides } from './hv/backend.js';
export { HvLock } from './hv/hv-lock.js';
export { TakeWhileWaiting, VcpuWait, waitPolicy, type WaitPolicy, type WaitSite } from './hw/wait.js';
export { workloads, describeWorkloads, findWorkload, type WorkloadInfo } from './workloads/registry.js';
export type { Workload, WorkloadParam } from './workloads/workload.js';
export { buildReport, runReport } from './report/build.js';
export { formatReport } from './report/format.js';
export { runComparison, formatComparison, comparisonJson, formatProgramOutputs } from './report/compare.js';
export { writeTraceFile } from './report/trace.js';
export type { ComparisonEntry, RunFailure } from './report/types.js';
export { COST_KEYS, DEFAULT_COSTS, defaultCostTable, mergeCostTable, parseCostTable, type CostKey, type CostTable } from './hw/cost.js';
export { loadProgram } from './machine/program-args.js';
export type { ProgramImage } from './vcpu/task-args.js';
export type { HostInfo, HostUsageReport, Report } from './report/types.js';
export { pvemuVersion, versionLine, type PvemuVersion } from './lib/version.js';
export * from './pv/ops.js';
export type { InterruptHandler } from './hw/cpu.js';
export { CpuMask } from './pv/cpumask.js';
export { bindPvGroup, PV_EXPORTS } from './pv/exports.js';
export * from './lib/errors.js';
export { checkConservation, type ConservationReport } from './machine/conservation.js';
