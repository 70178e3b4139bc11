/**
 * One tiny real run of the load case: a 3-vCPU machine on 2 physical CPUs for a fraction of a
 * second, to prove the case boots real machines under the overcommit scheduler and judges their
 * conservation laws and self-checks. One run only: the first run of a matrix always starts,
 * while later ones depend on the host's speed against the time budget. The matrix, the budget
 * and the verdicts are unit-tested in load-matrix and load-run.
 */
import { describe, expect, it } from 'vitest';
import { loadCase } from '../../bench/cases/load.js';

describe('bench load (tiny real run)', () => {
  it('runs a machine under the overcommit scheduler and passes its conservation and self-check checks', async () => {
    const result = await loadCase.run({ cpus: [3], seconds: 0.3, backends: ['kvm'], workloads: ['tlb_flush1'], pcpus: 2 });
    const figures = result.figures as { runs: { backend: string; pcpus?: number; status: { kind: string }; ops?: number; conservation?: { ok: boolean } }[] };
    expect(figures.runs.map((r) => [r.backend, r.pcpus, r.status.kind])).toEqual([['kvm', 2, 'passed']]);
    for (const r of figures.runs) {
      expect(r.conservation?.ok).toBe(true);
      expect(r.ops).toBeGreaterThan(0);
    }
    expect(result.checks?.map((c) => c.passed)).toEqual([true, true, true]);
    expect(result.tables[0]!.rows).toHaveLength(1);
  });
});
