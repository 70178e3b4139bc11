/**
 * The progress bar helper: silent apart from log lines when the stream is not a terminal, no
 * bar before its delay, and a bar (title, count, unit, label) with log lines drawn above it on a
 * terminal, gone after stop; `pvemu run`'s bar counts the operations the vCPUs report. Unit
 * tests with a fake terminal stream and a fake machine, no workers.
 */
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { runProgress, startProgress } from '../../src/cli/progress.js';
import { defaultConfig } from '../../src/machine/config.js';
import { hostNowNs } from '../../src/lib/host-clock.js';
import type { VcpuStatsSnapshot } from '../../src/stats/snapshot.js';

/** A stream that records what is written; a terminal (80 columns) when `tty`. */
function stream(tty: boolean): Writable & { text: string; isTTY: boolean; columns: number } {
  const s = Object.assign(new Writable({ write(chunk, _enc, done) { s.text += String(chunk); done(); } }), { text: '', isTTY: tty, columns: 80 });
  return s;
}

/** Lets timers already due (the bar's 0 ms delay) run first. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('startProgress', () => {
  it('draws nothing but the log lines when the stream is not a terminal', async () => {
    const s = stream(false);
    const p = startProgress({ total: 4, unit: 'runs', title: 'sweep', stream: s, delayMs: 0 });
    p.update(1, 'native, 2 vCPUs');
    await tick();
    p.log('bench: running tlb_flush1\n');
    p.update(2);
    p.stop();
    expect(s.text).toBe('bench: running tlb_flush1\n');
  });

  it('draws no bar when stopped before its delay, on a terminal', async () => {
    const s = stream(true);
    const p = startProgress({ total: 4, unit: 'runs', title: 'sweep', stream: s, delayMs: 60_000 });
    p.update(3, 'kvm');
    p.log('line\n');
    await tick();
    p.stop();
    expect(s.text).toBe('line\n');
  });

  it('draws the bar with its count, unit and label on a terminal, log lines above it, and clears it on stop', async () => {
    const s = stream(true);
    const p = startProgress({ total: 4, unit: 'runs', title: 'sweep', stream: s, delayMs: 0 });
    p.update(1, 'native, 2 vCPUs, tlb_flush1, rep 1');
    await tick();
    p.log('bench: running tlb_flush1 on 2 vCPUs\n');
    const drawn = s.text;
    expect(drawn).toContain('bench: running tlb_flush1 on 2 vCPUs\n');
    expect(drawn.indexOf('bench: running')).toBeLessThan(drawn.lastIndexOf('sweep ['));
    expect(drawn).toMatch(/sweep \[[^\]]*\] 25% \| 1\/4 runs \| .* \| native, 2 vCPUs, tlb_flush1, rep 1/);
    p.stop();
    p.stop();
    const after = s.text.slice(drawn.length);
    // Cleared (erase to end of screen), cursor shown again; no new bar text.
    expect(after).not.toContain('sweep [');
    expect(after).toContain('\x1B[0J');
  });

  it('shows seconds with one decimal, and no second clock (duration, eta) beside them', async () => {
    const s = stream(true);
    const p = startProgress({ total: 2, unit: 's', title: 'run', stream: s, delayMs: 0 });
    p.update(1.25, 'touch');
    await tick();
    p.log('x\n');
    p.stop();
    expect(s.text).toMatch(/run \[[^\]]*\] 62% \| 1\.3\/2\.0 s \| touch/);
    expect(s.text).not.toContain('eta');
  });
});

describe('runProgress', () => {
  const config = { ...defaultConfig(), backend: 'kvm', cpus: 2, workload: 'touch' };

  it('shows the operations the vCPUs report of --ops, once the run has lasted a second', async () => {
    const s = stream(true);
    const counters = (ops: number) => ({ counters: { ops } }) as unknown as VcpuStatsSnapshot;
    const machine = { snapshot: () => Promise.resolve([counters(30), counters(20)]) };
    const stop = runProgress(machine, { ...config, seconds: undefined, ops: 100 }, s);
    try {
      await vi.waitFor(() => expect(s.text).toMatch(/run \[[^\]]*\] 50% \| 50\/100 ops \| .* \| touch on kvm, 2 vCPUs/), { timeout: 10_000, interval: 50 });
    } finally {
      stop();
    }
  });

  it('counts --seconds from the vCPUs\' start of work, as the run\'s clock does, and says "booting" before it', async () => {
    const s = stream(true);
    let started = 0;
    const snap = () => ({ counters: { ops: 0 }, workStartNs: started }) as unknown as VcpuStatsSnapshot;
    const machine = { snapshot: () => Promise.resolve([snap(), snap()]) };
    const stop = runProgress(machine, { ...config, seconds: 600 }, s);
    try {
      await vi.waitFor(() => expect(s.text).toMatch(/0\.0\/600\.0 s \| touch on kvm, 2 vCPUs: booting/), { timeout: 10_000, interval: 50 });
      // Work began 300 s ago by the host clock the vCPUs stamp it with.
      started = hostNowNs() - 300e9;
      await vi.waitFor(() => expect(s.text).toMatch(/ 50% \| 30\d\.\d\/600\.0 s \| touch on kvm, 2 vCPUs/), { timeout: 10_000, interval: 50 });
    } finally {
      stop();
    }
  });

  it('draws nothing and takes no snapshot when the stream is not a terminal', async () => {
    const s = stream(false);
    let snapshots = 0;
    const stop = runProgress({ snapshot: () => { snapshots++; return Promise.resolve([]); } }, { ...config, seconds: undefined, ops: 100 }, s);
    await new Promise((resolve) => setTimeout(resolve, 600));
    stop();
    expect(snapshots).toBe(0);
    expect(s.text).toBe('');
  });
});
