/**
 * When a report calls its host-time figures unreliable, and how it says so: a vCPU thread that
 * waited for a core, other processes crowding the host, more vCPU threads than cores. Unit
 * tests over hand-made measurements, main thread.
 */
import { describe, expect, it } from 'vitest';
import type { HostUsage } from '../../src/lib/host-usage.js';
import { snapshotCounters, VcpuCounters } from '../../src/stats/counters.js';
import type { VcpuStatsSnapshot } from '../../src/stats/snapshot.js';
import { RUNQUEUE_SHARE_UNRELIABLE, hostUsageReport, unreliableWarning } from '../../src/report/host-usage.js';

const S = 1e9;

function usage(over: Partial<HostUsage> = {}): HostUsage {
  return { startedAt: '2026-01-01T00:00:00.000Z', wallNs: 2 * S, cpuNs: 3.8 * S, loadBefore: 0.1, loadAfter: 0.3, othersCpuNs: 0.02 * S, ...over };
}

function vcpu(cpu: number, onCpuS: number, runqueueS: number | undefined): VcpuStatsSnapshot {
  return {
    cpu, counters: snapshotCounters(new VcpuCounters()), shootdownLatency: '', flushHandlerLatency: '', shootdownCycles: '', smpCallLatency: '', stealNs: 0, workStartNs: 0, workEndNs: 0,
    ...(runqueueS !== undefined ? { sched: { onCpuNs: onCpuS * S, runqueueNs: runqueueS * S } } : {}),
  };
}

describe('hostUsageReport', () => {
  it('finds no reason to doubt a quiet run of 2 vCPUs on 2 cores, and prints no warning', () => {
    const r = hostUsageReport(usage(), [vcpu(0, 1.7, 0.3), vcpu(1, 1.8, 0.2)], { cpus: 2 }, 2);
    expect(r).toEqual({ loadBefore: 0.1, loadAfter: 0.3, wallSeconds: 2, cpuSeconds: 3.8, othersCores: 0.01, vcpuThreads: { onCpuSeconds: 3.5, runqueueSeconds: 0.5 } });
    expect(unreliableWarning(r)).toBeUndefined();
  });

  it('names the vCPU whose thread waited for a core more than the threshold of its runnable time', () => {
    const waited = RUNQUEUE_SHARE_UNRELIABLE + 0.1;
    const r = hostUsageReport(usage(), [vcpu(0, 1.8, 0.1), vcpu(1, 1 - waited, waited)], { cpus: 2 }, 2);
    expect(r.unreliable).toEqual([`cpu 1's thread waited for a host core ${Math.round(waited * 100)}% of the time it could run`]);
    expect(unreliableWarning(r)).toBe(`warning: host-time figures (elapsed, ops/s, µs) are unreliable on this run: ${r.unreliable![0]}`);
  });

  it('says when other processes used a core\'s worth of CPU beside vCPU threads that fill the host', () => {
    const r = hostUsageReport(usage({ othersCpuNs: 1.7 * S }), [vcpu(0, 1, 0.1), vcpu(1, 1, 0.1)], { cpus: 2 }, 2);
    expect(r.unreliable).toEqual(['other processes using 0.85 cores plus 2 vCPU threads exceed 2 host cores']);
  });

  it('says when there are more vCPU threads than host cores, and counts only the --pcpus that may run', () => {
    expect(hostUsageReport(usage(), [], { cpus: 4 }, 2).unreliable).toEqual(['4 vCPU threads may run at once on 2 host cores']);
    expect(hostUsageReport(usage(), [], { cpus: 4, pcpus: 2 }, 2).unreliable).toBeUndefined();
  });

  it('falls back on the load average without /proc/stat, and leaves the vCPU threads out without schedstat', () => {
    const { othersCpuNs: _, ...noProc } = usage({ loadBefore: 1.2 });
    const r = hostUsageReport(noProc, [vcpu(0, 1, undefined), vcpu(1, 1, 0)], { cpus: 2 }, 2);
    expect(r).not.toHaveProperty('vcpuThreads');
    expect(r).not.toHaveProperty('othersCores');
    expect(r.unreliable).toEqual(['a load average of 1.20 cores plus 2 vCPU threads exceed 2 host cores']);
  });
});
