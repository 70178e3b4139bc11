/**
 * The timekeeper (src/machine/vtime-keeper.ts): in virtual time the main thread's party ticks
 * the overcommit scheduler in modelled time, so a vCPU's steal time is whole ticks of it, and a
 * shootdown that waits for a descheduled target waits as long as the scheduler takes to run it,
 * never longer than the policy's bound. Real vCPU workers.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import type { MachineConfig } from '../../src/machine/config.js';
import { SCHED_SLICE_MS, SCHED_TICK_MS } from '../../src/machine/sched/scheduler.js';
import { runReport } from '../../src/report/build.js';
import { testConfig } from '../helpers/machine.js';

const TICK_NS = SCHED_TICK_MS * 1e6;

function overcommitted(backend: string, workload: string, params: Record<string, number> = {}): MachineConfig {
  return { ...testConfig(workload, 4, { seconds: 0.02, params }), backend, pcpus: 2, clock: 'virtual' };
}

describe('virtual time: the timekeeper', () => {
  it('charges steal time in whole ticks of modelled time: 4 vCPUs on 2 physical CPUs each have some, a multiple of 1 ms', async () => {
    const r = await new Machine(overcommitted('kvm', 'tlb_flush1')).run();
    expect(r.selfCheck.passed, r.selfCheck.message).toBe(true);
    for (const s of r.perCpu) {
      expect(s.stealNs).toBeGreaterThan(0);
      expect(s.stealNs % TICK_NS).toBe(0);
    }
  });

  it('makes a shootdown without the PV flush wait for its descheduled target, at most a round of slices: kvm-nopvflush at 4 vCPUs on 2 physical CPUs', async () => {
    const r = await runReport(overcommitted('kvm-nopvflush', 'ebizzy', { mmap_each: 1 }));
    expect(r.selfCheck.passed, r.selfCheck.message).toBe(true);
    const { latencyNs } = r.shootdowns;
    // Some shootdown waited for a target that had no physical CPU: longer than a tick...
    expect(latencyNs.max).toBeGreaterThan(TICK_NS);
    // ...but a waiting vCPU gets a CPU within vCPUs / pCPUs slices, plus a tick to notice.
    expect(latencyNs.max).toBeLessThanOrEqual((4 / 2) * SCHED_SLICE_MS * 1e6 + TICK_NS);
  });
});
