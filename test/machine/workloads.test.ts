/**
 * Every workload, on real vCPU workers, at 1, 2 and 4 vCPUs, passes its own self-check — and
 * the machine's books balance: every IPI sent was handled, every remote call ran.
 */
import { describe, expect, it } from 'vitest';
import { runWorkload } from '../helpers/machine.js';

/** Operations per run: enough to exercise each workload's protocol, small enough for 2 cores. */
const OPS: Record<string, number> = {
  tlb_flush1: 600,
  tlb_flush2: 600,
  tlb_flush3: 600,
  mprotect: 60,
  munmap: 60,
  idle: 60,
  touch: 20_000,
  membarrier: 600,
  ebizzy: 200,
  fork_cow: 100,
  vmalloc: 200,
  ctxswitch: 20_000,
};

describe.each(Object.keys(OPS))('workload %s', (workload) => {
  it.each([1, 2, 4])(`passes its self-check on %i vCPUs with IPIs and calls conserved`, async (cpus) => {
    const report = await runWorkload(workload, cpus, { ops: OPS[workload]! });
    expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
    expect(report.ops).toBeGreaterThan(0);
    expect(report.ipis.handled).toBe(report.ipis.sent);
    expect(report.counters.callRequestsHandled).toBe(report.counters.callRequestsSent);
    expect(report.perCpu).toHaveLength(cpus);
  });
});
