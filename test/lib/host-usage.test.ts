/**
 * The host measurements a report carries: thread schedstat, the other processes' CPU, and the
 * meter over a stretch. Unit tests, main thread; Linux-only figures say so when absent.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HostUsageMeter, hostBusyNs, schedStatSince, threadSchedStat } from '../../src/lib/host-usage.js';

const linux = existsSync('/proc/thread-self/schedstat');

describe('host usage', () => {
  it.skipIf(!linux)('reads this thread\'s time on a core and waiting for one, and both only grow', () => {
    const start = threadSchedStat();
    expect(start).toBeDefined();
    // The kernel brings a running thread's figure up to date at its scheduler ticks: spin until
    // one has passed (a few ms), or give up after 5 s of wall time.
    const giveUp = Date.now() + 5000;
    let since = schedStatSince(start, threadSchedStat());
    while (since!.onCpuNs === 0 && Date.now() < giveUp) since = schedStatSince(start, threadSchedStat());
    expect(since!.onCpuNs).toBeGreaterThan(0);
    expect(since!.runqueueNs).toBeGreaterThanOrEqual(0);
  });

  it('gives no difference when either reading is missing (a host without schedstat)', () => {
    expect(schedStatSince(undefined, { onCpuNs: 1, runqueueNs: 1 })).toBeUndefined();
    expect(schedStatSince({ onCpuNs: 1, runqueueNs: 1 }, undefined)).toBeUndefined();
    expect(schedStatSince({ onCpuNs: 5, runqueueNs: 2 }, { onCpuNs: 9, runqueueNs: 3 })).toEqual({ onCpuNs: 4, runqueueNs: 1 });
  });

  it('measures a stretch: its start date, wall and process CPU time, the load, and (on Linux) the others\' CPU', () => {
    const meter = new HostUsageMeter();
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    const u = meter.finish();
    expect(x).toBeGreaterThan(0);
    expect(Date.parse(u.startedAt)).not.toBeNaN();
    expect(u.wallNs).toBeGreaterThan(0);
    expect(u.cpuNs).toBeGreaterThan(0);
    expect(u.loadBefore).toBeGreaterThanOrEqual(0);
    expect(u.loadAfter).toBeGreaterThanOrEqual(0);
    if (hostBusyNs() !== undefined) expect(u.othersCpuNs).toBeGreaterThanOrEqual(0);
    else expect(u.othersCpuNs).toBeUndefined();
  });
});
