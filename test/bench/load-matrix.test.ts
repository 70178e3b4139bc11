import { describe, expect, it } from 'vitest';
import {
  RUN_FIXED_OVERHEAD_S, RUN_OVERHEAD_PER_VCPU_S, expandLoadMatrix, formatDuration, matrixBudgetSeconds, overcommitPcpus, runLabel,
} from '../../bench/lib/load-matrix.js';

describe('overcommitPcpus', () => {
  it('gives the scheduler only to runs with more vCPUs than physical CPUs', () => {
    expect(overcommitPcpus(64, 2)).toBe(2);
    expect(overcommitPcpus(3, 2)).toBe(2);
    expect(overcommitPcpus(2, 2)).toBeUndefined();
    expect(overcommitPcpus(1, 2)).toBeUndefined();
  });

  it('never schedules when pcpus is 0', () => {
    expect(overcommitPcpus(64, 0)).toBeUndefined();
  });
});

describe('expandLoadMatrix', () => {
  it('nests vCPU counts, then workloads, then backends, with pcpus only where vCPUs exceed it', () => {
    const runs = expandLoadMatrix({ cpus: [2, 64], workloads: ['touch', 'idle'], backends: ['native', 'kvm'], pcpus: 2 });
    expect(runs).toEqual([
      { cpus: 2, workload: 'touch', backend: 'native' },
      { cpus: 2, workload: 'touch', backend: 'kvm' },
      { cpus: 2, workload: 'idle', backend: 'native' },
      { cpus: 2, workload: 'idle', backend: 'kvm' },
      { cpus: 64, workload: 'touch', backend: 'native', pcpus: 2 },
      { cpus: 64, workload: 'touch', backend: 'kvm', pcpus: 2 },
      { cpus: 64, workload: 'idle', backend: 'native', pcpus: 2 },
      { cpus: 64, workload: 'idle', backend: 'kvm', pcpus: 2 },
    ]);
  });

  it('holds every combination once: 12 workloads x 5 backends is 60 runs', () => {
    const workloads = Array.from({ length: 12 }, (_, i) => `w${i}`);
    const backends = ['native', 'xen', 'vmi', 'shadow', 'kvm'];
    const runs = expandLoadMatrix({ cpus: [64], workloads, backends, pcpus: 2 });
    expect(runs).toHaveLength(60);
    expect(new Set(runs.map(runLabel)).size).toBe(60);
  });

  it('is empty when a dimension is', () => {
    expect(expandLoadMatrix({ cpus: [4], workloads: [], backends: ['native'], pcpus: 2 })).toEqual([]);
  });
});

describe('matrixBudgetSeconds', () => {
  it('sums each run\'s work and its vCPU-dependent overhead', () => {
    const runs = expandLoadMatrix({ cpus: [4, 64], workloads: ['touch'], backends: ['native'], pcpus: 2 });
    const expected = (2 + RUN_FIXED_OVERHEAD_S + 4 * RUN_OVERHEAD_PER_VCPU_S) + (2 + RUN_FIXED_OVERHEAD_S + 64 * RUN_OVERHEAD_PER_VCPU_S);
    expect(matrixBudgetSeconds(runs, 2)).toBeCloseTo(expected, 9);
  });
});

describe('runLabel and formatDuration', () => {
  it('name the overcommitted runs and print minutes', () => {
    expect(runLabel({ backend: 'kvm', workload: 'idle', cpus: 64, pcpus: 2 })).toBe('kvm/idle/64on2');
    expect(runLabel({ backend: 'xen', workload: 'touch', cpus: 2 })).toBe('xen/touch/2');
    expect(formatDuration(45.4)).toBe('45 s');
    expect(formatDuration(1392)).toBe('23 min 12 s');
  });
});
