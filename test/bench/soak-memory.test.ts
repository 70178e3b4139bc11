import { describe, expect, it } from 'vitest';
import { garbageCollector, judgeMemoryGrowth, metricValue, sampleMemory, type MemorySample } from '../../bench/lib/soak-memory.js';

const MiB = 1024 * 1024;

/** A sample at `at` s with rss and heap in MiB; external 2 MiB, arrayBuffers 0. */
function s(at: number, rssMiB: number, heapMiB = 8): MemorySample {
  return { atSeconds: at, rss: rssMiB * MiB, heapUsed: heapMiB * MiB, external: 2 * MiB, arrayBuffers: 0 };
}

/** One sample every `every` s from 0 to `seconds`, rss from `f(t)`. */
function series(seconds: number, every: number, f: (t: number) => number): MemorySample[] {
  const out: MemorySample[] = [];
  for (let t = 0; t <= seconds; t += every) out.push(s(t, f(t)));
  return out;
}

describe('judgeMemoryGrowth', () => {
  it('does not judge a soak shorter than two minutes', () => {
    const j = judgeMemoryGrowth(series(100, 5, () => 80), 100);
    expect(j.judged).toBe(false);
    if (!j.judged) expect(j.reason).toMatch(/lasted 1\.67 min; the target needs at least 2/);
  });

  it('judges flat memory as 0% growth, ignoring the first minute\'s warm-up', () => {
    // rss climbs from 60 to 90 MiB in the first minute (JIT, pools), then holds.
    const j = judgeMemoryGrowth(series(180, 5, (t) => (t < 60 ? 60 + t / 2 : 90)), 180);
    expect(j.judged).toBe(true);
    if (j.judged) {
      expect(j.growthPct.rss).toBe(0);
      expect(j.baseline.fromSeconds).toBe(60);
      expect(j.final.toSeconds).toBe(180);
    }
  });

  it('measures a steady leak from the second minute to the end', () => {
    // 100 MiB at 60 s, +0.2 MiB/s: 124 MiB at 180 s; the windows' medians are at 65 s and 175 s.
    const j = judgeMemoryGrowth(series(180, 5, (t) => 100 + 0.2 * (t - 60)), 180);
    expect(j.judged).toBe(true);
    if (j.judged) expect(j.growthPct.rss).toBeCloseTo(((123 - 101) / 101) * 100, 6);
  });

  it('takes medians, so one transient sample at either end does not decide', () => {
    const samples = series(180, 5, () => 100);
    samples[samples.length - 1] = s(180, 300);
    const j = judgeMemoryGrowth(samples, 180);
    expect(j.judged && j.growthPct.rss).toBe(0);
  });

  it('does not judge with fewer than two samples after the first minute', () => {
    const j = judgeMemoryGrowth([s(0, 80), s(30, 80), s(125, 80)], 125);
    expect(j.judged).toBe(false);
  });

  it('judges external + arrayBuffers together, so a retained guest RAM shows', () => {
    const samples = series(180, 10, () => 100);
    for (const x of samples) if (x.atSeconds >= 150) x.arrayBuffers = 256 * MiB;
    const j = judgeMemoryGrowth(samples, 180);
    expect(j.judged).toBe(true);
    if (j.judged) {
      expect(j.growthPct.externalAndArrayBuffers).toBeGreaterThan(10);
      expect(j.growthPct.heapUsed).toBe(0);
    }
    expect(metricValue(samples[samples.length - 1]!, 'externalAndArrayBuffers')).toBe(258 * MiB);
  });
});

describe('garbageCollector and sampleMemory', () => {
  it('obtain a working gc and collect an unreachable SharedArrayBuffer', async () => {
    const gc = garbageCollector();
    expect(gc).toBeTypeOf('function');
    const before = await sampleMemory(0, gc);
    let sab: SharedArrayBuffer | undefined = new SharedArrayBuffer(64 * MiB);
    new Uint8Array(sab).fill(1);
    const held = await sampleMemory(1, gc);
    // Other, small buffers may be collected between the samples: allow a little slack.
    expect(held.arrayBuffers - before.arrayBuffers).toBeGreaterThan(60 * MiB);
    sab = undefined;
    // A busy host may finalise the backing store a few collections late: allow a few rounds,
    // but a buffer that is never released still fails.
    let after = await sampleMemory(2, gc);
    for (let round = 0; round < 20 && after.arrayBuffers >= held.arrayBuffers - 32 * MiB; round++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await sampleMemory(2, gc);
    }
    expect(after.arrayBuffers).toBeLessThan(held.arrayBuffers - 32 * MiB);
  });
});
