/**
 * Case `scaling`: does throughput scale with vCPUs when nothing is shared? The touch workload
 * (private regions, TLB hits, no shootdowns) at 1 and 2 vCPUs, in interleaved pairs (1, 2, 1,
 * 2, …), so a host that changes mid-case moves both sides alike; the verdict is the median of
 * the pairs' ratios. Each machine's workers compile their code afresh, and that JIT variance
 * is what one pair alone cannot average out. Main thread.
 */
import type { Report } from '../../src/report/types.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { BENCH_BACKEND, runMachine, runNotes } from '../lib/machine-run.js';
import { median } from '../lib/samples.js';
import { count } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';

const WORKLOAD = 'touch';
/** Seconds per run when --seconds is absent: long enough that boot and the timer tick average out. */
const DEFAULT_SECONDS = 2;
/** Interleaved 1- and 2-vCPU pairs. */
const PAIRS = 3;

const TARGET: Target = { what: 'median over pairs of ops/s at 2 vCPUs / ops/s at 1 vCPU', op: '>=', limit: 1.8, unit: '' };

export const scalingCase: BenchCase = {
  description: `throughput scaling of ${WORKLOAD} (no shared state) from 1 to 2 vCPUs, ${PAIRS} interleaved pairs, native backend`,
  options: ['seconds', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const seconds = options.seconds ?? DEFAULT_SECONDS;
    const pairs: { one: Report; two: Report; ratio: number }[] = [];
    const notes: string[] = [];
    for (let p = 0; p < PAIRS; p++) {
      const oneRun = await runMachine({ workload: WORKLOAD, cpus: 1, seconds });
      const twoRun = await runMachine({ workload: WORKLOAD, cpus: 2, seconds });
      notes.push(...runNotes(oneRun), ...runNotes(twoRun));
      const one = oneRun.report;
      const two = twoRun.report;
      pairs.push({ one, two, ratio: one.opsPerSec > 0 ? two.opsPerSec / one.opsPerSec : Number.NaN });
    }
    const ratio = median(pairs.map((p) => p.ratio));
    const check = (r: Report): string => (r.selfCheck.passed ? 'pass' : 'FAIL');
    return {
      tables: [{
        title: `${WORKLOAD}, backend ${BENCH_BACKEND}, ${seconds} s per run, ${PAIRS} pairs run 1 then 2 vCPUs`,
        header: ['pair', '1 vCPU ops/s', '2 vCPUs ops/s', 'ratio 2/1', 'per vCPU', 'checks'],
        rows: [
          ...pairs.map((p, i) => [`${i + 1}`, count(p.one.opsPerSec), count(p.two.opsPerSec), p.ratio.toFixed(2), (p.ratio / 2).toFixed(2), `${check(p.one)} ${check(p.two)}`]),
          ['median', count(median(pairs.map((p) => p.one.opsPerSec))), count(median(pairs.map((p) => p.two.opsPerSec))), ratio.toFixed(2), (ratio / 2).toFixed(2), ''],
        ],
      }],
      notes,
      verdicts: [judge(TARGET, ratio)],
      figures: {
        backend: BENCH_BACKEND,
        workload: WORKLOAD,
        seconds,
        pairs: pairs.map((p) => ({
          ratio: p.ratio,
          runs: [p.one, p.two].map((r) => ({ cpus: r.cpus, elapsedSeconds: r.seconds, ops: r.ops, opsPerSec: r.opsPerSec, guestSegfaults: r.faultsDetail.segv, selfCheckPassed: r.selfCheck.passed })),
        })),
        ratio,
      },
    };
  },
};
