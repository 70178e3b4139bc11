import type { CpuReport, CyclesSummary, HostInfo, HypervisorReport, LatencySummaryNs, Report } from './types.js';
import { LatencyHistogram, type LatencyPercentiles } from '../stats/histogram.js';
import { type CounterSnapshot, sumCounters } from '../stats/counters.js';
import type { MachineConfig } from '../machine/config.js';
import type { RunResult } from '../machine/result.js';
import type { ConservationReport } from '../machine/conservation.js';
import { Machine } from '../machine/machine.js';
/**
 * Building the report (src/report/types.ts) from a RunResult: the vCPU workers' counter
 * snapshots and encoded latency and modelled-cycle histograms, summed and summarised. Main thread.
 */
import { availableParallelism } from 'node:os';
import { mergeCostTable } from '../hw/cost.js';
export function hostInfo(): HostInfo {
  return { node: process.version, platform: process.platform, arch: process.arch, cores: availableParallelism() };
}

function summary(p: LatencyPercentiles): LatencySummaryNs {
  return { p50: Math.round(p.p50), p90: Math.round(p.p90), p99: Math.round(p.p99), max: Math.round(p.max) };
}

function cyclesSummary(p: LatencyPercentiles): CyclesSummary {
  return { p50: Math.round(p.p50), p99: Math.round(p.p99), mean: Math.round(p.mean) };
}

function hypervisorReport(c: CounterSnapshot): HypervisorReport {
  return {
    traps: c.traps,
    hypercalls: c.hypercalls,
    hypercallEntries: c.hypercallEntries,
    vmexits: {
      hypercall: c.vmexitHypercall,
      cr3: c.vmexitCr3,
      invlpg: c.vmexitInvlpg,
      apic: c.vmexitApic,
      ptWrite: c.vmexitPtWrite,
      hiddenFault: c.vmexitHiddenFault,
      halt: c.vmexitHalt,
      preemption: c.vmexitPreemption,
    },
    rejected: c.rejected,
    deferredFlushes: c.deferredFlushes,
    shadowSyncs: c.shadowSyncs,
    hiddenFaults: c.hiddenFaults,
  };
}

export function buildReport(
  config: MachineConfig,
  result: RunResult,
  host: HostInfo = hostInfo(),
  conservation: ConservationReport | undefined = result.conservation,
): Report {
  const perCpuSnapshots = [...result.perCpu].sort((a, b) => a.cpu - b.cpu);
  const total = sumCounters(perCpuSnapshots.map((s) => s.counters));
  const shootdownAll = new LatencyHistogram();
  const handlerAll = new LatencyHistogram();
  const smpCallAll = new LatencyHistogram();
  const cyclesAll = new LatencyHistogram();
  const perCpu: CpuReport[] = perCpuSnapshots.map((s) => {
    const shootdown = LatencyHistogram.decode(s.shootdownLatency);
    shootdownAll.add(shootdown);
    handlerAll.add(LatencyHistogram.decode(s.flushHandlerLatency));
    smpCallAll.add(LatencyHistogram.decode(s.smpCallLatency));
    cyclesAll.add(LatencyHistogram.decode(s.shootdownCycles));
    const p = shootdown.percentiles();
    const c = s.counters;
    return {
      cpu: s.cpu,
      ops: c.ops,
      shootdowns: c.shootdowns,
      ipisSent: c.ipisSent,
      ipisHandled: c.ipisHandled,
      flushRequestsHandled: c.flushRequestsHandled,
      tlbHits: c.tlbHits,
      tlbMisses: c.tlbMisses,
      faults: c.pageFaults,
      halts: c.halts,
      contextSwitches: c.contextSwitches,
      shootdownLatencyNs: { p50: Math.round(p.p50), p99: Math.round(p.p99) },
    };
  });

  const seconds = result.elapsedNs / 1e9;
  const runConfig: Report['config'] = { memBytes: config.memBytes, hz: config.hz, watchdogMs: config.watchdogMs };
  if (config.pcpus !== undefined) runConfig.pcpus = config.pcpus;
  if (config.costs !== undefined) runConfig.costs = mergeCostTable(config.costs, 'costs');
  if (config.seconds !== undefined) runConfig.seconds = config.seconds;
  if (config.ops !== undefined) runConfig.ops = config.ops;
  if (config.params !== undefined) runConfig.params = { ...config.params };

  return {
    backend: config.backend,
    cpus: config.cpus,
    workload: config.workload,
    seconds,
    ops: total.ops,
    opsPerSec: seconds > 0 ? total.ops / seconds : 0,
    shootdowns: {
      count: total.shootdowns,
      targets: total.shootdownTargets,
      ipis: total.shootdownIpis,
      deferred: total.shootdownDeferred,
      latencyNs: summary(shootdownAll.percentiles()),
      modeledCycles: cyclesSummary(cyclesAll.percentiles()),
    },
    modeledCycles: total.modeledCycles,
    hv: hypervisorReport(total),
    flushHandlerNs: summary(handlerAll.percentiles()),
    smpCallNs: summary(smpCallAll.percentiles()),
    tlb: {
      hits: total.tlbHits,
      misses: total.tlbMisses,
      walks: total.tlbWalks,
      flushesFull: total.tlbFlushesFull,
      flushesSingle: total.tlbFlushesSingle,
      flushesGlobal: total.tlbFlushesGlobal,
    },
    ipis: { sent: total.ipisSent, handled: total.ipisHandled, refused: total.ipiSendErrors },
    ...(conservation !== undefined ? { conservation } : {}),
    ...(config.check === true
      ? { check: { enabled: true, violations: total.coherenceViolations, first: [...(result.violations ?? [])] } }
      : {}),
    faults: total.pageFaults,
    faultsDetail: { demandZero: total.faultsDemandZero, segv: total.faultsSegv, machineChecks: total.machineChecks, sigbus: total.faultsSigbus },
    syscalls: total.syscalls,
    contextSwitches: total.contextSwitches,
    timerInterrupts: total.timerInterrupts,
    selfCheck: { passed: result.selfCheck.passed, message: result.selfCheck.message },
    ...(result.interrupted !== undefined ? { interrupted: { signal: result.interrupted } } : {}),
    exitStatus: result.exitStatus,
    ...(config.program !== undefined ? { program: { stdout: result.stdout ?? '' } } : {}),
    ...(result.unknownSyscalls !== undefined ? { unknownSyscalls: { ...result.unknownSyscalls } } : {}),
    perCpu,
    counters: total,
    host,
    config: runConfig,
  };
}

/** Boot a machine with `config`, run it, and report: what `pvemu run` prints, as an object. */
export async function runReport(config: MachineConfig): Promise<Report> {
  const machine = new Machine(config);
  return buildReport(machine.config, await machine.run());
}
