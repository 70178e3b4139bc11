/**
 * The report of one run: the same plain object the CLI prints as a table and writes as JSON,
 * and the library hands back from `runReport(config)`. Built on the main thread from a RunResult
 * (the vCPU workers' counter snapshots and encoded latency and modelled-cycle histograms).
 * Also the one-table comparison of several backends' runs (`pvemu compare`). Main thread.
 */
import { availableParallelism } from 'node:os';
import { COST_KEYS, defaultCostTable, type CostTable } from '../hw/cost.js';
import type { MachineConfig } from '../machine/config.js';
import { Machine } from '../machine/machine.js';
import { conservationText, type ConservationReport } from '../machine/conservation.js';
import type { RunResult } from '../machine/result.js';
import type { CoherenceViolationReport } from '../vcpu/task-args.js';
import { formatBytes } from '../hw/memory.js';
import { sumCounters, type CounterSnapshot } from '../stats/counters.js';
import { LatencyHistogram, type LatencyPercentiles } from '../stats/histogram.js';

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

/** Modelled cycles of each shootdown: the initiator's own plus its slowest target's handling. */
export interface CyclesSummary {
  p50: number;
  p99: number;
  /** Rounded to whole cycles. */
  mean: number;
}

/** What the hypervisor did, all vCPUs (DESIGN.md section 7, lens 1); all 0 on native. */
export interface HypervisorReport {
  /** Trapping operations (privileged ops, write-protected page-table stores). */
  traps: number;
  hypercalls: number;
  /** Entries (PTE updates, flush targets) those hypercalls carried. */
  hypercallEntries: number;
  /** VM exits by reason; traps and hypercalls are among them. */
  vmexits: {
    hypercall: number;
    cr3: number;
    invlpg: number;
    apic: number;
    ptWrite: number;
    hiddenFault: number;
    halt: number;
    preemption: number;
  };
  /** Requests the hypervisor refused (validation). */
  rejected: number;
  /** Flushes owed to a vCPU that was not running, done when it next ran. */
  deferredFlushes: number;
  shadowSyncs: number;
  /** Shadow misses filled from the guest tables without the guest seeing a fault. */
  hiddenFaults: number;
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
    /** Modelled cycles per shootdown (cost table x events; 0 when there were none). */
    modeledCycles: CyclesSummary;
  };
  /** Modelled cycles of the whole run, all vCPUs (cost table x events). */
  modeledCycles: number;
  hv: HypervisorReport;
  /** Target side: one remote flush request from dequeue to acknowledgement. */
  flushHandlerNs: LatencySummaryNs;
  /** smp_call_function_many round trips (queue, IPI, handle, acknowledge), host ns. */
  smpCallNs: LatencySummaryNs;
  tlb: { hits: number; misses: number; walks: number; flushesFull: number; flushesSingle: number; flushesGlobal: number };
  /** IPIs sent and handled; `refused`: addressed to no CPU (APIC send errors), never sent. */
  ipis: { sent: number; handled: number; refused: number };
  /**
   * The conservation laws checked at the end of the run (src/machine/conservation.ts). Every
   * report from Machine.run() carries it (a run that violates one throws instead); absent only on
   * reports built from results without guest memory (unit tests, hand-made results).
   */
  conservation?: ConservationReport;
  /**
   * --check: the TLB coherence checker ran (absent when it did not). A run with violations
   * throws CoherenceError instead of reporting, so violations is 0 on a returned report.
   */
  check?: { enabled: boolean; violations: number; first: CoherenceViolationReport[] };
  /** Page faults of every kind. */
  faults: number;
  /**
   * `machineChecks`: user accesses to memory outside guest RAM (SIGBUS); `sigbus`: faults on a
   * file mapping past the end of its file (SIGBUS).
   */
  faultsDetail: { demandZero: number; segv: number; machineChecks: number; sigbus: number };
  syscalls: number;
  contextSwitches: number;
  timerInterrupts: number;
  selfCheck: { passed: boolean; message: string };
  exitStatus: number;
  /**
   * A --program run: ops are the instructions the program's harts retired (ops/s is guest
   * instructions per host second), and `stdout` is what it wrote to fd 1.
   */
  program?: { stdout: string };
  /** System calls answered -ENOSYS, count by number (absent: none). */
  unknownSyscalls?: Record<string, number>;
  perCpu: CpuReport[];
  /** Every counter summed over all CPUs, including those without a field above. */
  counters: CounterSnapshot;
  host: HostInfo;
  config: {
    memBytes: number;
    hz: number;
    watchdogMs: number;
    /** Physical CPUs of the overcommit scheduler, when given (absent: every vCPU runs). */
    pcpus?: number;
    /** The cost table the run was priced with, when the user gave one (absent: the defaults). */
    costs?: CostTable;
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
  if (config.costs !== undefined) runConfig.costs = { ...config.costs };
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
    exitStatus: result.exitStatus,
    ...(config.program !== undefined ? { program: { stdout: result.stdout ?? '' } } : {}),
    ...(result.unknownSyscalls !== undefined ? { unknownSyscalls: { ...result.unknownSyscalls } } : {}),
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

/**
 * Columns two spaces apart, header first: right-aligned (numbers) except the columns listed
 * in `left` (names and free text).
 */
function columns(header: readonly string[], rows: readonly (readonly string[])[], left: readonly number[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Modelled cycles as a whole number (a user's cost table may hold fractions). */
function cycles(n: number): string {
  return `${Math.round(n)}`;
}

/** VM exits: the total, then the reasons that occurred ("1200 (cr3 200, invlpg 1000)"). */
function vmexitsText(v: HypervisorReport['vmexits']): string {
  const reasons: [string, number][] = [
    ['hypercall', v.hypercall],
    ['cr3', v.cr3],
    ['invlpg', v.invlpg],
    ['apic', v.apic],
    ['pt-write', v.ptWrite],
    ['hidden-fault', v.hiddenFault],
    ['halt', v.halt],
    ['preemption', v.preemption],
  ];
  const total = reasons.reduce((n, [, count]) => n + count, 0);
  const seen = reasons.filter(([, count]) => count > 0).map(([name, count]) => `${name} ${count}`);
  return seen.length === 0 ? `${total}` : `${total} (${seen.join(', ')})`;
}

/** A user's cost table: the entries that differ from the defaults. */
function costsText(costs: CostTable): string {
  const defaults = defaultCostTable();
  const changed = COST_KEYS.filter((k) => costs[k] !== defaults[k]).map((k) => `${k} ${costs[k]}`);
  return changed.length === 0 ? 'given (same as the defaults)' : `given: ${changed.join(', ')} (others default)`;
}

/** One cell of the self-check column: PASS or FAIL with the message on one line. */
export function selfCheckText(check: Report['selfCheck']): string {
  return `${check.passed ? 'PASS' : 'FAIL'}${check.message ? `: ${oneLine(check.message)}` : ''}`;
}

export function formatReport(r: Report): string {
  const check = selfCheckText(r.selfCheck);
  const sdCycles = r.shootdowns.modeledCycles;
  const hv = r.hv;
  const rows: [string, string][] = [
    ['elapsed (s)', r.seconds.toFixed(3)],
    ['ops', r.program !== undefined ? `${r.ops} (instructions retired)` : `${r.ops}`],
    ['ops/s', r.opsPerSec.toFixed(1)],
    ['shootdowns (count, targets, IPIs, deferred)', `${r.shootdowns.count}, ${r.shootdowns.targets}, ${r.shootdowns.ipis}, ${r.shootdowns.deferred}`],
    ['shootdown latency p50/p90/p99/max (µs)', latencyRow(r.shootdowns.latencyNs)],
    ['modelled cycles/shootdown p50/p99 (mean)', `${sdCycles.p50} / ${sdCycles.p99} (${sdCycles.mean})`],
    ['flush handler p50/p90/p99/max (µs)', latencyRow(r.flushHandlerNs)],
    ['smp call round trip p50/p90/p99/max (µs)', latencyRow(r.smpCallNs)],
    ['TLB (hits, misses, walks)', `${r.tlb.hits}, ${r.tlb.misses}, ${r.tlb.walks}`],
    ['TLB flushes (full, single, global)', `${r.tlb.flushesFull}, ${r.tlb.flushesSingle}, ${r.tlb.flushesGlobal}`],
    ['IPIs (sent, handled, refused)', `${r.ipis.sent}, ${r.ipis.handled}, ${r.ipis.refused}`],
    ['faults (total, demand-zero, SIGSEGV, SIGBUS)', `${r.faults}, ${r.faultsDetail.demandZero}, ${r.faultsDetail.segv}, ${r.faultsDetail.machineChecks + r.faultsDetail.sigbus}`],
    ['syscalls, context switches, timer IRQs', `${r.syscalls}, ${r.contextSwitches}, ${r.timerInterrupts}`],
    ['modelled cycles (total)', cycles(r.modeledCycles)],
    ['hv traps, hypercalls (entries)', `${hv.traps}, ${hv.hypercalls} (${hv.hypercallEntries})`],
    ['hv VM exits', vmexitsText(hv.vmexits)],
    ['hv rejected, deferred flushes', `${hv.rejected}, ${hv.deferredFlushes}`],
    ['hv shadow syncs, hidden faults', `${hv.shadowSyncs}, ${hv.hiddenFaults}`],
    ...(r.config.costs !== undefined ? [['cost table', costsText(r.config.costs)] as [string, string]] : []),
    ...(r.conservation !== undefined ? [['conservation', conservationText(r.conservation)] as [string, string]] : []),
    ...(r.check !== undefined ? [['TLB coherence check (violations)', `${r.check.violations}`] as [string, string]] : []),
    ...(r.unknownSyscalls !== undefined
      ? [['unknown syscalls (nr: count)', Object.entries(r.unknownSyscalls).map(([nr, n]) => `${nr}: ${n}`).join(', ')] as [string, string]]
      : []),
    ['self-check', check],
    ['exit status', `${r.exitStatus}`],
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `backend ${r.backend}, workload ${r.workload}, ${r.cpus} vCPU${r.cpus === 1 ? '' : 's'}` +
      (r.config.pcpus !== undefined ? ` on ${r.config.pcpus} pCPU${r.config.pcpus === 1 ? '' : 's'}` : '') +
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

// ---- comparison across backends (pvemu compare) -------------------------------------------

/** A backend's run that failed with a PvemuError: what `pvemu compare` reports in its place. */
export interface RunFailure {
  backend: string;
  /** The error class's name (WatchdogError, InternalError, ...) and its message. */
  error: { name: string; message: string };
}

/** One backend's outcome in a comparison. */
export type ComparisonEntry =
  | { kind: 'report'; report: Report }
  | { kind: 'failed'; failure: RunFailure };

/** What the JSON array of `pvemu compare --json` holds per backend: a run's report, or its failure. */
export function comparisonJson(entry: ComparisonEntry): Report | RunFailure {
  switch (entry.kind) {
    case 'report': return entry.report;
    case 'failed': return entry.failure;
    default: {
      const never: never = entry;
      return never;
    }
  }
}

/** The comparison's cells for one backend, in the order of COMPARISON_HEADER. */
function comparisonRow(entry: ComparisonEntry): string[] {
  switch (entry.kind) {
    case 'report': {
      const r = entry.report;
      return [
        r.backend,
        r.opsPerSec.toFixed(1),
        `${r.shootdowns.count}`,
        `${r.ipis.sent}`,
        `${r.hv.traps}`,
        `${r.hv.hypercalls}`,
        `${r.shootdowns.modeledCycles.p50}`,
        us(r.shootdowns.latencyNs.p50),
        us(r.shootdowns.latencyNs.p99),
        selfCheckText(r.selfCheck),
      ];
    }
    case 'failed': {
      const f = entry.failure;
      return [f.backend, '-', '-', '-', '-', '-', '-', '-', '-', `ERROR: ${f.error.name}: ${oneLine(f.error.message)}`];
    }
    default: {
      const never: never = entry;
      return never;
    }
  }
}

/** Where a program comparison's elapsed column goes: after ops/s. */
const ELAPSED_COLUMN = 2;

const COMPARISON_HEADER = [
  'backend', 'ops/s', 'shootdowns', 'IPIs', 'traps', 'hypercalls', 'cycles/shootdown p50', 'host p50 µs', 'host p99 µs', 'self-check',
] as const;

/** A word of a command line as a shell user would read it: as is when plain, JSON-quoted otherwise. */
function shellWord(word: string): string {
  return /^[\x21-\x7e]+$/.test(word) && !/["'\\]/.test(word) ? word : JSON.stringify(word);
}

/** What ran: `workload NAME`, or a program as env(1) would start it (`program A=1 args.elf x`). */
function comparedWhat(config: MachineConfig): string {
  const p = config.program;
  if (p === undefined) return `workload ${config.workload}`;
  return `program ${[...p.envp, p.name, ...p.argv.slice(1)].map(shellWord).join(' ')}`;
}

/** How each run ends: a workload's --ops or --seconds; a program's exit (or its time limit). */
function comparedStop(config: MachineConfig): string {
  if (config.program !== undefined) return config.seconds !== undefined ? `until it exits (at most ${config.seconds} s)` : 'until it exits';
  return config.ops !== undefined ? `${config.ops} ops` : `${config.seconds ?? 0} s`;
}

/**
 * One table, a row per backend, for runs of the same workload or program on the same
 * configuration (`config` is that shared configuration; its backend field is ignored). For a
 * program, ops/s is guest instructions per host second, and an elapsed column follows it: a
 * program does a fixed amount of work, so its time from exec to exit is the figure to compare.
 */
export function formatComparison(config: MachineConfig, entries: readonly ComparisonEntry[], host: HostInfo = hostInfo()): string {
  const pcpus = config.pcpus !== undefined ? ` on ${config.pcpus} pCPU${config.pcpus === 1 ? '' : 's'}` : '';
  const header =
    `${comparedWhat(config)}, ${config.cpus} vCPU${config.cpus === 1 ? '' : 's'}${pcpus}, ${comparedStop(config)} per backend` +
    ` (${formatBytes(config.memBytes)} RAM, ${config.hz} Hz${config.costs !== undefined ? ', cost table given' : ''};` +
    ` host ${host.platform}/${host.arch}, ${host.cores} cores, Node ${host.node})`;
  const program = config.program !== undefined;
  const head: string[] = [...COMPARISON_HEADER];
  if (program) head.splice(ELAPSED_COLUMN, 0, 'elapsed s');
  const rows = entries.map((e) => {
    const row = comparisonRow(e);
    if (program) row.splice(ELAPSED_COLUMN, 0, e.kind === 'report' ? e.report.seconds.toFixed(3) : '-');
    return row;
  });
  const table = columns(head, rows, [0, head.length - 1]);
  return `${[header, ...table.map((l) => `  ${l}`)].join('\n')}\n`;
}

/**
 * A compared program's standard output, once per distinct text, each headed by the backends
 * that printed it (so one block with every backend says they all agreed); '' when none wrote
 * any, or the comparison was of a workload.
 */
export function formatProgramOutputs(entries: readonly ComparisonEntry[]): string {
  const byText = new Map<string, { name: string; backends: string[] }>();
  for (const e of entries) {
    if (e.kind !== 'report' || e.report.program === undefined || e.report.program.stdout === '') continue;
    const text = e.report.program.stdout;
    const group = byText.get(text) ?? { name: e.report.workload, backends: [] };
    group.backends.push(e.report.backend);
    byText.set(text, group);
  }
  return [...byText].map(([text, g]) => `== ${g.name} stdout on ${g.backends.join(', ')} ==\n${text.endsWith('\n') ? text : `${text}\n`}`).join('');
}

/** Boot a machine with `config`, run it, and report: what `pvemu run` prints, as an object. */
export async function runReport(config: MachineConfig): Promise<Report> {
  return buildReport(config, await new Machine(config).run());
}
