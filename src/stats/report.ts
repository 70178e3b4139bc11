/**
 * The report of one run: the same plain object the CLI prints as a table and writes as JSON,
 * and the library hands back from `Machine.run()`. Built on the main thread from a RunResult
 * (the vCPU workers' counter snapshots and encoded latency histograms).
 */
import { availableParallelism } from 'node:os';
import type { MachineConfig } from '../machine/config.js';
import type { RunResult } from '../machine/result.js';
import { formatBytes } from '../hw/memory.js';
import { sumCounters, type CounterSnapshot } from './counters.js';
import { LatencyHistogram, type LatencyPercentiles } from './histogram.js';

/** Latency percentiles in whole host ns (0 when nothing was recorded). */
export interface LatencySummaryNs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The host a run measured on: latencies mean little without it. */
export interface HostInfo {
  /** Node version, as `process.version` gives it ("v20.20.2"). */
  node: string;
  platform: string;
  arch: string;
  /** Host CPUs available to this process (os.availableParallelism). */
  cores: number;
}

export interface CpuReport {
  cpu: number;
  ops: number;
  shootdowns: number;
  ipisSent: number;
  ipisHandled: number;
  flushRequestsHandled: number;
  tlbHits: number;
  tlbMisses: number;
  faults: number;
  halts: number;
  contextSwitches: number;
  shootdownLatencyNs: { p50: number; p99: number };
}

export interface Report {
  backend: string;
  cpus: number;
  workload: string;
  /** Elapsed host time of the workload, in seconds (from RunResult.elapsedNs). */
  seconds: number;
  /** Workload operations completed, all CPUs. */
  ops: number;
  /** ops / seconds; 0 when no time elapsed. */
  opsPerSec: number;
  shootdowns: {
    /** Calls of flushTlbOthers. */
    count: number;
    /** CPUs named in those calls' masks, summed. */
    targets: number;
    /** IPIs sent for them. */
    ipis: number;
    /** Targets left to flush at their next switch-in (lazy or preempted). */
    deferred: number;
    /** Initiator critical path, flushTlbOthers entry to return. */
    latencyNs: LatencySummaryNs;
  };
  /** Target side: one remote flush request from dequeue to acknowledgement. */
  flushHandlerNs: LatencySummaryNs;
  /** smp_call_function_many round trips (queue, IPI, handle, acknowledge), host ns. */
  smpCallNs: LatencySummaryNs;
  tlb: { hits: number; misses: number; walks: number; flushesFull: number; flushesSingle: number; flushesGlobal: number };
  ipis: { sent: number; handled: number };
  /** Page faults of every kind. */
  faults: number;
  faultsDetail: { demandZero: number; segv: number };
  syscalls: number;
  contextSwitches: number;
  timerInterrupts: number;
  selfCheck: { passed: boolean; message: string };
  exitStatus: number;
  perCpu: CpuReport[];
  /** Every counter summed over all CPUs, including those without a field above. */
  counters: CounterSnapshot;
  host: HostInfo;
  config: {
    memBytes: number;
    hz: number;
    watchdogMs: number;
    seconds?: number;
    ops?: number;
    params?: Record<string, number>;
  };
}

export function hostInfo(): HostInfo {
  return { node: process.version, platform: process.platform, arch: process.arch, cores: availableParallelism() };
}

function summary(p: LatencyPercentiles): LatencySummaryNs {
  return { p50: Math.round(p.p50), p90: Math.round(p.p90), p99: Math.round(p.p99), max: Math.round(p.max) };
}

export function buildReport(config: MachineConfig, result: RunResult, host: HostInfo = hostInfo()): Report {
  const perCpuSnapshots = [...result.perCpu].sort((a, b) => a.cpu - b.cpu);
  const total = sumCounters(perCpuSnapshots.map((s) => s.counters));
  const shootdownAll = new LatencyHistogram();
  const handlerAll = new LatencyHistogram();
  const smpCallAll = new LatencyHistogram();
  const perCpu: CpuReport[] = perCpuSnapshots.map((s) => {
    const shootdown = LatencyHistogram.decode(s.shootdownLatency);
    shootdownAll.add(shootdown);
    handlerAll.add(LatencyHistogram.decode(s.flushHandlerLatency));
    smpCallAll.add(LatencyHistogram.decode(s.smpCallLatency));
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
    },
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
    ipis: { sent: total.ipisSent, handled: total.ipisHandled },
    faults: total.pageFaults,
    faultsDetail: { demandZero: total.faultsDemandZero, segv: total.faultsSegv },
    syscalls: total.syscalls,
    contextSwitches: total.contextSwitches,
    timerInterrupts: total.timerInterrupts,
    selfCheck: { passed: result.selfCheck.passed, message: result.selfCheck.message },
    exitStatus: result.exitStatus,
    perCpu,
    counters: total,
    host,
    config: runConfig,
  };
}

// ---- the human table ---------------------------------------------------------------------

/** Host ns as µs with two decimals. */
function us(ns: number): string {
  return (ns / 1000).toFixed(2);
}

function latencyRow(l: LatencySummaryNs): string {
  return `${us(l.p50)} / ${us(l.p90)} / ${us(l.p99)} / ${us(l.max)}`;
}

/** Collapses a possibly multi-line message (a guest's or a check's) onto one table line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

/** Right-aligned columns, two spaces apart, header first. */
function columns(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatReport(r: Report): string {
  const check = `${r.selfCheck.passed ? 'PASS' : 'FAIL'}${r.selfCheck.message ? `: ${oneLine(r.selfCheck.message)}` : ''}`;
  const rows: [string, string][] = [
    ['elapsed (s)', r.seconds.toFixed(3)],
    ['ops', `${r.ops}`],
    ['ops/s', r.opsPerSec.toFixed(1)],
    ['shootdowns (count, targets, IPIs, deferred)', `${r.shootdowns.count}, ${r.shootdowns.targets}, ${r.shootdowns.ipis}, ${r.shootdowns.deferred}`],
    ['shootdown latency p50/p90/p99/max (µs)', latencyRow(r.shootdowns.latencyNs)],
    ['flush handler p50/p90/p99/max (µs)', latencyRow(r.flushHandlerNs)],
    ['smp call round trip p50/p90/p99/max (µs)', latencyRow(r.smpCallNs)],
    ['TLB (hits, misses, walks)', `${r.tlb.hits}, ${r.tlb.misses}, ${r.tlb.walks}`],
    ['TLB flushes (full, single, global)', `${r.tlb.flushesFull}, ${r.tlb.flushesSingle}, ${r.tlb.flushesGlobal}`],
    ['IPIs (sent, handled)', `${r.ipis.sent}, ${r.ipis.handled}`],
    ['faults (total, demand-zero, SIGSEGV)', `${r.faults}, ${r.faultsDetail.demandZero}, ${r.faultsDetail.segv}`],
    ['syscalls, context switches, timer IRQs', `${r.syscalls}, ${r.contextSwitches}, ${r.timerInterrupts}`],
    ['self-check', check],
    ['exit status', `${r.exitStatus}`],
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `backend ${r.backend}, workload ${r.workload}, ${r.cpus} vCPU${r.cpus === 1 ? '' : 's'}` +
      ` (${formatBytes(r.config.memBytes)} RAM, ${r.config.hz} Hz; host ${r.host.platform}/${r.host.arch},` +
      ` ${r.host.cores} cores, Node ${r.host.node})`,
    ...rows.map(([label, value]) => `  ${label.padEnd(labelWidth)}  ${value}`),
    '',
    ...columns(
      ['cpu', 'ops', 'shootdowns', 'IPIs sent', 'IPIs handled', 'flush reqs', 'TLB hits', 'TLB misses', 'faults', 'halts', 'ctx sw', 'p50 µs', 'p99 µs'],
      r.perCpu.map((c) => [
        `${c.cpu}`,
        `${c.ops}`,
        `${c.shootdowns}`,
        `${c.ipisSent}`,
        `${c.ipisHandled}`,
        `${c.flushRequestsHandled}`,
        `${c.tlbHits}`,
        `${c.tlbMisses}`,
        `${c.faults}`,
        `${c.halts}`,
        `${c.contextSwitches}`,
        us(c.shootdownLatencyNs.p50),
        us(c.shootdownLatencyNs.p99),
      ]),
    ).map((l) => `  ${l}`),
  ];
  return `${lines.join('\n')}\n`;
}
