/**
 * IPIs under a burst from every CPU at once: each thread calls membarrier(PRIVATE_EXPEDITED) in
 * a loop, so every CPU sends call-function IPIs to every other CPU while receiving theirs. Every
 * IPI sent must be handled exactly once, every queued call must run exactly once, and every CPU
 * must have taken part on both sides.
 */
import { describe, expect, it } from 'vitest';
import { runWorkload } from '../helpers/machine.js';

describe('IPI delivery', () => {
  it('handles every IPI exactly once under a burst from all 4 CPUs', async () => {
    const report = await runWorkload('membarrier', 4, { ops: 4000 });
    expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
    expect(report.ipis.sent).toBeGreaterThan(1000);
    expect(report.ipis.handled + report.ipis.coalesced).toBe(report.ipis.sent);
    expect(report.counters.callRequestsHandled).toBe(report.counters.callRequestsSent);
    for (const cpu of report.perCpu) {
      expect(cpu.ipisSent, `cpu ${cpu.cpu} sent`).toBeGreaterThan(0);
      expect(cpu.ipisHandled, `cpu ${cpu.cpu} handled`).toBeGreaterThan(0);
    }
    // Each membarrier asks each of the 3 others for a call: sent calls = 3 per op when all run.
    expect(report.counters.callRequestsSent).toBeGreaterThan(report.ops);
  });
});
