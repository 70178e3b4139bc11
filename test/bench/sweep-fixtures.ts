/**
 * Made-up machine outcomes for the sweep's unit tests: a SweepRunner that answers each run with
 * a report built by the real buildReport from counters derived from the run (so rows differ and
 * can be traced back), or throws for the runs it is told to. No workers.
 */
import { defaultConfig, type MachineConfig } from '../../src/machine/config.js';
import { WatchdogError } from '../../src/lib/errors.js';
import { snapshotCounters, VcpuCounters } from '../../src/stats/counters.js';
import { LatencyHistogram } from '../../src/stats/histogram.js';
import { buildReport } from '../../src/report/build.js';
import type { MachineOutcome } from '../../bench/lib/machine-run.js';
import type { SweepRunner } from '../../bench/lib/sweep-run.js';
import type { SweepRun } from '../../bench/lib/sweep-spec.js';

/** A completed run: ops and shootdowns grow with the row's index, latency with its vCPU count. */
export function fakeOutcome(run: SweepRun): MachineOutcome {
  const config: MachineConfig = { ...defaultConfig(), backend: run.backend, cpus: run.cpus, workload: run.workload, ops: 1000 + run.index };
  delete config.seconds;
  const c = new VcpuCounters();
  c.ops = 1000 + run.index;
  c.shootdowns = run.cpus > 1 ? 100 + run.index : 0;
  c.ipisSent = c.shootdowns;
  const latency = new LatencyHistogram();
  if (c.shootdowns > 0) for (let i = 0; i < 10; i++) latency.record(1000 * run.cpus + i);
  const empty = new LatencyHistogram().encode();
  const report = buildReport(config, {
    elapsedNs: 1e9,
    perCpu: [{ cpu: 0, counters: snapshotCounters(c), shootdownLatency: latency.encode(), flushHandlerLatency: empty, shootdownCycles: empty, smpCallLatency: empty, stealNs: 0, workStartNs: 0, workEndNs: 1e9 }],
    selfCheck: { passed: true, message: `${run.workload}: self-check passed` },
    exitStatus: 0,
    console: '',
  });
  return { report, console: '', requestedSeconds: undefined };
}

/** A runner over fakeOutcome; runs whose index is in `failing` throw a WatchdogError. */
export function fakeRunner(failing: readonly number[] = []): { runner: SweepRunner; seen: SweepRun[] } {
  const seen: SweepRun[] = [];
  const runner: SweepRunner = (run) => {
    seen.push(run);
    if (failing.includes(run.index)) return Promise.reject(new WatchdogError(`cpu 1 waited 5000 ms for cpu 0\n(run ${run.index})`));
    return Promise.resolve(fakeOutcome(run));
  };
  return { runner, seen };
}
