/**
 * comlink carries control and statistics: while a machine runs, the main thread can ask every
 * vCPU for a snapshot of its counts, answered between run slices (never on the IPI path).
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { testConfig } from '../helpers/machine.js';

describe('vCPU control over comlink', () => {
  it('returns live per-vCPU snapshots while the workload runs, with ops growing', async () => {
    const machine = new Machine(testConfig('touch', 2, { seconds: 1.5 }));
    const done = machine.run();
    await new Promise((r) => setTimeout(r, 500));
    const first = await machine.snapshot();
    await new Promise((r) => setTimeout(r, 300));
    const second = await machine.snapshot();
    const report = await done;
    expect(first.map((s) => s.cpu)).toEqual([0, 1]);
    const ops = (snaps: typeof first): number => snaps.reduce((n, s) => n + s.counters.ops, 0);
    expect(ops(second)).toBeGreaterThan(ops(first));
    expect(report.ops).toBeGreaterThanOrEqual(ops(second));
  });
});
