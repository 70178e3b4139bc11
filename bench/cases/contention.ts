/**
 * Case `contention`: what one busy process beside pvemu does to a shootdown. 2-vCPU tlb_flush1
 * (native backend) runs quiet, then beside a CPU-bound child process this case starts (a Node
 * process spinning forever) and ends itself, in one bench run: the throughput kept and the
 * shootdown p50 with the neighbour. On a 2-core host the neighbour takes a core the two vCPUs
 * wanted, so waits that spin for a descheduled thread would cost a host timeslice each; the
 * adaptive spin window and the wake on acknowledgement (src/hw/wait.ts) are what this measures.
 * Main thread.
 */
import { spawn } from 'node:child_process';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { runMachine, runNotes } from '../lib/machine-run.js';
import { count } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';
import type { Report } from '../../src/report/types.js';

const WORKLOAD = 'tlb_flush1';
const CPUS = 2;
const DEFAULT_SECONDS = 3;

const KEPT_TARGET: Target = { what: 'ops/s beside a CPU-bound process / ops/s quiet', op: '>=', limit: 0.2, unit: '' };
const P50_TARGET: Target = { what: 'shootdown p50 beside a CPU-bound process', op: '<=', limit: 100, unit: 'µs' };

/** Run `body` with a CPU-bound child process beside it, ended afterwards whatever happens. */
async function besideHog<T>(body: () => Promise<T>): Promise<T> {
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    // Give it a moment to be running before the measured run starts.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return await body();
  } finally {
    hog.kill('SIGKILL');
  }
}

export const contentionCase: BenchCase = {
  description: `${CPUS}-vCPU ${WORKLOAD} quiet, then beside a CPU-bound process this case runs: throughput kept and shootdown p50`,
  options: ['seconds', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const seconds = options.seconds ?? DEFAULT_SECONDS;
    const quiet = await runMachine({ workload: WORKLOAD, cpus: CPUS, seconds });
    const busy = await besideHog(() => runMachine({ workload: WORKLOAD, cpus: CPUS, seconds }));
    const q = quiet.report;
    const b = busy.report;
    const kept = q.opsPerSec > 0 ? b.opsPerSec / q.opsPerSec : Number.NaN;
    const p50 = (r: Report): number => (r.shootdowns.count > 0 ? r.shootdowns.latencyNs.p50 / 1000 : Number.NaN);
    const row = (what: string, r: Report): string[] => [what, count(r.opsPerSec), count(r.shootdowns.count), p50(r).toFixed(2),
      (r.shootdowns.latencyNs.p99 / 1000).toFixed(2), r.selfCheck.passed ? 'pass' : 'FAIL'];
    return {
      tables: [{
        title: `${WORKLOAD}, ${CPUS} vCPUs, native, ${seconds} s per run`,
        header: ['host', 'ops/s', 'shootdowns', 'p50 µs', 'p99 µs', 'check'],
        rows: [row('quiet', q), row('beside a CPU-bound process', b), ['kept', kept.toFixed(3), '', '', '', '']],
      }],
      notes: [...runNotes(quiet), ...runNotes(busy).map((n) => `with the neighbour: ${n}`)],
      verdicts: [judge(KEPT_TARGET, kept), judge(P50_TARGET, p50(b))],
      figures: {
        workload: WORKLOAD, cpus: CPUS, seconds,
        quiet: { opsPerSec: q.opsPerSec, shootdowns: q.shootdowns },
        busy: { opsPerSec: b.opsPerSec, shootdowns: b.shootdowns },
        kept,
      },
    };
  },
};
