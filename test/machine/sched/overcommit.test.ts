/**
 * Overcommit on real vCPU workers: at --cpus 4 --pcpus 2 the hypervisor scheduler parks and
 * resumes vCPUs all through each workload, and every workload still passes its self-check with
 * IPIs and remote calls conserved — on kvm, whose PV flush then defers flushes to preempted
 * vCPUs, and on native for a sample (it waits for preempted targets instead, so its runs are
 * slower; the scheduler's side is the same). With pcpus covering every vCPU nothing is parked.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/lib/errors.js';
import { Machine } from '../../../src/machine/machine.js';
import type { Report } from '../../../src/report/types.js';
import { testConfig } from '../../helpers/machine.js';
import { opsFor, runOn } from '../../helpers/workload-suite.js';
import { workloads } from '../../../src/workloads/registry.js';
import { runReport } from '../../../src/report/build.js';

/** The workloads native also runs overcommitted: shootdown-heavy, mostly halted, and fork-style processes. */
const NATIVE_SAMPLE = ['tlb_flush1', 'idle', 'fork_cow'];

async function overcommitted(backend: string, workload: string): Promise<Report> {
  return runOn(backend, workload, 4, opsFor(workload), 2);
}

function expectSound(report: Report): void {
  expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
  expect(report.ops).toBeGreaterThan(0);
  expect(report.ipis.handled + report.ipis.coalesced).toBe(report.ipis.sent);
  expect(report.counters.callRequestsHandled).toBe(report.counters.callRequestsSent);
}

describe('overcommit on kvm, 4 vCPUs on 2 physical CPUs', () => {
  it.each(Object.keys(workloads))('%s passes its self-check with IPIs and calls conserved', async (workload) => {
    const report = await overcommitted('kvm', workload);
    expectSound(report);
    // A busy workload's vCPUs were preempted (VM exits for preemption), not just idle ones parked.
    if (workload === 'tlb_flush1') expect(report.counters.vmexitPreemption).toBeGreaterThan(0);
  });
});

describe('overcommit on native, 4 vCPUs on 2 physical CPUs', () => {
  it.each(NATIVE_SAMPLE)('%s passes its self-check with IPIs and calls conserved, deferring no flush', async (workload) => {
    const report = await overcommitted('native', workload);
    expectSound(report);
    // Only KVM's PV flush leaves flushes to a vCPU's next load.
    expect(report.counters.deferredFlushes).toBe(0);
  });
});

describe('the overcommit scheduler in a machine', () => {
  it('is not there when pcpus covers every vCPU: nothing is parked', async () => {
    const report = await runReport({ ...testConfig('tlb_flush1', 4, { ops: 300 }), pcpus: 4 });
    expectSound(report);
    expect(report.counters.vmexitPreemption).toBe(0);
  });

  it('rejects a pcpus that is not a whole number from 1 to the vCPU count, naming the field', () => {
    for (const pcpus of [0, 5, 1.5, Number.NaN]) {
      expect(() => new Machine({ ...testConfig('tlb_flush1', 4), pcpus })).toThrow(ConfigError);
    }
    expect(() => new Machine({ ...testConfig('tlb_flush1', 4), pcpus: 0 })).toThrow(/pcpus/);
  });
});
