import type { CpuReport, CyclesSummary, HostInfo, HypervisorReport, LatencySummaryNs, Report } from './types.js';
import { LatencyHistogram, type LatencyPercentiles } from '../stats/histogram.js';
import { type CounterSnapshot, sumCounters } from '../stats/counters.js';
import { checkMode, runSeed, type MachineConfig } from '../machine/config.js';
import type { RunResult } from '../machine/result.js';
import type { ConservationReport } from '../machine/conservation.js';
import { Machine } from '../machine/machine.js';
/**
 * Building the report (src/report/types.ts) from a RunResult: the vCPU workers' counter
 * snapshots and encoded latency and modelled-cycle histograms, summed and summarised. Main thread.
 */
import { createHash } from 'node:crypto';
import { availableParallelism, cpus as hostCpus } from 'node:os';
import { defaultCostTable, mergeCostTable } from '../hw/cost.js';
import { pvemuVersion } from '../lib/version.js';
import { findWorkload } from '../workloads/registry.js';
import { hostUsageReport } from './host-usage.js';
import * as unistd from '../uapi/unistd.js';
import type { SyscallCost } from '../kernel/syscalls.js';

export function hostInfo(): HostInfo {
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cores: availableParallelism(),
    cpuModel: hostCpus()[0]?.model.trim() ?? 'unknown',
  };
}

/** The run's whole configuration, defaults filled in (Report['config']). */
function runConfig(config: MachineConfig): Report['config'] {
  const workload = config.program === undefined ? findWorkload(config.workload) : undefined;
  const params: Record<string, number> = {};
  for (const p of workload?.params ?? []) params[p.name] = p.default;
  Object.assign(params, config.params);
  const c: Report['config'] = {
    memBytes: config.memBytes,
    hz: config.hz,
    watchdogMs: config.watchdogMs,
    costs: config.costs === undefined ? defaultCostTable() : mergeCostTable(config.costs, 'costs'),
    costsGiven: config.costs !== undefined,
    params,
    check: checkMode(config) !== 'off',
    ...(checkMode(config) === 'count' ? { checkCount: true } : {}),
    trace: config.trace === true,
    clock: config.clock ?? 'host',
  };
  if (config.pcpus !== undefined) c.pcpus = config.pcpus;
  const seed = runSeed(config);
  if (seed !== null) c.seed = seed;
  if (config.seconds !== undefined) c.seconds = config.seconds;
  if (config.ops !== undefined) c.ops = config.ops;
  if (config.trace === true && config.traceEvents !== undefined) c.traceEvents = config.traceEvents;
  const program = config.program;
  if (program !== undefined) {
    const sha256 = createHash('sha256').update(program.bytes).digest('hex');
    c.program = { name: program.name, sha256, argv: [...program.argv], envp: [...program.envp] };
  }
  return c;
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

/** System call names by number, from the kernel's table (SYS_munmap -> 215 -> "munmap"). */
const SYSCALL_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(unistd).filter(([k, v]) => k.startsWith('SYS_') && typeof v === 'number').map(([k, v]) => [v as number, k.slice(4)]),
);

function namedSyscallCosts(costs: Record<string, SyscallCost>): Record<string, SyscallCost & { name: string }> {
  return Object.fromEntries(Object.entries(costs).map(([nr, c]) => [nr, { name: SYSCALL_NAMES.get(Number(nr)) ?? `syscall ${nr}`, ...c }]));
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
  const deliveryAll = new LatencyHistogram();
  let stealNs = 0;
  const perCpu: CpuReport[] = perCpuSnapshots.map((s) => {
    const shootdown = LatencyHistogram.decode(s.shootdownLatency);
    shootdownAll.add(shootdown);
    handlerAll.add(LatencyHistogram.decode(s.flushHandlerLatency));
    smpCallAll.add(LatencyHistogram.decode(s.smpCallLatency));
    cyclesAll.add(LatencyHistogram.decode(s.shootdownCycles));
    if (s.ipiDeliveryLatency !== undefined) deliveryAll.add(LatencyHistogram.decode(s.ipiDeliveryLatency));
    stealNs += s.stealNs ?? 0;
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
  return {
    pvemu: pvemuVersion(),
    date: result.host?.startedAt ?? new Date().toISOString(),
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
    ...(config.clock === 'virtual' ? { ipiDeliveryNs: summary(deliveryAll.percentiles()) } : {}),
    stealNs,
    tlb: {
      hits: total.tlbHits,
      misses: total.tlbMisses,
      walks: total.tlbWalks,
      flushesFull: total.tlbFlushesFull,
      flushesSingle: total.tlbFlushesSingle,
      flushesGlobal: total.tlbFlushesGlobal,
    },
    ipis: { sent: total.ipisSent, handled: total.ipisHandled, coalesced: total.ipisCoalesced, refused: total.ipiSendErrors },
    ...(conservation !== undefined ? { conservation } : {}),
    ...(checkMode(config) !== 'off'
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
    ...(config.program !== undefined ? { program: { stdout: result.stdout ?? '', stderr: result.stderr ?? '' } } : {}),
    ...(result.unknownSyscalls !== undefined ? { unknownSyscalls: { ...result.unknownSyscalls } } : {}),
    ...(result.syscallCosts !== undefined ? { bySyscall: namedSyscallCosts(result.syscallCosts) } : {}),
    perCpu,
    counters: total,
    host,
    ...(result.host !== undefined ? { hostUsage: hostUsageReport(result.host, perCpuSnapshots, config, host.cores) } : {}),
    config: runConfig(config),
  };
}

/** Boot a machine with `config`, run it, and report: what `pvemu run` prints, as an object. */
export async function runReport(config: MachineConfig): Promise<Report> {
  const machine = new Machine(config);
  return buildReport(machine.config, await machine.run());
}
