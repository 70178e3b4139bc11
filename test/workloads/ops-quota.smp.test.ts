/**
 * --ops K means K operations in total on every workload, whichever threads count them: the
 * mprotect, munmap and idle workloads count on one thread while the others work, tlb_flush1 on
 * every thread. Real vCPU workers, 4 vCPUs.
 */
import { describe, expect, it } from 'vitest';
import { runWorkload } from '../helpers/machine.js';

describe('--ops is the run\'s total', () => {
  it.each(['mprotect', 'munmap', 'idle', 'tlb_flush1'])('%s at 4 vCPUs with --ops 100 reports exactly 100 operations', async (workload) => {
    const report = await runWorkload(workload, 4, { ops: 100 });
    expect(report.selfCheck.passed).toBe(true);
    expect(report.ops).toBe(100);
  });
});
