import type { ComparisonEntry, HostInfo, Report, RunFailure } from './types.js';
import { columns, oneLine, selfCheckText, us } from './format.js';
import type { MachineConfig } from '../machine/config.js';
import { hostInfo, runReport } from './build.js';
import { PvemuError } from '../lib/errors.js';
import { formatBytes } from '../hw/memory.js';
import { versionLine } from '../lib/version.js';
/**
 * The one-table comparison of several backends' runs (`pvemu compare`): a row per backend, its
 * JSON, and each distinct program output once. Main thread.
 */
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
    ` (${formatBytes(config.memBytes)} RAM, ${config.hz} Hz${config.costs !== undefined ? ', cost table given' : ''}${config.clock === 'virtual' ? ', virtual time' : ''};` +
    ` host ${host.platform}/${host.arch}, ${host.cores} cores, Node ${host.node})`;
  const program = config.program !== undefined;
  const head: string[] = [...COMPARISON_HEADER];
  if (config.clock === 'virtual') {
    // Virtual time: throughput per modelled second, latencies on the initiator's modelled clock.
    head[head.indexOf('ops/s')] = 'ops/modelled s';
    head[head.indexOf('host p50 µs')] = 'modelled p50 µs';
    head[head.indexOf('host p99 µs')] = 'modelled p99 µs';
  }
  if (program) head.splice(ELAPSED_COLUMN, 0, 'elapsed s');
  const rows = entries.map((e) => {
    const row = comparisonRow(e);
    if (program) row.splice(ELAPSED_COLUMN, 0, e.kind === 'report' ? e.report.seconds.toFixed(3) : '-');
    return row;
  });
  const table = columns(head, rows, [0, head.length - 1]);
  return `${[header, ...table.map((l) => `  ${l}`), ...comparisonFooter(entries)].join('\n')}\n`;
}

/**
 * Below the table: which pvemu ran it and when, the host's load over the comparison, and one
 * warning line naming the backends whose host-time figures are unreliable (and why).
 */
function comparisonFooter(entries: readonly ComparisonEntry[]): string[] {
  const reports = entries.flatMap((e) => (e.kind === 'report' ? [e.report] : []));
  const first = reports[0];
  if (first === undefined) return [];
  const usages = reports.flatMap((r) => (r.hostUsage !== undefined ? [r.hostUsage] : []));
  const load = usages.length === 0
    ? ''
    : `; host load average ${usages[0]!.loadBefore.toFixed(2)} before, ${usages[usages.length - 1]!.loadAfter.toFixed(2)} after`;
  // In virtual time no figure in the table is host time.
  const doubted = reports.filter((r) => r.config.clock === 'host' && r.hostUsage?.unreliable !== undefined);
  const example = doubted[0];
  const others = doubted.length > 1 ? '; the others\' reasons are in their reports (--json)' : '';
  return [
    `  ${versionLine(first.pvemu)}, run at ${first.date}${load}`,
    ...(example !== undefined
      ? [`warning: host-time figures (ops/s, host µs) are unreliable for ${doubted.map((r) => r.backend).join(', ')} (${example.backend}: ${example.hostUsage!.unreliable!.join('; ')}${others})`]
      : []),
  ];
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

/**
 * `pvemu compare` as a function: the same configuration on each backend in turn (one machine at
 * a time, so runs do not compete for host cores). A backend whose run fails with a PvemuError
 * (a watchdog, a guest crash) is an entry of kind 'failed'; anything else is a bug and throws.
 * `onStart` hears of each backend as its run begins.
 */
export async function runComparison(
  config: MachineConfig,
  backends: readonly string[],
  runMachine: (config: MachineConfig) => Promise<Report> = runReport,
  onStart: (backend: string, index: number) => void = () => {},
  /** Asked before each backend: true ends the comparison with the backends run so far. */
  stopped: () => boolean = () => false,
): Promise<ComparisonEntry[]> {
  const entries: ComparisonEntry[] = [];
  for (const [i, backend] of backends.entries()) {
    if (stopped()) break;
    onStart(backend, i);
    try {
      entries.push({ kind: 'report', report: await runMachine({ ...config, backend }) });
    } catch (err) {
      if (!(err instanceof PvemuError)) throw err;
      entries.push({ kind: 'failed', failure: { backend, error: { name: err.name, message: oneLine(err.message) } } });
    }
  }
  return entries;
}
