/**
 * Case `shootdown`: what one TLB shootdown costs on the native backend, tlb_flush1 at 2 and 4
 * vCPUs. At 2 vCPUs each shootdown has one running target, the case the target speaks to.
 * Main thread.
 */
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { BENCH_BACKEND, runMachine, runNotes, type MachineOutcome } from '../lib/machine-run.js';
import { count, usFromNs } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';

const WORKLOAD = 'tlb_flush1';
const CPU_COUNTS = [2, 4] as const;
/** Seconds per run when --seconds is absent: tens of thousands of shootdowns, stable p99. */
const DEFAULT_SECONDS = 3;

const TARGET: Target = { what: 'shootdown latency p50 at 2 vCPUs', op: '<', limit: 5, unit: 'µs' };

export const shootdownCase: BenchCase = {
  description: `TLB shootdown cost: ${WORKLOAD} at ${CPU_COUNTS.join(' and ')} vCPUs, native backend`,
  options: ['seconds', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const seconds = options.seconds ?? DEFAULT_SECONDS;
    const outcomes: MachineOutcome[] = [];
    for (const cpus of CPU_COUNTS) outcomes.push(await runMachine({ workload: WORKLOAD, cpus, seconds }));
    const reports = outcomes.map((o) => o.report);
    const two = reports.find((r) => r.cpus === 2);
    return {
      tables: [{
        title: `${WORKLOAD}, backend ${BENCH_BACKEND}, ${seconds} s per run; latencies in host µs`,
        header: ['vCPUs', 'elapsed s', 'ops/s', 'shootdowns', 'IPIs', 'deferred', 'p50', 'p90', 'p99', 'max', 'handler p50', 'check'],
        rows: reports.map((r) => {
          const l = r.shootdowns.latencyNs;
          return [`${r.cpus}`, r.seconds.toFixed(2), count(r.opsPerSec), count(r.shootdowns.count), count(r.shootdowns.ipis), count(r.shootdowns.deferred),
            usFromNs(l.p50), usFromNs(l.p90), usFromNs(l.p99), usFromNs(l.max), usFromNs(r.flushHandlerNs.p50),
            r.selfCheck.passed ? 'pass' : 'FAIL'];
        }),
      }],
      notes: outcomes.flatMap((o) => [
        ...runNotes(o),
        ...(o.report.shootdowns.count === 0 ? [`${o.report.cpus} vCPUs: no shootdowns recorded, latency figures are empty`] : []),
      ]),
      verdicts: [judge(TARGET, two !== undefined && two.shootdowns.count > 0 ? two.shootdowns.latencyNs.p50 / 1000 : Number.NaN)],
      figures: {
        backend: BENCH_BACKEND,
        workload: WORKLOAD,
        seconds,
        runs: reports.map((r) => ({
          cpus: r.cpus,
          elapsedSeconds: r.seconds,
          opsPerSec: r.opsPerSec,
          shootdowns: r.shootdowns,
          flushHandlerNs: r.flushHandlerNs,
          ipis: r.ipis,
          guestSegfaults: r.faultsDetail.segv,
          selfCheckPassed: r.selfCheck.passed,
        })),
      },
    };
  },
};
