/**
 * LatencyHistogram: percentiles, codec, merge, and that the fast record path builds exactly the
 * histogram hdr-histogram-js's own recordValue would. Unit tests, main thread only.
 */
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { HISTOGRAM_MAX_NS, LatencyHistogram } from '../../src/stats/histogram.js';
import { rng } from '../helpers/rng.js';

/** Within HDR's 3-significant-digit precision (0.1 %, plus one unit for small values). */
function expectNear(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 0.001 + 1);
}

describe('LatencyHistogram', () => {
  it('gives percentiles of a known distribution within HDR precision', () => {
    const h = new LatencyHistogram();
    // 1..100000 ns once each: p50 = 50000, p90 = 90000, p99 = 99000, max = 100000.
    for (let ns = 1; ns <= 100_000; ns++) h.record(ns);
    const p = h.percentiles();
    expect(p.count).toBe(100_000);
    expectNear(p.p50, 50_000);
    expectNear(p.p90, 90_000);
    expectNear(p.p99, 99_000);
    expectNear(p.max, 100_000);
    expectNear(p.mean, 50_000.5);
    expect(h.count).toBe(100_000);
  });

  it('is exact below 2048 ns', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 50; i++) h.record(700);
    for (let i = 0; i < 49; i++) h.record(900);
    h.record(1234);
    expect(h.percentiles()).toEqual({ p50: 700, p90: 900, p99: 900, max: 1234, count: 100, mean: (50 * 700 + 49 * 900 + 1234) / 100 });
  });

  it('clamps to 1 ns .. 60 s and rounds to whole ns', () => {
    const h = new LatencyHistogram();
    h.record(0);
    h.record(-5);
    h.record(Number.NaN);
    h.record(0.4);
    h.record(2.6);
    h.record(1e15);
    const p = h.percentiles();
    expect(p.count).toBe(6);
    expect(h.percentiles().p50).toBe(1);
    expectNear(p.max, HISTOGRAM_MAX_NS);
    // 2.6 rounds to 3, recorded exactly.
    const three = new LatencyHistogram();
    three.record(2.6);
    expect(three.percentiles().max).toBe(3);
  });

  it('gives zeros when empty', () => {
    const h = new LatencyHistogram();
    expect(h.count).toBe(0);
    expect(h.percentiles()).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, count: 0, mean: 0 });
    expect(LatencyHistogram.decode(h.encode()).percentiles()).toEqual(h.percentiles());
  });

  it('round-trips through encode and decode', () => {
    const h = new LatencyHistogram();
    const r = rng(1);
    for (let i = 0; i < 10_000; i++) h.record(Math.floor(r() * 5_000_000) + 100);
    const encoded = h.encode();
    expect(typeof encoded).toBe('string');
    expect(encoded).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const back = LatencyHistogram.decode(encoded);
    expect(back.count).toBe(h.count);
    const a = h.percentiles();
    const b = back.percentiles();
    expect(b.p50).toBe(a.p50);
    expect(b.p90).toBe(a.p90);
    expect(b.p99).toBe(a.p99);
    expectNear(b.max, a.max);
    expectNear(b.mean, a.mean);
    // Encoding is stable: a decoded histogram re-encodes to the same counts.
    expect(LatencyHistogram.decode(back.encode()).percentiles()).toEqual(b);
  });

  it('adds counts when merging', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 300; i++) a.record(1000);
    for (let i = 0; i < 700; i++) b.record(3000);
    a.add(b);
    const p = a.percentiles();
    expect(p.count).toBe(1000);
    expect(p.p50).toBe(3001); // 3000 shares a 2-ns sub-bucket with 3001; HDR reports its top.
    expect(a.percentiles().max).toBeGreaterThanOrEqual(3000);
    expect(b.count).toBe(700);
    // Merging a decoded histogram works the same way.
    const c = LatencyHistogram.decode(b.encode());
    c.add(LatencyHistogram.decode(new LatencyHistogram().encode()));
    expect(c.count).toBe(700);
  });

  it('records exactly what hdr-histogram-js recordValue records', () => {
    const ours = new LatencyHistogram();
    const ref = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: HISTOGRAM_MAX_NS,
      numberOfSignificantValueDigits: 3,
      bitBucketSize: 64,
      autoResize: false,
    });
    const values: number[] = [1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, HISTOGRAM_MAX_NS];
    for (let k = 11; k < 36; k++) values.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
    const r = rng(7);
    for (let i = 0; i < 20_000; i++) values.push(Math.floor(Math.exp(r() * Math.log(HISTOGRAM_MAX_NS))));
    for (const v of values) {
      const x = Math.max(1, Math.min(v, HISTOGRAM_MAX_NS));
      ours.record(x);
      ref.recordValue(x);
    }
    expect(ours.encode()).toBe(hdr.encodeIntoCompressedBase64(ref));
  });
});
