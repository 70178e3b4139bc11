/**
 * The overcommit scheduler's policy alone: who holds the P physical CPUs, tick after tick.
 * Unit tests, no threads, no shared memory.
 */
import { describe, expect, it } from 'vitest';
import { Need, SchedPolicy } from '../../../src/machine/sched/policy.js';

const MS = 1e6;
const SLICE = 3 * MS;

const all = (cpus: number, need: Need): Need[] => new Array<Need>(cpus).fill(need);
const holders = (p: SchedPolicy): number[] => [...Array(p.cpus).keys()].filter((c) => p.holdsCpu(c));

describe('SchedPolicy', () => {
  it('gives the first P vCPUs the CPUs at boot, the boot CPU among them', () => {
    const p = new SchedPolicy(4, 2, SLICE);
    const d = p.initial(0);
    expect(d.grant).toEqual([0, 1]);
    expect(d.revoke).toEqual([2, 3]);
    expect(d.preempted).toEqual([]);
    expect(holders(p)).toEqual([0, 1]);
  });

  it('keeps a runnable holder for a whole slice, then rotates round robin, never above P', () => {
    const p = new SchedPolicy(4, 2, SLICE);
    p.initial(0);
    const busy = all(4, Need.Runnable);
    // Within the slice nobody moves, however many wait.
    expect(p.decide(busy, 1 * MS)).toEqual({ grant: [], revoke: [], preempted: [] });
    // Slice over: both holders make way for the two that waited longest.
    const d = p.decide(busy, SLICE);
    expect(d.revoke.sort()).toEqual([0, 1]);
    expect(d.preempted.sort()).toEqual([0, 1]);
    expect(d.grant).toEqual([2, 3]);
    expect(holders(p)).toEqual([2, 3]);
    // And back again one slice later: every runnable vCPU gets its turn.
    p.decide(busy, 2 * SLICE);
    expect(holders(p)).toEqual([0, 1]);
    for (let t = 2 * SLICE; t < 40 * SLICE; t += MS) {
      p.decide(busy, t);
      expect(p.holders).toBeLessThanOrEqual(2);
    }
  });

  it('serves the vCPU that waited longest first', () => {
    const p = new SchedPolicy(3, 1, SLICE);
    p.initial(0); // 0 holds; 1 and 2 wait since 0
    const busy = all(3, Need.Runnable);
    expect(p.decide(busy, SLICE).grant).toEqual([1]);
    expect(p.decide(busy, 2 * SLICE).grant).toEqual([2]); // 2 waited since 0, 0 only since SLICE
    expect(p.decide(busy, 3 * SLICE).grant).toEqual([0]);
  });

  it('takes an idle holder\'s CPU for a waiting runnable vCPU at once, and does not count it preempted', () => {
    const p = new SchedPolicy(3, 1, SLICE);
    p.initial(0);
    const d = p.decide([Need.Idle, Need.Runnable, Need.Idle], 1 * MS);
    expect(d.revoke).toEqual([0]);
    expect(d.preempted).toEqual([]);
    expect(d.grant).toEqual([1]);
  });

  it('prefers taking an idle holder\'s CPU over an expired runnable one', () => {
    const p = new SchedPolicy(4, 2, SLICE);
    p.initial(0);
    const d = p.decide([Need.Runnable, Need.Idle, Need.Runnable, Need.Idle], SLICE);
    expect(d.revoke).toEqual([1]);
    expect(d.grant).toEqual([2]);
    expect(holders(p)).toEqual([0, 2]);
  });

  it('gives a finished vCPU\'s CPU away, and free CPUs to idle vCPUs so their wakeups are prompt', () => {
    const p = new SchedPolicy(4, 2, SLICE);
    p.initial(0);
    const d = p.decide([Need.Gone, Need.Runnable, Need.Idle, Need.Idle], 1 * MS);
    expect(d.revoke).toEqual([]);
    expect(d.grant).toEqual([2]);
    expect(holders(p)).toEqual([1, 2]);
    // The idle holder makes way as soon as someone has work.
    const d2 = p.decide([Need.Gone, Need.Runnable, Need.Idle, Need.Runnable], 2 * MS);
    expect(d2.revoke).toEqual([2]);
    expect(d2.grant).toEqual([3]);
  });

  it('releases every vCPU when the machine stops', () => {
    const p = new SchedPolicy(4, 1, SLICE);
    p.initial(0);
    expect(p.releaseAll()).toEqual([0, 1, 2, 3]);
  });
});
