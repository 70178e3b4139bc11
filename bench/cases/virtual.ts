/**
 * Case `virtual`: what virtual time (--clock virtual, docs/virtual-time.md) costs and whether it
 * holds. 2-vCPU tlb_flush1 (native) runs in host time, then twice in virtual time, in one bench
 * run:
 *   - speed: the virtual run's operations per host second against the host run's, both over
 *     each run's whole wall time (boot and teardown included, sized to take about as long);
 *   - determinism: the two virtual runs' modelled figures (every counter, the modelled
 *     latency percentiles and cycles, the elapsed modelled time) must be identical.
 * Main thread.
 */
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { runMachine, runNotes, type MachineOutcome } from '../lib/machine-run.js';
import { count } from '../lib/table.js';
import { judge, type Target } from '../lib/target.js';
import type { Report } from '../../src/report/types.js';

const WORKLOAD = 'tlb_flush1';
const CPUS = 2;
/** Host seconds of the host-time run. */
const DEFAULT_SECONDS = 3;
/**
 * Modelled seconds of each virtual run: about as long in host time as the host run on this
 * machine (30-40 host seconds per modelled second at 2 vCPUs).
 */
const VIRTUAL_SECONDS_PER_HOST_SECOND = 0.03;

const SPEED_TARGET: Target = { what: 'virtual-time ops per host second / host-time ops per host second', op: '>=', limit: 0.25, unit: '' };
const SAME_TARGET: Target = { what: 'modelled figures that differ between the two virtual runs', op: '<=', limit: 0, unit: '' };

/** Operations per second of the run's whole host wall time. */
function opsPerWallSecond(r: Report): number {
  const wall = r.hostUsage?.wallSeconds ?? 0;
  return wall > 0 ? r.ops / wall : Number.NaN;
}

/** The names of the modelled figures (host fields left out) that differ between two reports. */
function modelledDifferences(a: Report, b: Report): string[] {
  const modelled = (r: Report): Record<string, unknown> => ({
    ...r.counters,
    seconds: r.seconds,
    shootdownFigures: r.shootdowns,
    smpCallNs: r.smpCallNs,
    flushHandlerNs: r.flushHandlerNs,
  });
  const ma = modelled(a);
  const mb = modelled(b);
  return Object.keys(ma).filter((k) => JSON.stringify(ma[k]) !== JSON.stringify(mb[k]));
}

export const virtualCase: BenchCase = {
  description: `${CPUS}-vCPU ${WORKLOAD} in host time, then twice in virtual time: ops per host second of each, and whether the virtual runs agree`,
  options: ['seconds', 'json'],
  async run(options: BenchOptions): Promise<CaseResult> {
    const seconds = options.seconds ?? DEFAULT_SECONDS;
    const modelledSeconds = seconds * VIRTUAL_SECONDS_PER_HOST_SECOND;
    const host = await runMachine({ workload: WORKLOAD, cpus: CPUS, seconds });
    const first = await runMachine({ workload: WORKLOAD, cpus: CPUS, seconds: modelledSeconds, clock: 'virtual' });
    const second = await runMachine({ workload: WORKLOAD, cpus: CPUS, seconds: modelledSeconds, clock: 'virtual' });
    const h = host.report;
    const v = first.report;
    const ratio = opsPerWallSecond(v) / opsPerWallSecond(h);
    const differences = modelledDifferences(v, second.report);
    const row = (what: string, o: MachineOutcome): string[] => {
      const r = o.report;
      const wall = r.hostUsage?.wallSeconds ?? 0;
      return [what, r.seconds.toFixed(3), wall.toFixed(2), count(r.ops), count(opsPerWallSecond(r)),
        (r.shootdowns.latencyNs.p50 / 1000).toFixed(2), count(r.counters.turnHandOvers), r.selfCheck.passed ? 'pass' : 'FAIL'];
    };
    return {
      tables: [{
        title: `${WORKLOAD}, ${CPUS} vCPUs, native: host time for ${seconds} s, virtual time for ${modelledSeconds} modelled s (twice)`,
        header: ['clock', 'elapsed s', 'host wall s', 'ops', 'ops per host s', 'shootdown p50 µs', 'hand-overs', 'check'],
        rows: [row('host', host), row('virtual', first), row('virtual, again', second),
          ['virtual / host', '', '', '', ratio.toFixed(3), '', '', '']],
      }],
      notes: [
        'elapsed s and shootdown p50 are host time in the host row and modelled in the virtual rows',
        ...(differences.length > 0 ? [`the two virtual runs differ in: ${differences.join(', ')}`] : []),
        ...runNotes(host), ...runNotes(first), ...runNotes(second),
      ],
      verdicts: [judge(SPEED_TARGET, ratio), judge(SAME_TARGET, differences.length)],
      figures: {
        workload: WORKLOAD, cpus: CPUS, hostSeconds: seconds, modelledSeconds,
        hostOpsPerWallSecond: opsPerWallSecond(h), virtualOpsPerWallSecond: opsPerWallSecond(v), ratio, differences,
        virtualOpsPerModelledSecond: v.opsPerSec, hostSecondsPerModelledSecond: (v.hostUsage?.wallSeconds ?? 0) / v.seconds,
      },
    };
  },
};
