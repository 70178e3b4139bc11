/**
 * The sweep's run list and its shard slices: the expansion order and size, and that N shards
 * are disjoint, cover every run, and are the same on every call. Unit tests, no workers.
 */
import { describe, expect, it } from 'vitest';
import { describeStop, expandSweep, latencyUnit, shardRuns, specDifference, specKey, type SweepSpec } from '../../bench/lib/sweep-spec.js';
import { parseBenchArgs } from '../../bench/lib/args.js';
import { sweepCase, sweepSpecFrom } from '../../bench/cases/sweep.js';

const spec: SweepSpec = { backends: ['native', 'xen', 'kvm'], cpus: [1, 2, 4], workloads: ['tlb_flush1', 'ebizzy'], reps: 2, ops: 100 };

describe('expandSweep', () => {
  it('lists backends x cpus x workloads x reps, backends outermost, indices 0..n-1', () => {
    const runs = expandSweep(spec);
    expect(runs).toHaveLength(3 * 3 * 2 * 2);
    expect(runs.map((r) => r.index)).toEqual(runs.map((_r, i) => i));
    expect(runs.slice(0, 3)).toEqual([
      { index: 0, backend: 'native', cpus: 1, workload: 'tlb_flush1', rep: 1 },
      { index: 1, backend: 'native', cpus: 1, workload: 'tlb_flush1', rep: 2 },
      { index: 2, backend: 'native', cpus: 1, workload: 'ebizzy', rep: 1 },
    ]);
    expect(runs.at(-1)).toEqual({ index: 35, backend: 'kvm', cpus: 4, workload: 'ebizzy', rep: 2 });
    const keys = new Set(runs.map((r) => `${r.backend}/${r.cpus}/${r.workload}/${r.rep}`));
    expect(keys.size).toBe(runs.length);
  });
});

describe('shardRuns', () => {
  const runs = expandSweep(spec);

  for (const count of [1, 2, 3, 5, 36, 50]) {
    it(`cuts ${runs.length} runs into ${count} disjoint slices that together hold every run once`, () => {
      const slices = Array.from({ length: count }, (_x, i) => shardRuns(runs, { index: i + 1, count }));
      const all = slices.flat().map((r) => r.index).sort((a, b) => a - b);
      expect(all).toEqual(runs.map((r) => r.index));
      // Round-robin: slice sizes differ by at most one.
      const sizes = slices.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    });
  }

  it('gives shard I the runs whose index mod N is I-1, the same on every call', () => {
    const second = shardRuns(runs, { index: 2, count: 3 });
    expect(second.every((r) => r.index % 3 === 1)).toBe(true);
    expect(shardRuns(expandSweep(spec), { index: 2, count: 3 })).toEqual(second);
  });

  it('without a shard returns every run', () => {
    expect(shardRuns(runs, null)).toEqual(runs);
  });
});

describe('specKey and specDifference', () => {
  it('tell two shards of one sweep from shards of another, naming the field', () => {
    const same: SweepSpec = { ops: 100, reps: 2, workloads: ['tlb_flush1', 'ebizzy'], cpus: [1, 2, 4], backends: ['native', 'xen', 'kvm'] };
    expect(specKey(same)).toBe(specKey(spec));
    expect(specDifference(same, spec)).toBeUndefined();
    const other: SweepSpec = { ...spec, cpus: [1, 2] };
    expect(specKey(other)).not.toBe(specKey(spec));
    expect(specDifference(other, spec)).toBe('cpus: [1,2] vs [1,2,4]');
    const timed: SweepSpec = { backends: spec.backends, cpus: spec.cpus, workloads: spec.workloads, reps: 2, seconds: 1 };
    expect(specDifference(timed, spec)).toBe('seconds: 1 vs null');
  });

  it('tell a virtual-time sweep from a host-time one, and label its latencies modelled', () => {
    const virtual: SweepSpec = { ...spec, clock: 'virtual' };
    expect(specKey(virtual)).not.toBe(specKey(spec));
    expect(specDifference(virtual, spec)).toBe('clock: "virtual" vs null');
    expect(latencyUnit(virtual)).toBe('modelled µs');
    expect(latencyUnit(spec)).toBe('host µs');
    expect(describeStop({ ...virtual, seconds: 0.01 })).toBe('100 ops per run');
    const { ops: _ops, ...timed } = virtual;
    expect(describeStop({ ...timed, seconds: 0.01 })).toBe('0.01 modelled s per run');
  });

  it('--clock: sweep takes host or virtual and nothing else', () => {
    expect(parseBenchArgs(['--clock', 'virtual'], 'sweep', sweepCase.options).clock).toBe('virtual');
    expect(sweepSpecFrom(parseBenchArgs(['--clock', 'virtual'], 'sweep', sweepCase.options)).clock).toBe('virtual');
    expect(sweepSpecFrom(parseBenchArgs(['--clock', 'host'], 'sweep', sweepCase.options))).not.toHaveProperty('clock');
    expect(() => parseBenchArgs(['--clock', 'wall'], 'sweep', sweepCase.options)).toThrow('--clock: must be host or virtual, got "wall"');
  });
});
