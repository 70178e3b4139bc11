/**
 * Case `sweep`: shootdown cost across backends × vCPU counts × workloads × repetitions, one
 * machine at a time. Writes the rows as JSON, a chart (latency p50/p99 and throughput against
 * vCPU count, a line per backend) and an HTML page with both into --out DIR. `--shard I/N`
 * runs one slice and writes only its JSON; `merge` combines the slices. Main thread.
 */
import { describeBackends } from '../../src/hv/registry.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { prepareOutDir, sweepNotes, sweepTable, writeSweepOutputs } from '../lib/sweep-output.js';
import { runSweep } from '../lib/sweep-run.js';
import { DEFAULT_SWEEP_CPUS, DEFAULT_SWEEP_SECONDS, DEFAULT_SWEEP_WORKLOADS, type SweepSpec } from '../lib/sweep-spec.js';

/** The sweep the options describe, defaults filled. */
export function sweepSpecFrom(options: BenchOptions): SweepSpec {
  const spec: SweepSpec = {
    backends: options.backends ?? describeBackends().map((b) => b.name),
    cpus: options.cpus ?? [...DEFAULT_SWEEP_CPUS],
    workloads: options.workloads ?? [...DEFAULT_SWEEP_WORKLOADS],
    reps: options.reps ?? 1,
  };
  if (options.ops !== undefined) spec.ops = options.ops;
  else spec.seconds = options.seconds ?? DEFAULT_SWEEP_SECONDS;
  if (options.clock === 'virtual') spec.clock = 'virtual';
  return spec;
}

export const sweepCase: BenchCase = {
  description: 'shootdown cost sweep: backends x vCPU counts x workloads x reps -> JSON, SVG chart and HTML page in --out DIR' +
    ` (defaults: every backend, --cpus ${DEFAULT_SWEEP_CPUS.join(',')}, --workloads ${DEFAULT_SWEEP_WORKLOADS.join(',')}, --reps 1, --seconds ${DEFAULT_SWEEP_SECONDS})`,
  options: ['backends', 'cpus', 'workloads', 'reps', 'seconds', 'ops', 'clock', 'shard', 'out', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const out = prepareOutDir(options.out);
    const spec = sweepSpecFrom(options);
    const result = await runSweep(spec, options.shard ?? null);
    const files = await writeSweepOutputs(out, result);
    for (const f of files) process.stderr.write(`bench: wrote ${f}\n`);
    const failed = result.rows.filter((r) => r.status === 'failed').length;
    const badChecks = result.rows.filter((r) => r.status === 'ok' && !r.selfCheckPassed).length;
    const shardNote = result.shard === null
      ? []
      : [`shard ${result.shard.index}/${result.shard.count} ran ${result.rows.length} of ${result.totalRuns} runs; combine the shards with: npm run bench -- merge DIR... --out DIR`];
    return {
      tables: [sweepTable(result)],
      notes: [...shardNote, ...sweepNotes(result)],
      verdicts: [],
      figures: { files, spec, shard: result.shard, runs: result.rows.length, totalRuns: result.totalRuns, failedRuns: failed, failedSelfChecks: badChecks },
    };
  },
};
