/**
 * The shadow backend on real vCPU workers: every workload at 1, 2 and 4 vCPUs, with the
 * hardware walking shadow tables the guest never sees; on tlb_flush1 every PTE store traps and
 * resyncs, and each page's first touch in a fresh table is a hidden fault.
 */
import { expect } from 'vitest';
import { describeWorkloadsOn } from '../../helpers/workload-suite.js';

describeWorkloadsOn('shadow', (workload, report) => {
  const c = report.counters;
  expect(c.hiddenFaults).toBeGreaterThan(0);
  expect(c.shadowSyncs).toBeGreaterThan(0);
  expect(c.vmexitCr3).toBeGreaterThan(0);
  expect(c.hypercalls).toBe(0);
  if (workload === 'tlb_flush1') {
    expect(c.vmexitPtWrite).toBeGreaterThanOrEqual(2 * report.ops);
    expect(c.shadowSyncs).toBeGreaterThanOrEqual(2 * report.ops);
    if (report.cpus > 1) expect(c.vmexitApic).toBeGreaterThanOrEqual(report.shootdowns.ipis);
  }
});
