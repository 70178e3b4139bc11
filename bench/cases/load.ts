/**
 * Case `load`: many vCPUs on a small host, every workload on every backend. Each run is a
 * machine of --cpus vCPUs (default 64) for --seconds of work; beyond the host's cores the
 * overcommit scheduler (--pcpus = the core count) runs them. The case prints each run's
 * throughput and checks the conservation laws (IPIs, call/flush acknowledgements, frames) and
 * the workload's self-check at its end: a broken one FAILS the case (exit 1). Throughput has
 * no target here — on two cores 64 vCPUs are slow by construction — but a run that completed
 * no operation at all is a MISSED progress target. The whole matrix runs within a time budget
 * printed before the first run. Main thread.
 */
import { availableParallelism } from 'node:os';
import { backends as allBackends } from '../../src/hv/registry.js';
import { workloads as allWorkloads } from '../../src/workloads/registry.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { expandLoadMatrix, formatDuration, matrixBudgetSeconds, runLabel, runOverheadSeconds } from '../lib/load-matrix.js';
import { LOAD_WATCHDOG_MS, loadChecks, progressLine, runMatrixWithinBudget, statusWord, type LoadRunResult } from '../lib/load-run.js';
import { EARLY_END_SHARE, runNotes } from '../lib/machine-run.js';
import { count, usFromNs, type Table } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';

/** vCPUs per run when --cpus is absent: the most a machine has (cpumasks are two words). */
const DEFAULT_CPUS = [64];
/**
 * Seconds of work per run when --seconds is absent. At 64 vCPUs on 2 physical CPUs each vCPU
 * holds a CPU 1/32 of the time, so its worker's code warms up slowly and one operation of the
 * toggling workloads (mprotect, munmap: two 63-target shootdowns and a dwell of faulting
 * probes on thread 0's vCPU) takes seconds: with 2 s, mprotect, munmap and ebizzy completed no
 * operation on any backend on the 2-core VM this was written on. Boot and teardown cost 10 to
 * 30 s per run there anyway, so 5 s of work adds little to the total.
 */
const DEFAULT_SECONDS = 5;

const PROGRESS_TARGET: Target = { what: 'share of finished runs that completed at least one operation', op: '>=', limit: 1, unit: '' };

/** ops/s with a decimal below 100, so a slow run that did complete operations does not read 0. */
function opsPerSec(v: number): string {
  return v < 100 ? v.toFixed(1) : count(v);
}

/** The ops/s cell of a run, or what stopped it. */
function opsCell(r: LoadRunResult | undefined): string {
  if (r === undefined) return '';
  if (r.outcome === undefined) return statusWord(r.status);
  const ops = opsPerSec(r.outcome.report.opsPerSec);
  return r.status.kind === 'passed' ? ops : `${ops} ${statusWord(r.status)}`;
}

function throughputTable(results: readonly LoadRunResult[], cpuCounts: readonly number[], workloads: readonly string[], backends: readonly string[], seconds: number): Table {
  const rows: string[][] = [];
  for (const cpus of cpuCounts) {
    for (const workload of workloads) {
      const label = cpuCounts.length > 1 ? `${workload} @${cpus}` : workload;
      rows.push([label, ...backends.map((b) => opsCell(results.find((r) => r.spec.cpus === cpus && r.spec.workload === workload && r.spec.backend === b)))]);
    }
  }
  const counts = cpuCounts.join(', ');
  return { title: `ops/s by workload and backend, ${counts} vCPUs, ${seconds} s of work per run`, header: ['workload', ...backends], rows };
}

function runsTable(results: readonly LoadRunResult[]): Table {
  const rows = results.map((res) => {
    const s = res.spec;
    const head = [s.workload, s.backend, `${s.cpus}`, s.pcpus !== undefined ? `${s.pcpus}` : '-'];
    const r = res.outcome?.report;
    if (r === undefined) return [...head, res.wallSeconds > 0 ? res.wallSeconds.toFixed(1) : '-', '', '', '', '', '', '', '', '', statusWord(res.status)];
    const c = r.conservation;
    return [
      ...head,
      res.wallSeconds.toFixed(1),
      r.seconds.toFixed(2),
      count(r.ops),
      opsPerSec(r.opsPerSec),
      count(r.shootdowns.count),
      usFromNs(r.shootdowns.latencyNs.p50),
      c !== undefined ? `${count(c.ipis.sent)}=${count(c.ipis.handled)}+${count(c.ipis.coalesced)}` : '?',
      c !== undefined ? `${count(c.flushes.requests)}=${count(c.flushes.acks)}` : '?',
      c !== undefined ? `${count(c.frames.allocated)}-${count(c.frames.freed)}=${c.frames.inUse}` : '?',
      statusWord(res.status),
    ];
  });
  return {
    title: 'runs: host seconds (boot and teardown included), seconds of work, conservation figures at the end',
    header: ['workload', 'backend', 'vCPUs', 'pCPUs', 'wall s', 'work s', 'ops', 'ops/s', 'shootdowns', 'p50 µs', 'IPIs sent=handled+coalesced', 'calls=acks', 'frames alloc-freed=in use', 'result'],
    rows,
  };
}

export const loadCase: BenchCase = {
  description: 'many vCPUs (default 64) on every workload and backend: throughput, conservation laws and self-checks of each run',
  options: ['cpus', 'seconds', 'backends', 'workloads', 'pcpus', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const seconds = options.seconds ?? DEFAULT_SECONDS;
    const cpuCounts = options.cpus ?? DEFAULT_CPUS;
    const workloads = options.workloads ?? Object.keys(allWorkloads);
    const backends = options.backends ?? Object.keys(allBackends);
    const hostCores = availableParallelism();
    const pcpus = options.pcpus ?? hostCores;
    const runs = expandLoadMatrix({ cpus: cpuCounts, workloads, backends, pcpus });
    const budget = matrixBudgetSeconds(runs, seconds);
    const plan = `${runs.length} runs (${cpuCounts.join(', ')} vCPUs × ${workloads.length} workloads × ${backends.length} backends), ` +
      `${seconds} s of work each plus boot and teardown; time budget ${formatDuration(budget)} ` +
      `(${seconds} s + ${runOverheadSeconds(cpuCounts[0] ?? 1).toFixed(1)} s per run at ${cpuCounts[0] ?? 1} vCPUs); runs that no longer fit it are skipped`;
    process.stderr.write(`bench: load: ${plan}\n`);

    const results = await runMatrixWithinBudget(runs, seconds, budget, (r, i) => process.stderr.write(`bench: load: ${progressLine(r, i, runs.length)}\n`));

    const finished = results.filter((r) => r.outcome !== undefined);
    const progressed = finished.filter((r) => (r.outcome?.report.ops ?? 0) > 0);
    const skipped = results.filter((r) => r.status.kind === 'skipped');
    const wall = results.reduce((t, r) => t + r.wallSeconds, 0);
    const stalled = finished.filter((r) => r.outcome?.report.ops === 0).map((r) => runLabel(r.spec));
    const overcommitted = runs.filter((r) => r.pcpus !== undefined);
    // runNotes notes each of these; here they are one note (the runs table has every figure).
    const short = finished.filter((r) => { const w = r.outcome?.report.seconds ?? 0; return w > 0 && w < EARLY_END_SHARE * seconds; });
    return {
      tables: [throughputTable(results, cpuCounts, workloads, backends, seconds), runsTable(results)],
      notes: [
        `plan: ${plan}; took ${formatDuration(wall)}`,
        ...(overcommitted.length > 0
          ? [`runs with more than ${pcpus} vCPUs run under the overcommit scheduler (--pcpus ${pcpus}; the host has ${hostCores} cores): at most ${pcpus} vCPUs` +
            ' run at once in 3 ms slices and the others park PREEMPTED, so KVM\'s PV flush and Xen\'s deferred flush take their preempted-target paths;' +
            ` without it (--pcpus 0) ${Math.max(...cpuCounts)} worker threads take turns under the host's scheduler, unseen by the guest`]
          : [`${pcpus === 0 ? 'no overcommit scheduler (--pcpus 0)' : `no run has more than ${pcpus} vCPUs`}: every vCPU thread runs at will on the host's ${hostCores} cores`]),
        `each machine's watchdog allows ${LOAD_WATCHDOG_MS / 1000} s for a wait (the default 5 s is a latency alarm; a shootdown to dozens of targets on 2 busy cores can take seconds)`,
        'throughput is bound by the host: with more vCPUs than cores a native shootdown waits until the scheduler has run every target; compare backends, not absolute figures',
        ...(skipped.length > 0 ? [`${skipped.length} of ${runs.length} runs skipped: the time budget ran out (a busy host); they are outside every check`] : []),
        ...(stalled.length > 0 ? [`no operation completed in ${stalled.join(', ')}: raise --seconds or lower --cpus for these`] : []),
        ...(short.length > 0
          ? [`in ${short.length} of ${finished.length} runs the work lasted under ${EARLY_END_SHARE * 100}% of the ${seconds} s asked ("work s"): the clock starts` +
            ' when boot ends, and the threads are cloned and meet at the start barrier after that (up to a second at 64 vCPUs)']
          : []),
        // Each run's own notes, less the short-work ones counted above.
        ...finished.flatMap((r) => (r.outcome !== undefined ? runNotes(r.outcome).filter((n) => !n.includes(': work lasted ')) : [])),
      ],
      verdicts: [judge(PROGRESS_TARGET, finished.length > 0 ? progressed.length / finished.length : Number.NaN)],
      checks: loadChecks(results),
      figures: {
        seconds,
        cpus: cpuCounts,
        workloads,
        backends,
        hostCores,
        pcpus,
        watchdogMs: LOAD_WATCHDOG_MS,
        budgetSeconds: budget,
        wallSeconds: wall,
        runs: results.map((r) => ({
          ...r.spec,
          status: r.status,
          wallSeconds: r.wallSeconds,
          ...(r.outcome !== undefined
            ? {
                elapsedSeconds: r.outcome.report.seconds,
                ops: r.outcome.report.ops,
                opsPerSec: r.outcome.report.opsPerSec,
                shootdowns: r.outcome.report.shootdowns,
                ipis: r.outcome.report.ipis,
                conservation: r.outcome.report.conservation,
                selfCheck: r.outcome.report.selfCheck,
              }
            : {}),
        })),
      },
    };
  },
};
