/**
 * The Xen backend on real vCPU workers (run `npm run build` first: workers load dist/). Every
 * workload passes its self-check at 1, 2 and 4 vCPUs with the books balanced and nothing refused
 * by the hypervisor (the kernel only issues valid updates); shootdowns send no guest IPIs; the
 * probe workloads see no stale translation after a hypervisor-side remote flush.
 */
import { describe, expect, it } from 'vitest';
import type { Report } from '../../../src/report/types.js';
import { describeWorkloadsOn, runOn } from '../../helpers/workload-suite.js';

function runOnXen(workload: string, cpus: number, ops: number): Promise<Report> {
  return runOn('xen', workload, cpus, ops);
}

function expectBalanced(report: Report): void {
  expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
  expect(report.backend).toBe('xen');
  expect(report.ipis.handled + report.ipis.coalesced).toBe(report.ipis.sent);
  expect(report.counters.callRequestsHandled).toBe(report.counters.callRequestsSent);
  // The hostile workload's attacks are refused on purpose (test/workloads/hostile.test.ts);
  // any other workload's kernel never issues a request Xen refuses.
  if (report.workload !== 'hostile') expect(report.hv.rejected).toBe(0);
  expect(report.hv.hypercalls).toBeGreaterThan(0);
  // Remote flushes are the hypervisor's: never a guest IPI.
  expect(report.shootdowns.ipis).toBe(0);
}

describeWorkloadsOn('xen', (_workload, report) => expectBalanced(report));

describe('Xen shootdowns', () => {
  it('tlb_flush1 on 2 vCPUs: shootdowns happen, with zero guest IPIs, and the self-check passes', async () => {
    const report = await runOnXen('tlb_flush1', 2, 1000);
    expectBalanced(report);
    expect(report.shootdowns.count).toBeGreaterThan(0);
    expect(report.shootdowns.ipis).toBe(0);
    // Each target served the hypervisor's request itself.
    expect(report.perCpu.reduce((n, c) => n + c.flushRequestsHandled, 0)).toBeGreaterThan(0);
  });

  it.each(['mprotect', 'munmap'])('makes a %s visible to a reader on another vCPU before the call returns', async (workload) => {
    const report = await runOnXen(workload, 2, 40);
    expectBalanced(report);
    expect(report.shootdowns.count).toBeGreaterThan(10);
    expect(report.faultsDetail.segv).toBeGreaterThan(0);
  });
});
