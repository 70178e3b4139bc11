/**
 * Case `soak`: machines booted, run and torn down back to back for --minutes, cycling through
 * backends × workloads × vCPU counts (default: every backend, tlb_flush1, 4 vCPUs). It prints
 * throughput over time per backend/workload and the process's memory over time, sampled after
 * a full garbage collection between runs. Targets: memory (rss, heapUsed, external +
 * arrayBuffers) grows by at most 10% from the second minute to the end — judged only on soaks
 * of at least two minutes. Checks (a failure exits 1): every run's conservation laws and
 * self-check, as in `load`, and that each finished machine's guest RAM was released. Main thread.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { backends as allBackends } from '../../src/hv/registry.js';
import { defaultConfig } from '../../src/machine/config.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { expandLoadMatrix, formatDuration, runBudgetSeconds, runLabel, type LoadRunSpec } from '../lib/load-matrix.js';
import { LOAD_WATCHDOG_MS, loadChecks, runLoadMachine, statusWord, type LoadRunResult } from '../lib/load-run.js';
import { runNotes } from '../lib/machine-run.js';
import {
  GROWTH_LIMIT_PCT, MEMORY_METRICS, garbageCollector, judgeMemoryGrowth, metricValue, mib, sampleMemory, type MemorySample,
} from '../lib/soak-memory.js';
import { bucketCount, bucketIndex, bucketLabel, bucketMeans, bucketSeconds } from '../lib/soak-series.js';
import { count, type Table } from '../lib/table.js';
import { judge, type Check, type Verdict } from '../lib/target.js';

/** Soak length when --minutes is absent: the shortest soak the memory target is judged on, plus a minute. */
const DEFAULT_MINUTES = 3;
const DEFAULT_SECONDS = 2;
/** A few vCPUs: many runs per minute, each with real shootdowns between real threads. */
const DEFAULT_CPUS = [4];
const DEFAULT_WORKLOADS = ['tlb_flush1'];

/** A run of the soak, with when it started and ended (seconds since the soak began). */
interface SoakRun extends LoadRunResult {
  startSeconds: number;
  endSeconds: number;
}

function seriesKey(spec: LoadRunSpec, several: { workloads: boolean; cpus: boolean }): string {
  return [spec.backend, ...(several.workloads ? [spec.workload] : []), ...(several.cpus ? [`${spec.cpus}`] : [])].join('/');
}

function throughputTable(runs: readonly SoakRun[], bucketSec: number, buckets: number, several: { workloads: boolean; cpus: boolean }): Table {
  const finished = runs.filter((r) => r.outcome !== undefined);
  const means = bucketMeans(finished.map((r) => ({ atSeconds: r.startSeconds, key: seriesKey(r.spec, several), value: r.outcome?.report.opsPerSec ?? 0 })), bucketSec, buckets);
  const rows = [...means].map(([key, values]) => {
    const seen = values.filter((v) => Number.isFinite(v));
    const first = seen[0];
    const last = seen[seen.length - 1];
    const drift = first !== undefined && last !== undefined && first > 0 && seen.length > 1 ? (last / first).toFixed(2) : '-';
    return [key, `${finished.filter((r) => seriesKey(r.spec, several) === key).length}`, ...values.map((v) => (Number.isFinite(v) ? count(v) : '-')), drift];
  });
  const labels = Array.from({ length: buckets }, (_, i) => bucketLabel(i, bucketSec));
  return { title: 'throughput over time: mean ops/s of the runs started in each interval', header: ['series', 'runs', ...labels, 'last/first'], rows };
}

function memoryTable(samples: readonly MemorySample[], runs: readonly SoakRun[], bucketSec: number, buckets: number): Table {
  const rows: string[][] = [];
  for (let b = 0; b < buckets; b++) {
    const inBucket = samples.filter((s) => bucketIndex(s.atSeconds, bucketSec, buckets) === b);
    const last = inBucket[inBucket.length - 1];
    if (last === undefined) continue;
    const started = runs.filter((r) => bucketIndex(r.startSeconds, bucketSec, buckets) === b).length;
    const peakAb = Math.max(...inBucket.map((s) => s.arrayBuffers));
    rows.push([bucketLabel(b, bucketSec), `${started}`, `${last.atSeconds.toFixed(0)}`, mib(last.rss), mib(last.heapUsed), mib(last.external), mib(last.arrayBuffers), mib(peakAb)]);
  }
  return {
    title: 'process memory over time, MiB, after a full GC between runs: the last sample of each interval (and the largest arrayBuffers)',
    header: ['interval', 'runs', 'at s', 'rss', 'heapUsed', 'external', 'arrayBuffers', 'max arrayBuffers'],
    rows,
  };
}

/** Guest RAM of a finished machine must be garbage once its workers are gone. */
function releaseCheck(samples: readonly MemorySample[], ramBytes: number): Check {
  const afterRuns = samples.filter((s) => s.atSeconds > 0);
  const held = afterRuns.filter((s) => s.arrayBuffers >= ramBytes);
  const peak = Math.max(0, ...afterRuns.map((s) => s.arrayBuffers));
  return {
    what: `guest RAM of every finished machine released (arrayBuffers after a full GC below one guest RAM, ${mib(ramBytes)} MiB)`,
    passed: afterRuns.length > 0 && held.length === 0,
    detail: afterRuns.length === 0
      ? 'no sample after a run'
      : held.length === 0
        ? `${afterRuns.length} samples, largest ${mib(peak)} MiB`
        : `${held.length} of ${afterRuns.length} samples held ${mib(peak)} MiB at most: finished machines' RAM is retained`,
  };
}

export const soakCase: BenchCase = {
  description: 'machines run back to back for --minutes: throughput and process memory over time, conservation laws of every run',
  options: ['minutes', 'seconds', 'cpus', 'backends', 'workloads', 'pcpus', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const minutes = options.minutes ?? DEFAULT_MINUTES;
    const seconds = options.seconds ?? DEFAULT_SECONDS;
    const cpuCounts = options.cpus ?? DEFAULT_CPUS;
    const workloads = options.workloads ?? DEFAULT_WORKLOADS;
    const backends = options.backends ?? Object.keys(allBackends);
    const pcpus = options.pcpus ?? availableParallelism();
    const cycle = expandLoadMatrix({ cpus: cpuCounts, workloads, backends, pcpus });
    const several = { workloads: workloads.length > 1, cpus: cpuCounts.length > 1 };
    const longestRun = Math.max(...cycle.map((r) => runBudgetSeconds(r, seconds)));
    const plan = `runs back to back for ${formatDuration(minutes * 60)}, cycling through ${cycle.length} machine${cycle.length === 1 ? '' : 's'} ` +
      `(${cpuCounts.join(', ')} vCPUs × ${workloads.join(', ')} × ${backends.join(', ')}), ${seconds} s of work each; ` +
      `the run in progress at the end finishes: at most about ${formatDuration(minutes * 60 + longestRun)} in all`;
    process.stderr.write(`bench: soak: ${plan}\n`);

    const gc = garbageCollector();
    const t0 = performance.now();
    const now = (): number => (performance.now() - t0) / 1000;
    const samples: MemorySample[] = [await sampleMemory(0, gc)];
    const runs: SoakRun[] = [];
    for (let i = 0; now() < minutes * 60; i++) {
      const spec = cycle[i % cycle.length]!;
      const startSeconds = now();
      const result = await runLoadMachine(spec, seconds);
      const endSeconds = now();
      runs.push({ ...result, startSeconds, endSeconds });
      const s = await sampleMemory(endSeconds, gc);
      samples.push(s);
      const ops = result.outcome !== undefined ? `${result.outcome.report.opsPerSec.toFixed(1)} ops/s, ` : '';
      process.stderr.write(`bench: soak: ${formatDuration(endSeconds)} run ${i + 1} ${runLabel(spec)}: ${ops}${statusWord(result.status)}; ` +
        `rss ${mib(s.rss)} MiB, heapUsed ${mib(s.heapUsed)}, external ${mib(s.external)}, arrayBuffers ${mib(s.arrayBuffers)}\n`);
    }
    const elapsed = now();

    const bucketSec = bucketSeconds(minutes);
    // Intervals cover the soak asked for; the run still in progress at its end joins the last.
    const buckets = bucketCount(minutes * 60, bucketSec);
    const judgement = judgeMemoryGrowth(samples, elapsed);
    const verdicts: Verdict[] = judgement.judged
      ? MEMORY_METRICS.map(({ metric, label }) => judge({ what: `${label} growth from the second minute to the end`, op: '<=', limit: GROWTH_LIMIT_PCT, unit: '%' }, judgement.growthPct[metric]))
      : [];
    const ramBytes = defaultConfig().memBytes;
    const memoryNote = judgement.judged
      ? `memory judged from the median of ${judgement.baseline.samples} samples at ${judgement.baseline.fromSeconds.toFixed(0)}-${judgement.baseline.toSeconds.toFixed(0)} s ` +
        `(${MEMORY_METRICS.map(({ metric, label }) => `${label} ${mib(judgement.baseline.values[metric])}`).join(', ')} MiB) to ${judgement.final.samples} at ` +
        `${judgement.final.fromSeconds.toFixed(0)}-${judgement.final.toSeconds.toFixed(0)} s (${MEMORY_METRICS.map(({ metric, label }) => `${label} ${mib(judgement.final.values[metric])}`).join(', ')} MiB)`
      : `memory growth target (≤ ${GROWTH_LIMIT_PCT}% from the second minute to the end) not judged: ${judgement.reason}`;
    const first = samples[0];
    const last = samples[samples.length - 1];
    return {
      tables: [throughputTable(runs, bucketSec, buckets, several), memoryTable(samples, runs, bucketSec, buckets)],
      notes: [
        `plan: ${plan}; ran ${runs.length} machines in ${formatDuration(elapsed)}`,
        memoryNote,
        ...(first !== undefined && last !== undefined
          ? [`memory from start to end: ${MEMORY_METRICS.map(({ metric, label }) => `${label} ${mib(metricValue(first, metric))} -> ${mib(metricValue(last, metric))} MiB`).join(', ')}`]
          : []),
        gc !== undefined
          ? 'samples follow a full garbage collection (gc obtained via v8.setFlagsFromString(\'--expose-gc\')), so they show retained memory'
          : 'no gc function could be obtained: samples include garbage not yet collected, and the RAM-release check is not made',
        `each machine's watchdog allows ${LOAD_WATCHDOG_MS / 1000} s for a wait, as in the load case; ` +
          (cycle.some((r) => r.pcpus !== undefined) ? `runs with more than ${pcpus} vCPUs run under the overcommit scheduler (--pcpus ${pcpus})` : 'no overcommit scheduler'),
        '"last/first" compares a series\' last interval with its first; on a host shared with other work it moves with their load too',
        ...runs.flatMap((r) => (r.outcome !== undefined ? runNotes(r.outcome) : [])),
      ],
      verdicts,
      checks: [...loadChecks(runs), ...(gc !== undefined ? [releaseCheck(samples, ramBytes)] : [])],
      figures: {
        minutes,
        seconds,
        pcpus,
        cpus: cpuCounts,
        workloads,
        backends,
        elapsedSeconds: elapsed,
        memoryJudgement: judgement,
        samples,
        runs: runs.map((r) => ({
          ...r.spec,
          startSeconds: r.startSeconds,
          endSeconds: r.endSeconds,
          status: r.status,
          ...(r.outcome !== undefined
            ? { elapsedSeconds: r.outcome.report.seconds, ops: r.outcome.report.ops, opsPerSec: r.outcome.report.opsPerSec, conservation: r.outcome.report.conservation }
            : {}),
        })),
      },
    };
  },
};
