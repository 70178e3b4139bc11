/**
 * One tiny real run of the soak case: under a second of machines back to back, to prove it
 * samples memory between runs, releases each machine's guest RAM and leaves the growth target
 * unjudged on a soak this short (the judgement itself is unit-tested in soak-memory).
 */
import { describe, expect, it } from 'vitest';
import { soakCase } from '../../bench/cases/soak.js';

describe('bench soak (tiny real run)', () => {
  it('samples memory after each run, checks guest RAM was released, and does not judge growth under two minutes', async () => {
    const result = await soakCase.run({ minutes: 0.005, seconds: 0.2, cpus: [2], backends: ['native'] });
    const figures = result.figures as { runs: unknown[]; samples: unknown[]; memoryJudgement: { judged: boolean } };
    expect(figures.runs.length).toBeGreaterThanOrEqual(1);
    // One sample at the start and one after every run.
    expect(figures.samples).toHaveLength(figures.runs.length + 1);
    expect(figures.memoryJudgement.judged).toBe(false);
    expect(result.verdicts).toEqual([]);
    expect(result.notes.some((n) => n.includes('not judged'))).toBe(true);
    const checks = result.checks ?? [];
    expect(checks.map((c) => c.passed)).toEqual([true, true, true, true]);
    expect(checks[3]!.what).toMatch(/guest RAM of every finished machine released/);
  });
});
