/**
 * The shootdown guarantee, end to end on real workers: while a thread on one vCPU keeps
 * accessing a page, a thread on another write-protects it (mprotect) or unmaps it (munmap).
 * Once the system call has returned, the other thread's access must fault — it must never go
 * through a stale TLB entry. The probe workloads judge every access by the epoch the toggling
 * thread publishes after its call returns, and fail their self-check on any stale access.
 */
import { describe, expect, it } from 'vitest';
import { runWorkload } from '../helpers/machine.js';

describe('TLB shootdown', () => {
  it.each(['mprotect', 'munmap'])('makes a %s visible to a reader on another vCPU before the call returns', async (workload) => {
    // By op count, not time: however slow the host, the toggler completes 20 cycles (2 threads).
    const report = await runWorkload(workload, 2, { ops: 40 });
    expect(report.selfCheck.passed, report.selfCheck.message).toBe(true);
    // The toggler's calls were real cross-CPU shootdowns, each to the reader's CPU.
    expect(report.shootdowns.count).toBeGreaterThan(10);
    expect(report.shootdowns.targets).toBeGreaterThanOrEqual(report.shootdowns.count);
    // The reader's accesses in the closed phases faulted (SIGSEGV delivered and survived).
    expect(report.faultsDetail.segv).toBeGreaterThan(0);
  });
});
