/**
 * Runs one pvemu machine for a bench case and says what a reader of its figures must know.
 * Main thread (the machine starts its own vCPU workers).
 */
import { availableParallelism } from 'node:os';
import { defaultConfig, type MachineConfig } from '../../src/machine/config.js';
import { Machine } from '../../src/machine/machine.js';
import type { Report } from '../../src/stats/report.js';

/** Every machine case measures the native backend: the reference the others are compared with. */
export const BENCH_BACKEND = 'native';

export interface MachineRun {
  workload: string;
  cpus: number;
  /** Run this long, or ... */
  seconds?: number;
  /** ... until this many operations in total (then `seconds` must be absent). */
  ops?: number;
  params?: Record<string, number>;
}

export async function runMachine(run: MachineRun): Promise<Report> {
  const config: MachineConfig = { ...defaultConfig(), backend: BENCH_BACKEND, cpus: run.cpus, workload: run.workload };
  if (run.ops !== undefined) {
    // An ops-bounded run must not also carry the default's time limit.
    delete config.seconds;
    config.ops = run.ops;
  } else if (run.seconds !== undefined) {
    config.seconds = run.seconds;
  }
  if (run.params !== undefined) config.params = { ...run.params };
  process.stderr.write(`bench: running ${run.workload} on ${run.cpus} vCPU${run.cpus === 1 ? '' : 's'}` +
    `${run.ops !== undefined ? ` for ${run.ops} ops` : ` for ${config.seconds ?? '?'} s`}` +
    `${run.params !== undefined ? ` with ${JSON.stringify(run.params)}` : ''}\n`);
  return new Machine(config).run();
}

/** Notes on one run: a failed self-check or an overcommitted host casts doubt on its figures. */
export function runNotes(r: Report): string[] {
  const notes: string[] = [];
  const label = `${r.workload} on ${r.cpus} vCPU${r.cpus === 1 ? '' : 's'}`;
  if (!r.selfCheck.passed) notes.push(`${label}: self-check FAILED (${r.selfCheck.message}); its figures are suspect`);
  const cores = availableParallelism();
  if (r.cpus > cores) notes.push(`${label}: ${r.cpus} vCPUs on ${cores} host cores, overcommitted: vCPUs share cores`);
  return notes;
}
