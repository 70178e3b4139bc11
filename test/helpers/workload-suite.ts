/**
 * Every registered workload, on real vCPU workers under one backend, at 1, 2 and 4 vCPUs: its
 * self-check passes and the machine's books balance (IPIs sent = handled + coalesced, remote calls sent =
 * run). One suite for every backend's SMP tests; needs the build (workers run dist/).
 */
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { workloads } from '../../src/workloads/registry.js';
import { testConfig } from './machine.js';
import { runReport } from '../../src/report/build.js';

/** Operations per run: enough to exercise each workload's protocol, small enough for 2 cores. */
export const OPS: Readonly<Record<string, number>> = {
  tlb_flush1: 400,
  tlb_flush2: 400,
  tlb_flush3: 400,
  mprotect: 40,
  munmap: 40,
  idle: 40,
  touch: 10_000,
  membarrier: 400,
  ebizzy: 100,
  fork_cow: 60,
  vmalloc: 100,
  ctxswitch: 10_000,
  hostile: 400,
};
/** A workload registered after this table was written still runs, with this many operations. */
const DEFAULT_OPS = 100;

export function opsFor(workload: string): number {
  return OPS[workload] ?? DEFAULT_OPS;
}

export function runOn(backend: string, workload: string, cpus: number, ops = opsFor(workload), pcpus?: number): Promise<Report> {
  return runReport({ ...testConfig(workload, cpus, { ops }), backend, ...(pcpus !== undefined ? { pcpus } : {}) });
}

export function describeWorkloadsOn(backend: string, extra?: (workload: string, report: Report) => void): void {
  describe.each(Object.keys(workloads))(`${backend}: workload %s`, (workload) => {
    it.each([1, 2, 4])('passes its self-check on %i vCPUs with IPIs and calls conserved', async (cpus) => {
      const report = await runOn(backend, workload, cpus);
      expect(report.backend).toBe(backend);
      expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
      expect(report.ops).toBeGreaterThan(0);
      expect(report.ipis.handled + report.ipis.coalesced).toBe(report.ipis.sent);
      expect(report.counters.callRequestsHandled).toBe(report.counters.callRequestsSent);
      extra?.(workload, report);
    });
  });
}
