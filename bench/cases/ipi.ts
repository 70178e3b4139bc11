/**
 * Case `ipi`: pvemu's IPI round trip against the raw Atomics spin round trip it is built on.
 * (a) two workers ping-pong over a SharedArrayBuffer (bench/lib/pingpong-protocol.ts); (b) the
 * membarrier workload on 2 vCPUs, where each membarrier is one smp_call_function_many to the
 * other CPU (queue, IPI, deliver, handle, EOI, acknowledge), timed by pvemu as smpCallNs.
 * Main thread.
 */
import { ConfigError, PvemuError } from '../../src/errors.js';
import type { Report } from '../../src/stats/report.js';
import { findWorkload } from '../../src/workloads/registry.js';
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { BENCH_BACKEND, runMachine, runNotes } from '../lib/machine-run.js';
import { runPingPong } from '../lib/pingpong-run.js';
import { summarize } from '../lib/samples.js';
import { count, usFromNs } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';

/** Enough round trips that p99 rests on 2,000 samples; about 0.1 s at 0.35 µs each. */
const ROUND_TRIPS = 200_000;
/** Round trips before measuring: lets both workers' loops reach optimised code. */
const WARMUP_ROUND_TRIPS = 50_000;
/** Limit for the whole ping-pong and for any one wait in it (ms): a busy host may stall it. */
const PINGPONG_DEADLINE_MS = 30_000;
/** membarrier run length when --seconds is absent: about 10^5 round trips at ~10 µs. */
const DEFAULT_SECONDS = 2;
const CPUS = 2;
const WORKLOAD = 'membarrier';
/** Only thread 0 calls membarrier; the other keeps running and polling, so each call is one IPI. */
const SENDERS_PARAM = 'senders';

const TARGET: Target = { what: 'pvemu smp-call p50 / raw round trip p50', op: '<=', limit: 3, unit: '' };

export const ipiCase: BenchCase = {
  description: 'pvemu IPI round trip (membarrier smp call, 2 vCPUs) against the raw Atomics spin round trip',
  options: ['seconds', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const seconds = options.seconds ?? DEFAULT_SECONDS;
    process.stderr.write(`bench: raw ping-pong, ${WARMUP_ROUND_TRIPS} warm-up + ${ROUND_TRIPS} round trips\n`);
    const raw = summarize(await runPingPong({
      warmupRoundTrips: WARMUP_ROUND_TRIPS,
      roundTrips: ROUND_TRIPS,
      deadlineMs: PINGPONG_DEADLINE_MS,
    }));

    const notes: string[] = [];
    const { report, senders } = await runMembarrier(seconds, notes);
    notes.push(...runNotes(report));
    const calls = report.counters.callRequestsSent;
    if (report.smpCallNs.p50 === 0) notes.push('pvemu recorded no smp-call round trips: nothing to compare');
    const pv = report.smpCallNs;
    const ratio = pv.p50 > 0 ? pv.p50 / raw.p50 : Number.NaN;

    return {
      tables: [{
        title: `Round trip, host µs (raw: 2 worker threads; pvemu: backend ${BENCH_BACKEND}, ${CPUS} vCPUs, ${WORKLOAD}${senders ? `, ${SENDERS_PARAM}=1` : ''})`,
        header: ['path', 'samples', 'p50', 'p90', 'p99', 'max'],
        rows: [
          ['raw Atomics spin ping-pong', count(raw.count), usFromNs(raw.p50), usFromNs(raw.p90), usFromNs(raw.p99), usFromNs(raw.max)],
          ['pvemu smp call (IPI)', count(calls), usFromNs(pv.p50), usFromNs(pv.p90), usFromNs(pv.p99), usFromNs(pv.max)],
          ['ratio pvemu / raw', '', ratio.toFixed(2), (pv.p90 / raw.p90).toFixed(2), (pv.p99 / raw.p99).toFixed(2), ''],
        ],
      }, {
        title: `pvemu run (${report.seconds.toFixed(2)} s)`,
        header: ['figure', 'value'],
        rows: [
          ['membarrier calls/s (ops/s)', report.opsPerSec.toFixed(0)],
          ['smp-call requests sent', count(calls)],
          ['IPIs sent / handled', `${count(report.ipis.sent)} / ${count(report.ipis.handled)}`],
          ['self-check', report.selfCheck.passed ? 'passed' : 'FAILED'],
        ],
      }],
      notes,
      verdicts: [judge(TARGET, ratio)],
      figures: {
        raw: { roundTrips: raw.count, warmupRoundTrips: WARMUP_ROUND_TRIPS, ns: { p50: raw.p50, p90: raw.p90, p99: raw.p99, max: raw.max, mean: raw.mean } },
        pvemu: {
          backend: BENCH_BACKEND,
          cpus: CPUS,
          workload: WORKLOAD,
          params: senders ? { [SENDERS_PARAM]: 1 } : {},
          seconds: report.seconds,
          opsPerSec: report.opsPerSec,
          smpCalls: calls,
          ipisSent: report.ipis.sent,
          smpCallNs: pv,
          selfCheckPassed: report.selfCheck.passed,
        },
        ratioP50: ratio,
      },
    };
  },
};

/**
 * Run membarrier with senders=1 if the workload declares that parameter, else (or if the run
 * rejects it) with every thread sending, saying so: then both CPUs call membarrier at once and a
 * round trip may include serving the other's request while waiting.
 */
async function runMembarrier(seconds: number, notes: string[]): Promise<{ report: Report; senders: boolean }> {
  const fallback = `so every thread calls membarrier: the two CPUs IPI each other at once, and a round trip may include serving the other's call`;
  const declared = findWorkload(WORKLOAD)?.params.some((p) => p.name === SENDERS_PARAM) ?? false;
  if (!declared) {
    notes.push(`${WORKLOAD} does not declare param ${SENDERS_PARAM}: ran without params, ${fallback}`);
    return { report: await runMachine({ workload: WORKLOAD, cpus: CPUS, seconds }), senders: false };
  }
  try {
    return { report: await runMachine({ workload: WORKLOAD, cpus: CPUS, seconds, params: { [SENDERS_PARAM]: 1 } }), senders: true };
  } catch (e) {
    // Only a rejection of the parameter falls back; any other failure is the run's own.
    const rejected = e instanceof ConfigError || (e instanceof PvemuError && e.message.includes(SENDERS_PARAM));
    if (!rejected) throw e;
    notes.push(`${WORKLOAD} rejected ${SENDERS_PARAM}=1 (${e.message.split('\n')[0] ?? ''}): ran without params, ${fallback}`);
    return { report: await runMachine({ workload: WORKLOAD, cpus: CPUS, seconds }), senders: false };
  }
}
