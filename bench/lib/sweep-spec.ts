/**
 * What a sweep is: backends × vCPU counts × workloads × repetitions, each run stopped after
 * --seconds or --ops, expanded into one numbered list of runs, and the deterministic slice of it
 * that `--shard I/N` runs. Every shard of one sweep expands the same list, so shard I runs
 * exactly the rows whose index mod N is I-1 and N shards together run every row once.
 * Round-robin rather than contiguous blocks: consecutive rows differ in vCPU count and backend,
 * so each slice gets its share of the slow many-vCPU runs. Main thread; pure.
 */
import { DEFAULT_RUN_SECONDS } from '../../src/cli/options.js';
import type { Shard } from './args.js';

/** Run length of a sweep's runs when neither --seconds nor --ops is given, in seconds: pvemu run's default. */
export const DEFAULT_SWEEP_SECONDS = DEFAULT_RUN_SECONDS;
/** vCPU counts swept when --cpus is absent: the doubling series up to overcommit on small hosts. */
export const DEFAULT_SWEEP_CPUS: readonly number[] = [1, 2, 4, 8];
/** Workloads swept when --workloads is absent: the will-it-scale shootdown loop. */
export const DEFAULT_SWEEP_WORKLOADS: readonly string[] = ['tlb_flush1'];

/** The whole sweep, as given on the command line (every shard of it carries the same spec). */
export interface SweepSpec {
  backends: string[];
  cpus: number[];
  workloads: string[];
  /** Repetitions of each configuration, numbered 1..reps. */
  reps: number;
  /** Each run's stop condition: exactly one of seconds and ops. */
  seconds?: number;
  ops?: number;
  /** --clock virtual: every run in virtual time, its seconds and latencies modelled (absent: host time). */
  clock?: 'virtual';
}

/** One run of a sweep: what identifies a result row. */
export interface SweepRun {
  /** Position in the expanded list, 0-based: the row's identity across shards. */
  index: number;
  backend: string;
  cpus: number;
  workload: string;
  /** 1-based repetition. */
  rep: number;
}

/** Every run of the sweep, backends outermost, then vCPU counts, workloads, repetitions. */
export function expandSweep(spec: SweepSpec): SweepRun[] {
  const runs: SweepRun[] = [];
  for (const backend of spec.backends) {
    for (const cpus of spec.cpus) {
      for (const workload of spec.workloads) {
        for (let rep = 1; rep <= spec.reps; rep++) runs.push({ index: runs.length, backend, cpus, workload, rep });
      }
    }
  }
  return runs;
}

/** The runs shard `shard` owns: index mod count = index-1 (all of them without a shard). */
export function shardRuns(runs: readonly SweepRun[], shard: Shard | null): SweepRun[] {
  return shard === null ? [...runs] : runs.filter((r) => r.index % shard.count === shard.index - 1);
}

/** The spec as one canonical string, fields in a fixed order: two shards belong to one sweep iff equal. */
export function specKey(spec: SweepSpec): string {
  return JSON.stringify({
    backends: spec.backends,
    cpus: spec.cpus,
    workloads: spec.workloads,
    reps: spec.reps,
    seconds: spec.seconds ?? null,
    ops: spec.ops ?? null,
    clock: spec.clock ?? 'host',
  });
}

/** The first field in which two specs differ, for merge's refusal ("cpus: [1,2] vs [1,2,4]"). */
export function specDifference(a: SweepSpec, b: SweepSpec): string | undefined {
  for (const field of ['backends', 'cpus', 'workloads', 'reps', 'seconds', 'ops', 'clock'] as const) {
    const x = JSON.stringify(a[field] ?? null);
    const y = JSON.stringify(b[field] ?? null);
    if (x !== y) return `${field}: ${x} vs ${y}`;
  }
  return undefined;
}

/** "native, 4 vCPUs, tlb_flush1, rep 2": a run in messages and progress labels. */
export function describeRun(r: Omit<SweepRun, 'index'>): string {
  return `${r.backend}, ${r.cpus} vCPU${r.cpus === 1 ? '' : 's'}, ${r.workload}, rep ${r.rep}`;
}

/** "2 s per run" or "5000 ops per run" ("0.01 modelled s per run" in virtual time). */
export function describeStop(spec: SweepSpec): string {
  if (spec.ops !== undefined) return `${spec.ops} ops per run`;
  return `${spec.seconds ?? DEFAULT_SWEEP_SECONDS} ${spec.clock === 'virtual' ? 'modelled ' : ''}s per run`;
}

/** The unit of a sweep's latencies: "host µs", or "modelled µs" in virtual time. */
export function latencyUnit(spec: SweepSpec): string {
  return spec.clock === 'virtual' ? 'modelled µs' : 'host µs';
}
