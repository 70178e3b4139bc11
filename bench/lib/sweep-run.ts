/**
 * Runs a sweep's slice one machine at a time (runs would otherwise compete for host cores and
 * skew each other's latencies), turning each run into a row: a run that throws becomes a failed
 * row with its error, and the sweep goes on. Progress on stderr when it is a terminal.
 * Main thread (each machine starts its own vCPU workers).
 */
import { startProgress, type ProgressStream } from '../../src/cli/progress.js';
import type { Shard } from './args.js';
import { benchHost } from './host.js';
import { runMachine, runNotes, type MachineOutcome } from './machine-run.js';
import { completedRow, failedRow, SWEEP_FORMAT, SWEEP_VERSION, type SweepResult, type SweepRow } from './sweep-result.js';
import { describeRun, expandSweep, shardRuns, type SweepRun, type SweepSpec } from './sweep-spec.js';
import { benchStop } from './stop.js';
import type { StopSignal } from '../../src/cli/stop-signal.js';

/** Boots and runs one machine for a row; tests substitute their own. */
export type SweepRunner = (run: SweepRun, spec: SweepSpec, log: (line: string) => void) => Promise<MachineOutcome>;

export const machineRunner: SweepRunner = (run, spec, log) => runMachine({
  backend: run.backend,
  workload: run.workload,
  cpus: run.cpus,
  ...(spec.ops !== undefined ? { ops: spec.ops } : { seconds: spec.seconds }),
  ...(spec.clock !== undefined ? { clock: spec.clock } : {}),
  log,
});

export interface SweepRunOptions {
  runner?: SweepRunner;
  /** The signal that stopped the bench, if one has (default: benchStop's); asked before and after each run. */
  stopped?: () => StopSignal | undefined;
  /** Where progress and the per-run lines go (default: stderr; a bar only if a terminal). */
  stream?: ProgressStream;
}

/** Runs `shard`'s slice of `spec` (all of it when null) and returns its result. */
export async function runSweep(spec: SweepSpec, shard: Shard | null, options: SweepRunOptions = {}): Promise<SweepResult> {
  const runner = options.runner ?? machineRunner;
  const all = expandSweep(spec);
  const mine = shardRuns(all, shard);
  const host = benchHost();
  const startedAt = new Date().toISOString();
  const progress = startProgress({ total: mine.length, unit: 'runs', title: 'sweep', ...(options.stream !== undefined ? { stream: options.stream } : {}) });
  const stopped = options.stopped ?? (() => benchStop.signal);
  const rows: SweepRow[] = [];
  let interrupted: StopSignal | undefined;
  try {
    for (const [i, run] of mine.entries()) {
      interrupted = stopped();
      if (interrupted !== undefined) break;
      progress.update(i, describeRun(run));
      const row = await runOne(run, spec, runner, (line) => progress.log(line));
      // A run cut short by the stop measured part of its time: it is missing, not a row.
      interrupted = stopped();
      if (interrupted !== undefined) break;
      rows.push(row);
      progress.update(i + 1);
    }
  } finally {
    progress.stop();
  }
  const done = new Set(rows.map((r) => r.index));
  return {
    format: SWEEP_FORMAT,
    version: SWEEP_VERSION,
    spec,
    totalRuns: all.length,
    shard,
    sources: [{ shard, host, startedAt, finishedAt: new Date().toISOString() }],
    missing: interrupted === undefined ? [] : mine.filter((r) => !done.has(r.index)),
    rows,
    ...(interrupted !== undefined ? { interrupted: { signal: interrupted } } : {}),
  };
}

/**
 * One row. Any throw is the run's result: a PvemuError (watchdog, conservation, a vCPU's error)
 * is what the sweep exists to record, and even an emulator bug in one configuration must not
 * cost the other hours of a sweep; the error's name says which it was.
 */
async function runOne(run: SweepRun, spec: SweepSpec, runner: SweepRunner, log: (line: string) => void): Promise<SweepRow> {
  let outcome: MachineOutcome;
  try {
    outcome = await runner(run, spec, log);
  } catch (err) {
    const row = failedRow(run, err);
    log(`bench: ${describeRun(run)} FAILED: ${row.error.name}: ${row.error.message}\n`);
    return row;
  }
  return completedRow(run, outcome, runNotes(outcome));
}
