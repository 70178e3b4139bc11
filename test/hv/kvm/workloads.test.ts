/**
 * Every workload on the kvm backend, on real vCPU workers at 1, 2 and 4 vCPUs: it passes its
 * own self-check, and the books balance — every IPI sent (PV send-IPI hypercalls included) was
 * handled, every remote call ran.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../../src/machine/machine.js';
import { testConfig } from '../../helpers/machine.js';

/** Operations per run: the machine suite's (test/machine/workloads.test.ts), small enough for 2 cores. */
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

describe.each(Object.keys(OPS))('kvm: workload %s', (workload) => {
  it.each([1, 2, 4])('passes its self-check on %i vCPUs with IPIs and calls conserved', async (cpus) => {
    const report = await new Machine({ ...testConfig(workload, cpus, { ops: OPS[workload]! }), backend: 'kvm' }).run();
    expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
    expect(report.ops).toBeGreaterThan(0);
    expect(report.ipis.handled).toBe(report.ipis.sent);
    expect(report.counters.callRequestsHandled).toBe(report.counters.callRequestsSent);
    // Nothing is preempted without --pcpus: no flush is ever deferred to a vCPU's next load.
    expect(report.counters.deferredFlushes).toBe(0);
    expect(report.counters.vmexitPreemption).toBe(0);
  });
});
