/**
 * One machine run of the `load` and `soak` cases and what became of it, and the correctness
 * checks over a list of them: the conservation laws (docs/architecture.md, "Correctness") (IPIs sent =
 * handled, call/flush requests = acknowledgements, frames allocated − freed = in use), the
 * workload's self-check, and that the run finished at all. A broken law or self-check is a
 * FAILED check (the case exits 1); a slow run is not. Main thread.
 */
import { performance } from 'node:perf_hooks';
import { ConservationError } from '../../src/lib/errors.js';
import { conservationViolations } from '../../src/machine/conservation.js';
import type { Report } from '../../src/report/types.js';
import { runMachine, type MachineOutcome } from './machine-run.js';
import { formatDuration, runBudgetSeconds, runLabel, type LoadRunSpec } from './load-matrix.js';
import type { Check } from './target.js';

/**
 * Wait limit for the load and soak machines, ms. The machine's default (5 s) is a latency
 * alarm for a host with a core per running vCPU; here 64 vCPUs share 2 cores with other work,
 * and a native shootdown names 63 targets that must each be scheduled to acknowledge. A wait
 * of 30 s is a hang on any host, so a trip is still a finding and not load.
 */
export const LOAD_WATCHDOG_MS = 30_000;

/** What became of one run. */
export type RunStatus =
  | { kind: 'passed' }
  | { kind: 'self-check-failed'; message: string }
  | { kind: 'conservation-violated'; message: string }
  /** The machine stopped on an error: a watchdog, a vCPU that threw, a coherence violation. */
  | { kind: 'error'; name: string; message: string }
  /** Not started: the time budget had no room left for it. */
  | { kind: 'skipped'; reason: string };

export interface LoadRunResult {
  spec: LoadRunSpec;
  status: RunStatus;
  /** Present when the machine returned a report (passed or self-check failed). */
  outcome?: MachineOutcome;
  /** Host seconds the run took, boot and teardown included (0 when skipped). */
  wallSeconds: number;
}

/**
 * The verdict on a returned report: the conservation laws first (a broken law is the deeper
 * fault), then the self-check. A report without its conservation figures counts as violated:
 * a run the laws were not checked on cannot pass a check of them.
 */
export function reportStatus(r: Pick<Report, 'conservation' | 'selfCheck'>): RunStatus {
  if (r.conservation === undefined) return { kind: 'conservation-violated', message: 'the report carries no conservation figures' };
  if (!r.conservation.ok) return { kind: 'conservation-violated', message: conservationViolations(r.conservation).join('; ') };
  if (!r.selfCheck.passed) return { kind: 'self-check-failed', message: r.selfCheck.message };
  return { kind: 'passed' };
}

/** The verdict on a run that threw: Machine throws ConservationError when a law fails. */
export function errorStatus(e: unknown): RunStatus {
  if (e instanceof ConservationError) return { kind: 'conservation-violated', message: e.message };
  if (e instanceof Error) return { kind: 'error', name: e.name, message: e.message };
  return { kind: 'error', name: 'Error', message: String(e) };
}

/** Boot, run and judge one machine; never throws (a failed run is a result). */
export async function runLoadMachine(spec: LoadRunSpec, seconds: number): Promise<LoadRunResult> {
  const t0 = performance.now();
  try {
    const outcome = await runMachine({
      backend: spec.backend,
      workload: spec.workload,
      cpus: spec.cpus,
      seconds,
      watchdogMs: LOAD_WATCHDOG_MS,
      ...(spec.pcpus !== undefined ? { pcpus: spec.pcpus } : {}),
    });
    return { spec, status: reportStatus(outcome.report), outcome, wallSeconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    return { spec, status: errorStatus(e), wallSeconds: (performance.now() - t0) / 1000 };
  }
}

/** One word for tables: pass, FAILED self-check, VIOLATED, ERROR, skipped. */
export function statusWord(s: RunStatus): string {
  switch (s.kind) {
    case 'passed': return 'pass';
    case 'self-check-failed': return 'SELF-CHECK FAILED';
    case 'conservation-violated': return 'CONSERVATION VIOLATED';
    case 'error': return `ERROR (${s.name})`;
    case 'skipped': return 'skipped';
    default: {
      const never: never = s;
      return never;
    }
  }
}

/** Failures quoted in a check's detail at most; the rest are counted (the table has them all). */
const MAX_QUOTED = 3;

function quote(failed: readonly LoadRunResult[], why: (r: LoadRunResult) => string): string {
  const shown = failed.slice(0, MAX_QUOTED).map((r) => `${runLabel(r.spec)}: ${why(r)}`);
  const more = failed.length > MAX_QUOTED ? `; and ${failed.length - MAX_QUOTED} more` : '';
  return `${shown.join('; ')}${more}`;
}

function message(s: RunStatus): string {
  switch (s.kind) {
    case 'self-check-failed':
    case 'conservation-violated':
      return s.message;
    case 'error': return `${s.name}: ${s.message.split('\n')[0] ?? ''}`;
    case 'passed':
    case 'skipped':
      return '';
    default: {
      const never: never = s;
      return never;
    }
  }
}

/**
 * The checks over a case's runs. Skipped runs are outside every check (the notes say how many);
 * a run that stopped on an error is outside the law and self-check counts, and fails the third
 * check. Every check fails when no run finished: a load test that ran nothing proves nothing.
 */
export function loadChecks(results: readonly LoadRunResult[]): Check[] {
  const started = results.filter((r) => r.status.kind !== 'skipped');
  const errored = started.filter((r) => r.status.kind === 'error');
  const checked = started.filter((r) => r.status.kind !== 'error');
  const violated = checked.filter((r) => r.status.kind === 'conservation-violated');
  const selfChecked = checked.filter((r) => r.status.kind !== 'conservation-violated');
  const selfFailed = selfChecked.filter((r) => r.status.kind === 'self-check-failed');
  const none = checked.length === 0;
  const outOf = (n: number, of: number, what: string): string => `${what} on ${n} of ${of} run${of === 1 ? '' : 's'}`;
  return [
    {
      what: 'conservation laws (IPIs sent = handled + coalesced, call requests = acks, frames allocated - freed = in use) at the end of every run',
      passed: !none && violated.length === 0,
      detail: none ? 'no run finished' : violated.length === 0
        ? outOf(checked.length, checked.length, 'held')
        : `${outOf(violated.length, checked.length, 'violated')}: ${quote(violated, (r) => message(r.status))}`,
    },
    {
      what: 'workload self-check on every run',
      passed: !none && selfFailed.length === 0,
      detail: none ? 'no run finished' : selfFailed.length === 0
        ? outOf(selfChecked.length, selfChecked.length, 'passed')
        : `${outOf(selfFailed.length, selfChecked.length, 'failed')}: ${quote(selfFailed, (r) => message(r.status))}`,
    },
    {
      what: 'every run finished (no watchdog, vCPU crash or coherence error)',
      passed: started.length > 0 && errored.length === 0,
      detail: started.length === 0 ? 'no run started' : errored.length === 0
        ? `${started.length} of ${started.length} finished`
        : `${errored.length} of ${started.length} stopped on an error: ${quote(errored, (r) => message(r.status))}`,
    },
  ];
}

/**
 * Runs `runs` in order, starting each (after the first) only while the budget has room for its
 * own budget (runBudgetSeconds); the rest are skipped, so the matrix never takes much longer
 * than `budgetSeconds` (a run already started is never cut short). `onRun` sees each result as it
 * comes, for progress lines.
 */
export async function runMatrixWithinBudget(
  runs: readonly LoadRunSpec[],
  seconds: number,
  budgetSeconds: number,
  onRun: (result: LoadRunResult, index: number) => void = () => {},
): Promise<LoadRunResult[]> {
  const t0 = performance.now();
  const results: LoadRunResult[] = [];
  for (const [i, spec] of runs.entries()) {
    const spent = (performance.now() - t0) / 1000;
    // The first run always starts: a budget is the sum of the runs' own, so it fits by definition.
    const result: LoadRunResult = i > 0 && spent + runBudgetSeconds(spec, seconds) > budgetSeconds
      ? { spec, status: { kind: 'skipped', reason: `${formatDuration(spent)} of the ${formatDuration(budgetSeconds)} budget spent` }, wallSeconds: 0 }
      : await runLoadMachine(spec, seconds);
    results.push(result);
    onRun(result, i);
  }
  return results;
}

/** One progress line for stderr. */
export function progressLine(r: LoadRunResult, index: number, total: number): string {
  const head = `${index + 1}/${total} ${runLabel(r.spec)}`;
  if (r.status.kind === 'skipped') return `${head}: skipped (${r.status.reason})`;
  const ops = r.outcome !== undefined ? `${r.outcome.report.opsPerSec.toFixed(1)} ops/s, ` : '';
  return `${head}: ${ops}${statusWord(r.status)} (${r.wallSeconds.toFixed(1)} s)`;
}
