/**
 * `pvemu torture` (`npm run torture -- ...`): a campaign of random valid machine
 * configurations, most with a deliberately injected bug, each run in a child process with a
 * host-time limit, and a table of what the checkers caught (docs/torture.md). The plan and the
 * judgement are src/cli/torture-plan.ts; the child is src/cli/torture-child.ts. Main thread (CLI).
 *
 * Runs go one at a time: on the 2-core hosts pvemu targets, two machines at once would each be
 * overcommitted by the other, and their watchdogs would measure the neighbour.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ConfigError, InternalError } from '../lib/errors.js';
import { MAX_SEED, MAX_WATCHDOG_MS, MIN_WATCHDOG_MS } from '../machine/config.js';
import { Machine, waitPolicyFor } from '../machine/machine.js';
import { parseCommaList, parseIntOption, parsePositiveNumber, show, strictParse, wantsHelp, type CommandSpec } from './options.js';
import { EXIT_SIGNAL, type StopSignal } from './stop-signal.js';
import {
  campaignRunSeed, classify, describeConfig, describeInjection, describeOutcome, INJECTIONS, injectionNames, MATRIX_CPUS, NO_INJECTION,
  planMatrix, planRun, TORTURE_WATCHDOG_MS, type PlannedRun, type RunOutcome, type Verdict,
} from './torture-plan.js';

/** Exit statuses, as commands.ts's: 0 nothing missed or unexpected, 1 otherwise. */
const EXIT_OK = 0;
const EXIT_FAILED = 1;

/** Runs when neither --runs nor --minutes is given. */
export const DEFAULT_TORTURE_RUNS = 20;
/** --runs bounds: a million runs is months of host time. */
export const MAX_TORTURE_RUNS = 1_000_000;
/** --minutes bound: a week; longer belongs in several campaigns with their own seeds. */
export const MAX_TORTURE_MINUTES = 7 * 24 * 60;

/**
 * A child's allowance for starting Node, loading pvemu and booting its vCPU workers, in ms:
 * boot alone takes a second or two for 8 vCPUs on a quiet 2-core host; a busy one (a test suite
 * beside the campaign) may take several times that, and a run killed for being slow to boot
 * would be counted as a hang.
 */
const BOOT_ALLOWANCE_MS = 20_000;
/**
 * Host seconds one modelled second may take in virtual time, for the time limit: the report's
 * "host time per modelled second" is about 300 for 4 vCPUs on a quiet 2-core host; this leaves
 * room for a busy one.
 */
const VIRTUAL_HOST_SECONDS_PER_SECOND = 2000;
/** The end of a crashed child's stderr kept for its line in the table, in characters. */
const STDERR_KEPT = 400;

/** Where the torture command writes; CliIo (commands.ts) is one. */
export interface TortureIo {
  out(text: string): void;
  err(text: string): void;
  /** Call `handler` on SIGINT or SIGTERM until the returned function is called; absent: not caught. */
  onStopSignal?(handler: (signal: StopSignal) => void): () => void;
}

export interface TortureOptions {
  /** The campaign's seed; absent with replay. */
  seed?: number;
  /** Stop after this many runs; absent: no count limit (--minutes alone). */
  runs?: number;
  /** Stop starting runs after this many minutes; absent: no time limit. */
  minutes?: number;
  /** --replay: run this one run seed alone. */
  replay?: number;
  /** --matrix: the runs are the matrix's cells (planMatrix), not random draws. */
  matrix?: boolean;
  /** --cell: with --matrix, run only this cell (1-based, as the table numbers them). */
  cell?: number;
  /** --inject: the injection names runs may draw (default every one, none included). */
  inject: string[];
  /** --watchdog-ms: every run's watchdog limit. */
  watchdogMs: number;
}

const TORTURE_OPTIONS = {
  seed: { type: 'string' },
  runs: { type: 'string' },
  minutes: { type: 'string' },
  replay: { type: 'string' },
  inject: { type: 'string' },
  'watchdog-ms': { type: 'string' },
  matrix: { type: 'boolean' },
  cell: { type: 'string' },
} as const;
const TORTURE: CommandSpec<typeof TORTURE_OPTIONS> = { name: 'torture', options: TORTURE_OPTIONS };

/** Parses `pvemu torture` arguments (after the subcommand). */
export function parseTortureOptions(argv: readonly string[]): TortureOptions {
  const v = strictParse(TORTURE, argv);
  const options: TortureOptions = {
    inject: v.inject === undefined ? injectionNames() : parseCommaList(v.inject, '--inject', injectionNames().join(', '), (name) => {
      if (!injectionNames().includes(name)) throw new ConfigError('--inject', `unknown injection ${show(name)}; known: ${injectionNames().join(', ')}`);
      return name;
    }),
    watchdogMs: v['watchdog-ms'] === undefined ? TORTURE_WATCHDOG_MS : parseIntOption(v['watchdog-ms'], '--watchdog-ms', MIN_WATCHDOG_MS, MAX_WATCHDOG_MS),
  };
  if (v.replay !== undefined) {
    const other = (['seed', 'runs', 'minutes', 'matrix', 'cell'] as const).find((o) => v[o] !== undefined);
    if (other !== undefined) throw new ConfigError('--replay', `cannot be combined with --${other}: it runs the one run of that seed`);
    options.replay = parseIntOption(v.replay, '--replay', 0, MAX_SEED);
    return options;
  }
  if (v.seed === undefined) throw new ConfigError('--seed', 'missing: give --seed S for a campaign, or --replay RUNSEED for one run');
  options.seed = parseIntOption(v.seed, '--seed', 0, MAX_SEED);
  if (v.runs !== undefined) options.runs = parseIntOption(v.runs, '--runs', 1, MAX_TORTURE_RUNS);
  if (v.minutes !== undefined) options.minutes = parsePositiveNumber(v.minutes, '--minutes', MAX_TORTURE_MINUTES);
  if (v.matrix === true) {
    options.matrix = true;
    if (v.cell !== undefined) {
      const other = (['runs', 'minutes'] as const).find((o) => v[o] !== undefined);
      if (other !== undefined) throw new ConfigError('--cell', `cannot be combined with --${other}: it runs the one cell`);
      options.cell = parseIntOption(v.cell, '--cell', 1, MAX_TORTURE_RUNS);
    }
    // The matrix runs every cell unless told otherwise.
    return options;
  }
  if (v.cell !== undefined) throw new ConfigError('--cell', 'needs --matrix: it names one cell of the matrix');
  // --minutes alone runs until the time is up; neither: the default number of runs.
  if (options.runs === undefined && options.minutes === undefined) options.runs = DEFAULT_TORTURE_RUNS;
  return options;
}

export function tortureUsage(): string {
  return `Usage: pvemu torture --seed S [--runs N] [--minutes M] [--inject LIST] [--watchdog-ms MS]
       pvemu torture --seed S --matrix [--cell N | --runs N | --minutes M] [--inject LIST] [--watchdog-ms MS]
       pvemu torture --replay RUNSEED [--inject LIST] [--watchdog-ms MS]
       (from a checkout: npm run torture -- --seed S ...)

Draws random valid machine configurations (every backend and workload, shootdown workloads
weighted, 1 to 8 vCPUs, sometimes overcommitted or in virtual time, --check always on) and
injects a bug into most runs: ${INJECTIONS.map((k) => `${k.name} (${k.summary})`).join('; ')}.
Each run goes in a child process with a host-time limit; the table says, per injection, how many
runs caught it and how fast, and lists every run that missed its bug or ended in a way nothing
explains, with the command that replays it. Exits 0 when nothing was missed or unexpected, 1
otherwise. docs/torture.md says more.

Options:
  --seed S            the campaign's seed, 0 to ${MAX_SEED}; run i draws from its own seed, printed
  --runs N            stop after N runs, 1 to ${MAX_TORTURE_RUNS} (default ${DEFAULT_TORTURE_RUNS}; none with --minutes alone)
  --minutes M         start no run after M minutes (decimals allowed, at most ${MAX_TORTURE_MINUTES}); with --runs, whichever comes first
  --matrix            run the matrix instead of random draws: every injection × backend × shootdown
                      workload × ${MATRIX_CPUS.join('/')} vCPUs, each on its own cores and on half as many pCPUs,
                      where the injection can act (parameters and the rest drawn from the seed)
  --cell N            with --matrix, run only cell N, as the table's reproduce line gives it
  --replay RUNSEED    run only the run of that seed, as the table's reproduce line gives it
  --inject LIST       what runs may inject, from ${injectionNames().join(', ')} (default all; ${NO_INJECTION} is the control group)
  --watchdog-ms MS    every run's watchdog limit, ${MIN_WATCHDOG_MS} to ${MAX_WATCHDOG_MS} (default ${TORTURE_WATCHDOG_MS}; scaled by overcommit)
  -h, --help          show this text
`;
}

/** A run under way in some runner: its outcome to come, and how to stop it early. */
export interface RunHandle {
  outcome: Promise<RunOutcome>;
  kill(): void;
}

/** Starts one planned run with a host-time limit; tests substitute their own. */
export type TortureRunner = (run: PlannedRun, limitMs: number) => RunHandle;

/**
 * Where the compiled child lives: beside this module in dist/src/cli/, or, when this module runs
 * from TypeScript sources under a test runner, in the build output (as vcpuWorkerPath does).
 */
function childPath(): string {
  for (const url of [new URL('./torture-child.js', import.meta.url), new URL('../../dist/src/cli/torture-child.js', import.meta.url)]) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new InternalError('the torture child is not built: run `npm run build`');
}

/** The child's result line, if `text` holds one. */
function parseOutcomeLine(text: string): RunOutcome | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as RunOutcome;
      if (value.kind === 'returned' || value.kind === 'threw') return value;
    } catch {
      // Not the result line (nothing else should print one); keep looking.
    }
  }
  return undefined;
}

/** Runs the configuration in `node torture-child.js CONFIG`, killed at `limitMs` of host time. */
export const spawnRun: TortureRunner = (run, limitMs) => {
  const start = performance.now();
  const child = spawn(process.execPath, [childPath(), JSON.stringify(run.config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => void (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => void (stderr = (stderr + text).slice(-STDERR_KEPT)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limitMs);
  const outcome = new Promise<RunOutcome>((resolve) => {
    const hostMs = (): number => Math.round(performance.now() - start);
    // 'error' without 'close' when the process could not be started at all.
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ kind: 'crashed', hostMs: hostMs(), status: null, signal: null, stderr: err.message });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ kind: 'hang', hostMs: hostMs(), limitMs });
      const line = parseOutcomeLine(stdout);
      resolve(line ?? { kind: 'crashed', hostMs: hostMs(), status, signal, stderr: stderr.trim().replace(/\s*\n\s*/g, '; ') });
    });
  });
  return { outcome, kill: () => void child.kill('SIGKILL') };
};

/**
 * A run's host-time limit, in ms: three of its watchdog limits as scaled for overcommit (a
 * vCPU's wait trips at one, the main thread's watchdog for a vCPU stuck outside any wait at two:
 * src/machine/watchdog.ts; the third covers the teardown after either), its length in host time,
 * and booting.
 */
export function runLimitMs(run: PlannedRun): number {
  const cfg = run.config;
  const watchdog = waitPolicyFor(cfg).watchdogMs;
  const seconds = (cfg.seconds ?? 0) * (cfg.clock === 'virtual' ? VIRTUAL_HOST_SECONDS_PER_SECOND : 1);
  return 3 * watchdog + Math.ceil(seconds * 1000) + BOOT_ALLOWANCE_MS;
}

/** One finished run. */
interface Finished {
  index: number;
  run: PlannedRun;
  outcome: RunOutcome;
  verdict: Verdict;
}

function verdictText(v: Verdict): string {
  switch (v.verdict) {
    case 'passed': return 'passed';
    case 'caught': return `caught by ${v.detector} in ${v.detectionMs} ms`;
    case 'missed': return `MISSED${v.inert !== undefined ? ` (${v.inert})` : ''}`;
    case 'unexpected': return `UNEXPECTED: ${v.why}`;
  }
}

/** The run's own outcome, whatever its injection: it ended cleanly with its self-check passed. */
const clean = (f: Finished): boolean => f.outcome.kind === 'returned' && f.outcome.selfCheck.passed;

/** Collapses text onto one line (error messages may carry a stack under PVEMU_STACKS). */
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, '; ').trim();

/** Rows as columns: the first left-aligned, the rest right-aligned, two spaces apart. */
function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => `  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`.trimEnd()).join('\n');
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** The per-injection table: runs, verdicts, and how long detection took. */
function injectionTable(done: readonly Finished[]): string {
  const rows: string[][] = [['injection', 'runs', 'passed', 'caught', 'missed', 'unexpected', 'detect ms p50', 'max']];
  for (const name of injectionNames()) {
    const mine = done.filter((f) => f.run.injection === name);
    if (mine.length === 0) continue;
    const count = (v: Verdict['verdict']): string => `${mine.filter((f) => f.verdict.verdict === v).length}`;
    const times = mine.flatMap((f) => (f.verdict.verdict === 'caught' ? [f.verdict.detectionMs] : [])).sort((a, b) => a - b);
    const plain = name === NO_INJECTION;
    rows.push([
      name, `${mine.length}`, plain ? count('passed') : '-', plain ? '-' : count('caught'), plain ? '-' : count('missed'), count('unexpected'),
      times.length > 0 ? `${median(times)}` : '-', times.length > 0 ? `${times[times.length - 1]}` : '-',
    ]);
  }
  return columns(rows);
}

/**
 * The per-backend table: `clean` runs ended with no error and their self-check passed, `failed`
 * ones did not (an error, a failed self-check, a crash or a hang), injected or not; then the
 * verdicts that need a look.
 */
function backendTable(done: readonly Finished[]): string {
  const rows: string[][] = [['backend', 'runs', 'clean', 'failed', 'missed', 'unexpected']];
  for (const backend of [...new Set(done.map((f) => f.run.config.backend))].sort()) {
    const mine = done.filter((f) => f.run.config.backend === backend);
    const ok = mine.filter(clean).length;
    rows.push([
      backend, `${mine.length}`, `${ok}`, `${mine.length - ok}`,
      `${mine.filter((f) => f.verdict.verdict === 'missed').length}`, `${mine.filter((f) => f.verdict.verdict === 'unexpected').length}`,
    ]);
  }
  return columns(rows);
}

/** The options a replay must repeat for the same run: those that change the plan. */
function planOptions(options: TortureOptions): string {
  const inject = options.inject.join(',') === injectionNames().join(',') ? '' : ` --inject ${options.inject.join(',')}`;
  const watchdog = options.watchdogMs === TORTURE_WATCHDOG_MS ? '' : ` --watchdog-ms ${options.watchdogMs}`;
  return `${inject}${watchdog}`;
}

/** `run` with the campaign's options, checked the way the Machine will check it. */
function checked(run: PlannedRun, options: TortureOptions): PlannedRun {
  const runSeed = run.runSeed;
  run.config.watchdogMs = options.watchdogMs;
  try {
    new Machine(run.config);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new InternalError(`torture plan drew an invalid configuration for run seed ${runSeed} (${describeConfig(run.config)}): ${why}`);
  }
  return run;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `pvemu torture [options]`. */
export async function tortureCommand(argv: readonly string[], io: TortureIo, runner: TortureRunner = spawnRun): Promise<number> {
  if (wantsHelp(argv)) {
    io.out(tortureUsage());
    return EXIT_OK;
  }
  const options = parseTortureOptions(argv);
  const title = options.replay !== undefined ? `torture replay ${options.replay}`
    : options.matrix === true ? `torture matrix seed ${options.seed}${options.cell !== undefined ? ` cell ${options.cell}` : ''}`
    : `torture seed ${options.seed}`;
  // The runs, by index: the replayed one, the matrix's cells, or the campaign's draws.
  const cells = options.matrix === true ? planMatrix(options.seed!, options.inject) : undefined;
  if (cells !== undefined && options.cell !== undefined && options.cell > cells.length) {
    throw new ConfigError('--cell', `must be from 1 to ${cells.length}, the cells of this matrix, got ${options.cell}`);
  }
  const first = options.cell !== undefined ? options.cell - 1 : 0;
  const runAt = (index: number): PlannedRun =>
    checked(options.replay !== undefined ? planRun(options.replay, options.inject) : cells !== undefined ? cells[index]! : planRun(campaignRunSeed(options.seed!, index), options.inject), options);
  const total = options.replay !== undefined || options.cell !== undefined ? 1
    : cells !== undefined ? Math.min(cells.length, options.runs ?? cells.length)
    : options.runs;
  const limits = [
    ...(options.runs !== undefined ? [plural(options.runs, 'run')] : []),
    ...(options.minutes !== undefined ? [`${options.minutes} min`] : []),
  ];
  const until = limits.length > 1 ? ` (${limits.join(' or ')}, whichever comes first)` : limits.length === 1 ? ` (${limits[0]})` : '';
  io.out(`${title}${until}\n`);

  let stoppedBy: StopSignal | undefined;
  let current: RunHandle | undefined;
  const unsubscribe = io.onStopSignal?.((signal) => {
    stoppedBy ??= signal;
    current?.kill();
  }) ?? (() => {});
  const started = performance.now();
  const deadline = options.minutes === undefined ? Infinity : started + options.minutes * 60_000;
  const done: Finished[] = [];
  try {
    for (let n = 0; total === undefined || n < total; n++) {
      if (stoppedBy !== undefined || performance.now() >= deadline) break;
      const index = first + n;
      const run = runAt(index);
      const runSeed = run.runSeed;
      if (options.replay !== undefined || options.cell !== undefined) io.out(`config ${JSON.stringify(run.config)}\n`);
      current = runner(run, runLimitMs(run));
      const outcome = await current.outcome;
      current = undefined;
      // A run the signal cut short proves nothing either way: it is not counted.
      if (stoppedBy !== undefined) break;
      const verdict = classify(run, outcome);
      done.push({ index, run, outcome, verdict });
      const of = cells !== undefined ? `/${cells.length}` : total === undefined ? '' : `/${total}`;
      io.out(`run ${index + 1}${of} (seed ${runSeed}): ${describeConfig(run.config)}; ${describeInjection(run)}: ${oneLine(verdictText(verdict))}\n`);
    }
  } finally {
    unsubscribe();
  }

  const minutes = (performance.now() - started) / 60_000;
  io.out(`\n${title}: ${plural(done.length, 'run')} in ${minutes.toFixed(1)} min\n\n`);
  if (done.length > 0) io.out(`${injectionTable(done)}\n\n${backendTable(done)}\n\n`);
  const bad = done.filter((f) => f.verdict.verdict === 'missed' || f.verdict.verdict === 'unexpected');
  if (bad.length > 0) {
    io.out('missed or unexpected:\n');
    for (const f of bad) {
      io.out(`  run ${f.index + 1} (seed ${f.run.runSeed}), ${describeInjection(f.run)} on ${describeConfig(f.run.config)}\n`);
      io.out(`    ${oneLine(f.verdict.verdict === 'missed' ? `${verdictText(f.verdict)}: ${describeOutcome(f.outcome)}` : verdictText(f.verdict))}\n`);
      const which = cells !== undefined ? `--seed ${options.seed} --matrix --cell ${f.index + 1}` : `--replay ${f.run.runSeed}`;
      io.out(`    reproduce: npm run torture -- ${which}${planOptions(options)}\n`);
    }
    io.out('\n');
  }
  const count = (v: Verdict['verdict']): number => done.filter((f) => f.verdict.verdict === v).length;
  io.out(`${title}: ${plural(done.length, 'run')}, ${count('passed')} passed, ${count('caught')} caught, ${count('missed')} missed, ${count('unexpected')} unexpected\n`);
  if (stoppedBy !== undefined) {
    io.err(`pvemu: torture: interrupted by ${stoppedBy} after ${plural(done.length, 'run')}; the table shows those\n`);
    return EXIT_SIGNAL[stoppedBy];
  }
  return bad.length === 0 ? EXIT_OK : EXIT_FAILED;
}
