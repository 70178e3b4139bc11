/**
 * comlink carries control and statistics: while a machine runs, the main thread can ask every
 * vCPU for a snapshot of its counts, answered between run slices (never on the IPI path).
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { buildReport } from '../../src/report/build.js';
import { testConfig } from '../helpers/machine.js';
import type { VcpuStatsSnapshot } from '../../src/stats/snapshot.js';

describe('vCPU control over comlink', () => {
  it('returns live per-vCPU snapshots while the workload runs, with ops growing', async () => {
    const machine = new Machine(testConfig('touch', 2, { seconds: 4 }));
    const done = machine.run();
    const ops = (snaps: VcpuStatsSnapshot[]): number => snaps.reduce((n, s) => n + s.counters.ops, 0);
    // Wait (however slow the host) until the workload is under way, then look again.
    let first = await machine.snapshot();
    while (ops(first) === 0) {
      await new Promise((r) => setTimeout(r, 50));
      first = await machine.snapshot();
    }
    await new Promise((r) => setTimeout(r, 200));
    const second = await machine.snapshot();
    const report = buildReport(machine.config, await done);
    expect(first.map((s) => s.cpu)).toEqual([0, 1]);
    expect(ops(second)).toBeGreaterThan(ops(first));
    expect(report.ops).toBeGreaterThanOrEqual(ops(second));
  });
});
