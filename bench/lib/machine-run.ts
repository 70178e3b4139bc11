/**
 * Runs one pvemu machine for a bench case and says what a reader of its figures must know.
 * Main thread (the machine starts its own vCPU workers).
 */
import { availableParallelism } from 'node:os';
import { defaultConfig, type ClockMode, type MachineConfig } from '../../src/machine/config.js';
import type { ProgramImage } from '../../src/vcpu/task-args.js';
import { Machine } from '../../src/machine/machine.js';
import { buildReport } from '../../src/report/build.js';
import type { Report } from '../../src/report/types.js';
import { benchStop } from './stop.js';

/** Machine cases measure the native backend unless they name another: the reference the others are compared with. */
export const BENCH_BACKEND = 'native';

/** Console lines quoted in the notes at most: the first few say what went wrong. */
const MAX_QUOTED_LINES = 3;
/** What a run's note on unreliable host time says after its label (src/report/host-usage.ts says when). */
export const UNRELIABLE_NOTE = ': host-time figures unreliable: ';
/** A timed run whose measured work lasted less than this share of --seconds ended early. */
export const EARLY_END_SHARE = 0.8;

interface MachineRunCommon {
  /** Backend to run (default BENCH_BACKEND). */
  backend?: string;
  cpus: number;
  /** Where the "running ..." line goes (default: stderr); a progress bar routes it above itself. */
  log?: (line: string) => void;
  /** Physical CPUs for the overcommit scheduler (absent: every vCPU runs). */
  pcpus?: number;
  /** Wait limit before a watchdog names a stuck vCPU, ms (absent: the machine's default). */
  watchdogMs?: number;
  /** --clock (absent: host time). */
  clock?: ClockMode;
}

/** A registered workload (src/workloads), run for a time or a number of operations. */
export interface WorkloadRun extends MachineRunCommon {
  workload: string;
  program?: undefined;
  /** Run this long, or ... */
  seconds?: number;
  /** ... until this many operations in total (then `seconds` must be absent). */
  ops?: number;
  params?: Record<string, number>;
}

/**
 * A riscv32 program run as init (MachineConfig.program): its arguments set its work, so it
 * runs until it exits, `seconds` being only a time limit; the report's workload is its name.
 */
export interface ProgramRun extends MachineRunCommon {
  program: ProgramImage;
  workload?: undefined;
  /** Time limit: the program is killed (and fails its self-check) if it has not exited by then. */
  seconds?: number;
  ops?: undefined;
  params?: undefined;
}

export type MachineRun = WorkloadRun | ProgramRun;

export interface MachineOutcome {
  report: Report;
  /** The guest console (kernel messages, SIGSEGV reports, workload FAIL lines). */
  console: string;
  /** Seconds asked for (undefined for an ops-bounded run, and for a program, which ends when it exits). */
  requestedSeconds: number | undefined;
}

export async function runMachine(run: MachineRun): Promise<MachineOutcome> {
  const config: MachineConfig = { ...defaultConfig(), backend: run.backend ?? BENCH_BACKEND, cpus: run.cpus };
  let what: string;
  if (run.program !== undefined) {
    config.program = run.program;
    config.workload = run.program.name;
    what = [run.program.name, ...run.program.argv.slice(1)].join(' ');
  } else {
    config.workload = run.workload;
    what = run.workload;
  }
  if (run.pcpus !== undefined) config.pcpus = run.pcpus;
  if (run.watchdogMs !== undefined) config.watchdogMs = run.watchdogMs;
  if (run.clock !== undefined) config.clock = run.clock;
  if (run.ops !== undefined || (run.program !== undefined && run.seconds === undefined)) {
    // An ops-bounded run, or a program that runs until it exits, must not carry the default's time limit.
    delete config.seconds;
    if (run.ops !== undefined) config.ops = run.ops;
  } else if (run.seconds !== undefined) {
    config.seconds = run.seconds;
  }
  if (run.params !== undefined) config.params = { ...run.params };
  const stop = run.program !== undefined
    ? ` until it exits${config.seconds !== undefined ? ` (at most ${config.seconds} s)` : ''}`
    : config.ops !== undefined ? ` for ${config.ops} ops` : ` for ${config.seconds ?? '?'} s`;
  const log = run.log ?? ((line: string) => void process.stderr.write(line));
  log(`bench: running ${what} on ${run.cpus} vCPU${run.cpus === 1 ? '' : 's'}` +
    `${config.pcpus !== undefined ? ` (${config.pcpus} physical)` : ''}${run.backend !== undefined ? `, backend ${run.backend}` : ''}` +
    `${stop}${run.params !== undefined ? ` with ${JSON.stringify(run.params)}` : ''}\n`);
  // Machine.run + buildReport is what runReport does; the raw result also carries the console.
  const raw = await benchStop.run(new Machine(config));
  return {
    report: buildReport(config, raw),
    console: raw.console,
    // A program's --seconds is a limit, not a length: one that exits sooner did not end early.
    requestedSeconds: run.program !== undefined ? undefined : config.seconds,
  };
}

/**
 * Notes on one run: anything that casts doubt on its figures — a failed self-check, guest
 * threads killed by SIGSEGV (a SIGSEGV the workload catches, as mprotect's and munmap's probes
 * do, kills nothing), a run that ended early or measured no elapsed time, vCPUs overcommitted
 * on the host's cores.
 */
export function runNotes(o: MachineOutcome): string[] {
  const r = o.report;
  const notes: string[] = [];
  const label = `${r.workload} on ${r.cpus} vCPU${r.cpus === 1 ? '' : 's'}${r.backend !== BENCH_BACKEND ? ` (${r.backend})` : ''}`;
  if (!r.selfCheck.passed) notes.push(`${label}: self-check FAILED (${r.selfCheck.message}); its figures are suspect`);
  const killed = r.counters.tasksKilled;
  if (killed > 0) {
    const lines = o.console.split('\n').filter((l) => l.includes('SIGSEGV')).slice(0, MAX_QUOTED_LINES);
    notes.push(`${label}: ${killed} guest thread${killed === 1 ? '' : 's'} killed by SIGSEGV (${r.faultsDetail.segv} in all)` +
      ` (console: ${lines.join('; ')}); the threads that took one stopped there`);
  }
  if (r.seconds === 0) {
    notes.push(`${label}: the run measured 0 s of work (no vCPU recorded the end of its work), so its ops/s reads 0`);
  } else if (o.requestedSeconds !== undefined && r.seconds < EARLY_END_SHARE * o.requestedSeconds) {
    notes.push(`${label}: work lasted ${r.seconds.toFixed(2)} s of the ${o.requestedSeconds} s asked`);
  }
  if (r.interrupted !== undefined) notes.push(`${label}: interrupted by ${r.interrupted.signal}; its figures cover the run until then`);
  // In virtual time no figure of the run is host time.
  if (r.config.clock === 'host' && r.hostUsage?.unreliable !== undefined) notes.push(`${label}${UNRELIABLE_NOTE}${r.hostUsage.unreliable.join('; ')}`);
  const cores = availableParallelism();
  // With --pcpus at most the host's cores, the hypervisor scheduler keeps the running vCPUs within them.
  if (r.cpus > cores && (r.config.pcpus ?? r.cpus) > cores) notes.push(`${label}: ${r.cpus} vCPUs on ${cores} host cores, overcommitted: vCPUs share cores`);
  return notes;
}
