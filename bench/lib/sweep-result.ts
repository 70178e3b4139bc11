/**
 * A sweep's results: one row per run (a completed run's figures, or a failed run's error), and
 * the file that carries them with the sweep's spec, its shard and the hosts it ran on. The shape
 * is published as a JSON Schema (bench/schema/sweep.schema.json) and checked against it when
 * merge reads a file. Main thread.
 */
import type { BenchHost } from './host.js';
import type { MachineOutcome } from './machine-run.js';
import type { Shard } from './args.js';
import type { SweepRun, SweepSpec } from './sweep-spec.js';

/** The file's "format" and "version": what merge accepts. */
export const SWEEP_FORMAT = 'pvemu-sweep';
export const SWEEP_VERSION = 1;

/** A run that completed (its self-check may still have failed: see selfCheckPassed). */
export interface CompletedRow extends SweepRun {
  status: 'ok';
  /** Workload operations, all vCPUs. */
  ops: number;
  /** Host seconds of the workload (start barrier to last operation). */
  seconds: number;
  opsPerSec: number;
  /** Calls of flushTlbOthers. */
  shootdowns: number;
  /** Host ns on the initiator's critical path per shootdown (0 when there were none). */
  shootdownP50Ns: number;
  shootdownP99Ns: number;
  /** Modelled cycles per shootdown, from the cost table. */
  cyclesP50: number;
  cyclesP99: number;
  /** IPIs sent, all vCPUs (shootdowns' and others'). */
  ipis: number;
  selfCheckPassed: boolean;
  selfCheckMessage: string;
  /** Every conservation law held at the end of the run (src/machine/conservation.ts). */
  conservationOk: boolean;
  /** What a reader must know to trust the figures (runNotes), possibly empty. */
  notes: string[];
}

/** A run that threw: its error instead of figures. */
export interface FailedRow extends SweepRun {
  status: 'failed';
  error: { name: string; message: string };
}

export type SweepRow = CompletedRow | FailedRow;

/** Where one file's rows came from. */
export interface SweepSource {
  /** The slice this source ran (null: the whole sweep). */
  shard: Shard | null;
  host: BenchHost;
  /** ISO 8601 times around the source's runs. */
  startedAt: string;
  finishedAt: string;
  /** The file merge read it from (absent in a file written by the sweep itself). */
  file?: string;
}

export interface SweepResult {
  format: typeof SWEEP_FORMAT;
  version: typeof SWEEP_VERSION;
  spec: SweepSpec;
  /** Runs in the whole sweep (every shard's rows together). */
  totalRuns: number;
  /** The slice these rows are (null: the whole sweep, run at once or merged). */
  shard: Shard | null;
  /** One per sweep process whose rows are here: one for a sweep, one per shard for a merge. */
  sources: SweepSource[];
  /** Runs of this result's slice that no row covers (merge of an incomplete set of shards). */
  missing: SweepRun[];
  /** By index. */
  rows: SweepRow[];
  /**
   * The sweep was stopped by a signal (Ctrl-C, SIGTERM): `rows` are the runs that finished, and
   * `missing` the rest, the run cut short among them. Absent: it ran to the end.
   */
  interrupted?: { signal: string };
}

/** A completed run's row. */
export function completedRow(run: SweepRun, o: MachineOutcome, notes: readonly string[]): CompletedRow {
  const r = o.report;
  return {
    ...run,
    status: 'ok',
    ops: r.ops,
    seconds: r.seconds,
    opsPerSec: r.opsPerSec,
    shootdowns: r.shootdowns.count,
    shootdownP50Ns: r.shootdowns.latencyNs.p50,
    shootdownP99Ns: r.shootdowns.latencyNs.p99,
    cyclesP50: r.shootdowns.modeledCycles.p50,
    cyclesP99: r.shootdowns.modeledCycles.p99,
    ipis: r.ipis.sent,
    selfCheckPassed: r.selfCheck.passed,
    selfCheckMessage: r.selfCheck.message,
    // Machine.run throws ConservationError when a law fails (that run becomes a failed row), so a
    // report without the conservation field still held every law; when present, it says so itself.
    conservationOk: r.conservation?.ok ?? true,
    notes: [...notes],
  };
}

/** A run that threw, with its error on one line. */
export function failedRow(run: SweepRun, err: unknown): FailedRow {
  const name = err instanceof Error ? err.name : 'Error';
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, '; ').trim();
  return { ...run, status: 'failed', error: { name, message } };
}

/** Rows whose figures can be charted: completed, and the workload's own check passed. */
export function chartableRows(rows: readonly SweepRow[]): CompletedRow[] {
  return rows.filter((r): r is CompletedRow => r.status === 'ok' && r.selfCheckPassed);
}

/** The JSON file name of a result: sweep.json, or sweep-shard-I-of-N.json for a slice. */
export function resultFileName(shard: Shard | null): string {
  return shard === null ? 'sweep.json' : `sweep-shard-${shard.index}-of-${shard.count}.json`;
}

/** A file name merge picks up from a directory. */
export const RESULT_FILE = /^sweep(?:-shard-\d+-of-\d+)?\.json$/;
