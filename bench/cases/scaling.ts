/**
 * Case `scaling`: does throughput scale with vCPUs when nothing is shared? The touch workload
 * (private regions, TLB hits, no shootdowns) at 1 and 2 vCPUs. Main thread.
 */
import type { Report } from '../../src/report/types.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { BENCH_BACKEND, runMachine, runNotes } from '../lib/machine-run.js';
import { count } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';

const WORKLOAD = 'touch';
/** Seconds per run when --seconds is absent: long enough that boot and the timer tick average out. */
const DEFAULT_SECONDS = 3;

const TARGET: Target = { what: 'ops/s at 2 vCPUs / ops/s at 1 vCPU', op: '>=', limit: 1.8, unit: '' };

export const scalingCase: BenchCase = {
  description: `throughput scaling of ${WORKLOAD} (no shared state) from 1 to 2 vCPUs, native backend`,
  options: ['seconds', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const seconds = options.seconds ?? DEFAULT_SECONDS;
    const oneRun = await runMachine({ workload: WORKLOAD, cpus: 1, seconds });
    const twoRun = await runMachine({ workload: WORKLOAD, cpus: 2, seconds });
    const one = oneRun.report;
    const two = twoRun.report;
    const ratio = one.opsPerSec > 0 ? two.opsPerSec / one.opsPerSec : Number.NaN;
    const row = (r: Report): string[] => [`${r.cpus}`, count(r.opsPerSec), count(r.opsPerSec / r.cpus), r.seconds.toFixed(2),
      count(r.timerInterrupts), r.selfCheck.passed ? 'pass' : 'FAIL'];
    return {
      tables: [{
        title: `${WORKLOAD}, backend ${BENCH_BACKEND}, ${seconds} s per run`,
        header: ['vCPUs', 'ops/s', 'ops/s per vCPU', 'elapsed s', 'timer IRQs', 'check'],
        rows: [row(one), row(two), ['ratio 2/1', ratio.toFixed(2), (ratio / 2).toFixed(2), '', '', '']],
      }],
      notes: [...runNotes(oneRun), ...runNotes(twoRun)],
      verdicts: [judge(TARGET, ratio)],
      figures: {
        backend: BENCH_BACKEND,
        workload: WORKLOAD,
        seconds,
        runs: [one, two].map((r) => ({ cpus: r.cpus, elapsedSeconds: r.seconds, ops: r.ops, opsPerSec: r.opsPerSec, guestSegfaults: r.faultsDetail.segv, selfCheckPassed: r.selfCheck.passed })),
        ratio,
      },
    };
  },
};
