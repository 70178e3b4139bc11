/**
 * Every workload, on real vCPU workers at 1, 2 and 4 vCPUs under the native backend, passes its
 * own self-check — and the machine's books balance: every IPI sent was handled, every remote
 * call ran. (The same suite runs under every other backend in test/hv/<backend>/.)
 */
import { expect } from 'vitest';
import { describeWorkloadsOn } from '../helpers/workload-suite.js';

describeWorkloadsOn('native', (_workload, report) => {
  expect(report.hv.traps).toBe(0);
  expect(report.hv.hypercalls).toBe(0);
});
