/**
 * The bodies of the `pvemu` subcommands and the CLI's error policy; main.ts only wires them to
 * the process. Main thread (CLI).
 *
 * Error policy (what a user sees, and the exit status scripts see):
 * - ConfigError (bad input): exactly one line, `pvemu: <message>`, exit 2.
 * - any other PvemuError (the run failed: watchdog, self-check error, ...): one line,
 *   `pvemu: <name>: <message>`, exit 1.
 * - anything else is a bug in pvemu: the full stack, exit 70 (EX_SOFTWARE).
 */
import { writeFileSync } from 'node:fs';
import { checkOutputPath, STDOUT_PATH } from './output-path.js';
import { versionLine } from '../lib/version.js';
import { ConfigError, PvemuError } from '../lib/errors.js';
import { describeBackends } from '../hv/registry.js';
import { Machine } from '../machine/machine.js';
import { DEFAULT_COSTS, COST_KEYS } from '../hw/cost.js';
import type { MachineConfig } from '../machine/config.js';
import { comparisonJson, formatComparison, formatProgramOutputs, runComparison } from '../report/compare.js';
import { formatReport } from '../report/format.js';
import { hostInfo, buildReport, runReport } from '../report/build.js';
import type { ComparisonEntry, Report } from '../report/types.js';
import { describeWorkloads } from '../workloads/registry.js';
import { parseCompareOptions, parseRunOptions, show, wantsHelp } from './options.js';
import { writeTraceFile } from '../report/trace.js';
import { runProgress, type ProgressStream } from './progress.js';
import { EXIT_SIGNAL, onStopSignal, type StopSignal } from './stop-signal.js';
import { compareUsage, listUsage, mainUsage, runUsage } from './usage.js';
import { tortureCommand, tortureUsage } from './torture.js';

/** Exit statuses (sysexits.h names where one fits). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export type { StopSignal } from './stop-signal.js';
export const EXIT_SOFTWARE = 70;

/** Where a command writes; the process's streams in main.ts, buffers in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Progress of a long command (which run is under way); may go nowhere. */
  progress(text: string): void;
  /** Where `run` draws its progress bar (only if a terminal); absent: no bar. */
  progressStream?: ProgressStream;
  /**
   * Call `handler` on SIGINT or SIGTERM until the returned function is called; absent: signals
   * are not caught. (A second signal while the first is handled ends the process at once.)
   */
  onStopSignal?(handler: (signal: StopSignal) => void): () => void;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  // Only to a terminal: a script reading stderr sees errors alone.
  progress: (text) => void (process.stderr.isTTY ? process.stderr.write(text) : undefined),
  progressStream: process.stderr,
  onStopSignal,
};

/** Collapses a multi-line message onto one line, so each error is exactly one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

/** Prints `err` by the error policy above and returns the exit status. */
export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof ConfigError) {
    io.err(`pvemu: ${oneLine(err.message)}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof PvemuError) {
    io.err(`pvemu: ${err.name}: ${oneLine(err.message)}\n`);
    return EXIT_FAILED;
  }
  const detail = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  io.err(`pvemu: internal error (a bug in pvemu, please report it):\n${detail}\n`);
  return EXIT_SOFTWARE;
}

/** --trace: write what the machine recorded, and say on stderr if some of it did not fit. */
function writeTrace(path: string, machine: Machine, io: CliIo): void {
  const vcpus = machine.trace() ?? [];
  const { backend, workload, cpus } = machine.config;
  try {
    writeTraceFile(path, vcpus, { backend, workload, cpus });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError('--trace', `cannot write ${JSON.stringify(path)}: ${why}`);
  }
  const dropped = vcpus.filter((v) => v.dropped > 0);
  if (dropped.length > 0) {
    const total = dropped.reduce((n, v) => n + v.dropped, 0);
    io.err(`pvemu: --trace: ${total} events did not fit and were dropped (${dropped.map((v) => `cpu ${v.cpu}: ${v.dropped}`).join(', ')}); the trace covers the start of the run; raise --trace-events for more\n`);
  }
}

function writeJson(path: string, value: unknown, io: CliIo): void {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (path === STDOUT_PATH) {
    io.out(text);
    return;
  }
  try {
    writeFileSync(path, text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError('--json', `cannot write ${JSON.stringify(path)}: ${why}`);
  }
}

/** `pvemu run [options]`: one workload on one machine. */
export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.out(runUsage());
    return EXIT_OK;
  }
  const { config, json, trace } = parseRunOptions(argv);
  if (json !== undefined) checkOutputPath(json);
  if (trace !== undefined) checkOutputPath(trace, '--trace');
  const machine = new Machine(config);
  let stoppedBy: StopSignal | undefined;
  const unsubscribe = io.onStopSignal?.((signal) => {
    stoppedBy ??= signal;
    machine.interrupt(signal);
  }) ?? (() => {});
  const stopProgress = runProgress(machine, config, io.progressStream);
  let report: Report;
  try {
    const result = await machine.run();
    // PVEMU_STRACE=1: the kernel logged every system call on the console; show it, as strace would, on stderr.
    if (process.env['PVEMU_STRACE'] === '1') io.err(result.console);
    report = buildReport(config, result);
  } finally {
    stopProgress();
    unsubscribe();
  }
  // A program's own output first, as a shell would show it, then pvemu's report; on stderr when
  // stdout carries the JSON (--json -).
  const human = (text: string): void => (json === STDOUT_PATH ? io.err(text) : io.out(text));
  if (report.program !== undefined) {
    human(report.program.stdout);
    // Its stderr on pvemu's stderr, as a shell would show it.
    io.err(report.program.stderr);
  }
  human(formatReport(report));
  if (json !== undefined) writeJson(json, report, io);
  if (trace !== undefined) writeTrace(trace, machine, io);
  const unknown = unknownCallsLine(report);
  if (unknown !== undefined) io.err(unknown);
  if (stoppedBy !== undefined) {
    io.err(`pvemu: interrupted by ${stoppedBy} after ${report.seconds.toFixed(2)} s of work; the report covers the run until then\n`);
    return EXIT_SIGNAL[stoppedBy];
  }
  if (!report.selfCheck.passed) {
    io.err(`pvemu: self-check failed: ${oneLine(report.selfCheck.message)}\n`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

/**
 * What the guest asked for that pvemu lacks, once, at the end of a run: "pvemu: 2 calls answered
 * -ENOSYS: system call 291 ×2" (the report's unknownSyscalls); undefined when there were none.
 */
function unknownCallsLine(report: Report): string | undefined {
  const entries = Object.entries(report.unknownSyscalls ?? {});
  if (entries.length === 0) return undefined;
  const total = entries.reduce((n, [, count]) => n + count, 0);
  const what = entries.map(([key, count]) => `${/^-?\d+$/.test(key) ? `system call ${key}` : key} ×${count}`).join(', ');
  return `pvemu: ${total} call${total === 1 ? '' : 's'} answered -ENOSYS (not in pvemu's kernel): ${what}\n`;
}

/** Boots a machine for `config`, runs it and reports; tests substitute their own. */
export type MachineRunner = (config: MachineConfig) => Promise<Report>;

export const runOnMachine: MachineRunner = runReport;

/**
 * One backend's run in a comparison. A PvemuError (watchdog, a vCPU's error, a configuration
 * the backend refuses) is that backend's result, not the comparison's end; anything else is a
 * bug in pvemu and stops the command.
 */
/**
 * `pvemu compare [options]`: the same workload (or --program) and configuration on each
 * backend in turn (one machine at a time, so runs do not compete for host cores), then one
 * table. Exit 0 only when every backend ran and passed its self-check.
 */
export async function compareCommand(argv: readonly string[], io: CliIo, runMachine: MachineRunner = runOnMachine): Promise<number> {
  if (wantsHelp(argv)) {
    io.out(compareUsage());
    return EXIT_OK;
  }
  const { config, backends, json } = parseCompareOptions(argv);
  if (json !== undefined) checkOutputPath(json);
  // Ctrl-C or SIGTERM: the backend running now stops early (a partial row), the rest are not run,
  // and the table shows what finished.
  let stoppedBy: StopSignal | undefined;
  let current: Machine | undefined;
  const runner: MachineRunner = runMachine !== runOnMachine ? runMachine : async (cfg) => {
    const machine = new Machine(cfg);
    current = machine;
    if (stoppedBy !== undefined) machine.interrupt(stoppedBy);
    return buildReport(machine.config, await machine.run());
  };
  const unsubscribe = io.onStopSignal?.((signal) => {
    stoppedBy ??= signal;
    current?.interrupt(signal);
  }) ?? (() => {});
  let entries: ComparisonEntry[];
  try {
    entries = await runComparison(config, backends, runner, (backend, i) => {
      io.progress(`pvemu: compare: ${backend} (${i + 1} of ${backends.length})\n`);
    }, () => stoppedBy !== undefined);
  } finally {
    unsubscribe();
  }
  // A program's output first, as run shows it: once per distinct text, named by its backends.
  const human = (text: string): void => (json === STDOUT_PATH ? io.err(text) : io.out(text));
  human(formatProgramOutputs(entries));
  human(formatComparison(config, entries, hostInfo()));
  if (json !== undefined) writeJson(json, entries.map(comparisonJson), io);
  if (stoppedBy !== undefined) {
    io.err(`pvemu: compare: interrupted by ${stoppedBy} after ${entries.length} of ${backends.length} backends; the table shows those\n`);
    return EXIT_SIGNAL[stoppedBy];
  }

  const failedChecks = entries.flatMap((e) => (e.kind === 'report' && !e.report.selfCheck.passed ? [e.report.backend] : []));
  const errors = entries.flatMap((e) => (e.kind === 'failed' ? [`${e.failure.backend} (${e.failure.error.name})`] : []));
  if (failedChecks.length === 0 && errors.length === 0) return EXIT_OK;
  const parts = [
    ...(failedChecks.length > 0 ? [`self-check failed on ${failedChecks.join(', ')}`] : []),
    ...(errors.length > 0 ? [`run failed on ${errors.join(', ')}`] : []),
  ];
  io.err(`pvemu: compare: ${parts.join('; ')}\n`);
  return EXIT_FAILED;
}

/** `pvemu list`: backends and workloads with their one-line descriptions. */
export function listCommand(argv: readonly string[], io: CliIo): number {
  if (wantsHelp(argv)) {
    io.out(listUsage());
    return EXIT_OK;
  }
  const extra = argv[0];
  if (extra !== undefined) throw new ConfigError(show(extra), 'unexpected argument (list takes none)');
  const backends = describeBackends();
  const workloads = describeWorkloads();
  const width = Math.max(...[...backends, ...workloads].map((x) => x.name.length));
  const rows = (items: readonly { name: string; description: string; params?: string[] }[]): string =>
    items.map((x) => [
      `  ${x.name.padEnd(width)}  ${oneLine(x.description)}`.trimEnd(),
      ...(x.params ?? []).map((p) => `  ${''.padEnd(width)}    --param ${oneLine(p)}`),
    ].join('\n')).join('\n');
  io.out(`Backends:\n${rows(backends)}\n\nWorkloads:\n${rows(workloads)}\n\n${costList()}`);
  return EXIT_OK;
}

/** The default cost table, each entry with its source: what --cost FILE overrides. */
function costList(): string {
  const keyWidth = Math.max(...COST_KEYS.map((k) => k.length));
  const cyclesWidth = Math.max(...COST_KEYS.map((k) => `${DEFAULT_COSTS[k].cycles}`.length));
  const lines = COST_KEYS.map((k) => {
    const { cycles, source } = DEFAULT_COSTS[k];
    return `  ${k.padEnd(keyWidth)}  ${`${cycles}`.padStart(cyclesWidth)}  ${oneLine(source)}`;
  });
  return `Cost table (cycles per event; --cost FILE overrides any of them):\n${lines.join('\n')}\n`;
}

const COMMANDS = ['run', 'compare', 'torture', 'list', 'help', 'version'] as const;

function unknownCommand(name: string): ConfigError {
  return new ConfigError(show(name), `unknown command; commands are ${COMMANDS.join(', ')} (see pvemu --help)`);
}

/** `pvemu help [COMMAND]` (also `pvemu --help`). */
export function helpCommand(argv: readonly string[], io: CliIo): number {
  const topic = argv[0];
  const extra = argv[1];
  if (extra !== undefined) throw new ConfigError(show(extra), 'unexpected argument (help takes at most one command)');
  if (topic === undefined) io.out(mainUsage());
  else if (topic === 'run') io.out(runUsage());
  else if (topic === 'compare') io.out(compareUsage());
  else if (topic === 'list') io.out(listUsage());
  else if (topic === 'torture') io.out(tortureUsage());
  else if (topic === 'help') io.out(mainUsage());
  else throw unknownCommand(topic);
  return EXIT_OK;
}

/** Runs one `pvemu` invocation (argv without node and script) and returns its exit status. */
export async function cliMain(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case undefined:
        io.err(mainUsage());
        return EXIT_USAGE;
      case 'help':
      case '--help':
      case '-h':
        return helpCommand(rest, io);
      case 'run':
        return await runCommand(rest, io);
      case 'compare':
        return await compareCommand(rest, io);
      case 'torture':
        return await tortureCommand(rest, io);
      case 'list':
        return listCommand(rest, io);
      case 'version':
      case '--version':
      case '-V':
        if (rest[0] !== undefined) throw new ConfigError(show(rest[0]), 'unexpected argument (version takes none)');
        io.out(`${versionLine()}\n`);
        return EXIT_OK;
      default:
        throw unknownCommand(command);
    }
  } catch (err) {
    return reportError(err, io);
  }
}
