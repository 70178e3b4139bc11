/**
 * The Xen backend on real vCPU workers (run `npm run build` first: workers load dist/). Every
 * workload passes its self-check at 1, 2 and 4 vCPUs with the books balanced and nothing refused
 * by the hypervisor (the kernel only issues valid updates); shootdowns send no guest IPIs; the
 * probe workloads see no stale translation after a hypervisor-side remote flush.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../../src/machine/machine.js';
import type { Report } from '../../../src/stats/report.js';
import { workloads } from '../../../src/workloads/registry.js';
import { testConfig, type RunOptions } from '../../helpers/machine.js';

/** Operations per run: as the native workload suite (test/machine/workloads.test.ts). */
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

function runOnXen(workload: string, cpus: number, opts: RunOptions): Promise<Report> {
  return new Machine({ ...testConfig(workload, cpus, opts), backend: 'xen' }).run();
}

function expectBalanced(report: Report): void {
  expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
  expect(report.backend).toBe('xen');
  expect(report.ipis.handled).toBe(report.ipis.sent);
  expect(report.counters.callRequestsHandled).toBe(report.counters.callRequestsSent);
  expect(report.hv.rejected).toBe(0);
  expect(report.hv.hypercalls).toBeGreaterThan(0);
  // Remote flushes are the hypervisor's: never a guest IPI.
  expect(report.shootdowns.ipis).toBe(0);
}

describe.each(Object.keys(workloads))('workload %s on xen', (workload) => {
  it.each([1, 2, 4])('passes its self-check on %i vCPUs, IPIs and calls conserved, nothing refused', async (cpus) => {
    const report = await runOnXen(workload, cpus, { ops: OPS[workload] ?? 200 });
    expectBalanced(report);
    expect(report.ops).toBeGreaterThan(0);
    expect(report.perCpu).toHaveLength(cpus);
  });
});

describe('Xen shootdowns', () => {
  it('tlb_flush1 on 2 vCPUs: shootdowns happen, with zero guest IPIs, and the self-check passes', async () => {
    const report = await runOnXen('tlb_flush1', 2, { ops: 1000 });
    expectBalanced(report);
    expect(report.shootdowns.count).toBeGreaterThan(0);
    expect(report.shootdowns.ipis).toBe(0);
    // Each target served the hypervisor's request itself.
    expect(report.perCpu.reduce((n, c) => n + c.flushRequestsHandled, 0)).toBeGreaterThan(0);
  });

  it.each(['mprotect', 'munmap'])('makes a %s visible to a reader on another vCPU before the call returns', async (workload) => {
    const report = await runOnXen(workload, 2, { ops: 40 });
    expectBalanced(report);
    expect(report.shootdowns.count).toBeGreaterThan(10);
    expect(report.faultsDetail.segv).toBeGreaterThan(0);
  });
});
