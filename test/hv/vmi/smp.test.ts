/**
 * The vmi backend on real vCPU workers: every workload at 1, 2 and 4 vCPUs, and on a real run
 * every PTE store of tlb_flush1 (the demand fault's set_pte_at and madvise's pte_clear, one of
 * each per page) is an UpdatePxE exit.
 */
import { expect } from 'vitest';
import { describeWorkloadsOn } from '../../helpers/workload-suite.js';

describeWorkloadsOn('vmi', (workload, report) => {
  const c = report.counters;
  // Every workload maps pages and loads address spaces: the ROM's exits show up.
  expect(c.vmexitPtWrite).toBeGreaterThan(0);
  expect(c.vmexitCr3).toBeGreaterThan(0);
  expect(c.hypercalls).toBe(0);
  expect(c.shadowSyncs).toBe(0);
  if (workload === 'tlb_flush1') {
    // Two PTE stores per operation at least, each trapping (lazy mode only moves the exit).
    expect(c.vmexitPtWrite).toBeGreaterThanOrEqual(2 * report.ops);
    expect(c.traps).toBeGreaterThanOrEqual(c.vmexitPtWrite);
    if (report.cpus > 1) expect(c.vmexitApic).toBeGreaterThanOrEqual(report.shootdowns.ipis);
  }
});
