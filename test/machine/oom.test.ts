/**
 * Out of guest memory: a task whose page fault cannot get a frame is killed (SIGSEGV), the rest
 * of the machine keeps running to a clean exit, and the run reports the failure instead of a
 * result.
 */
import { describe, expect, it } from 'vitest';
import { runWorkload } from '../helpers/machine.js';

describe('page faults without free frames', () => {
  it('kill the faulting tasks and fail the run, without hanging or corrupting the machine', async () => {
    // tlb_flush3's shared pages stay resident until the remap: 2 threads x 16 MiB regions cannot
    // fit in 16 MiB of RAM, and 20000 ops (10000 pages a thread) must run into it.
    const report = await runWorkload('tlb_flush3', 2, { ops: 20_000, memBytes: 16 * 1024 * 1024 });
    expect(report.selfCheck.passed).toBe(false);
    expect(report.selfCheck.message).toMatch(/killed/);
    expect(report.counters.tasksKilled).toBeGreaterThan(0);
    expect(report.ipis.handled + report.ipis.coalesced).toBe(report.ipis.sent);
    // Every frame the run allocated went back, but the zero page, which is never freed.
    expect(report.counters.framesAllocated - report.counters.framesFreed).toBe(1);
  });
});
