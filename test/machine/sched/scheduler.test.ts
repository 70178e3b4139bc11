/**
 * The main-thread overcommit scheduler on a machine block with fake vCPUs: the test plays each
 * vCPU by writing its activity and steal-time words, drives ticks by hand, and reads back the
 * scheduler's decisions, kicks and steal time — through pv_time_ops.stealClock as a guest
 * would. No threads.
 */
import { describe, expect, it } from 'vitest';
import { OvercommitScheduler } from '../../../src/machine/sched/scheduler.js';
import { PARKED_ACTIVITY, loadSchedState } from '../../../src/hw/sched-word.js';
import { loadPreempted, markPreempted } from '../../../src/hw/steal-time.js';
import { HV_PARK, VcpuHardware } from '../../../src/hw/cpu.js';
import { ApicBus, LOCAL_TIMER_VECTOR } from '../../../src/hw/apic.js';
import { MACHINE_CTL, RunState, SchedState, VCPU_BLOCK, VcpuActivity, machineBlockBytes, vcpuBase } from '../../../src/hw/layout.js';
import { GuestRam } from '../../../src/hw/memory.js';
import { PvclockReader } from '../../../src/hw/pvclock.js';
import { VcpuCounters } from '../../../src/stats/counters.js';
import { buildPvOps } from '../../../src/hv/bind.js';
import { nativeBackend } from '../../../src/hv/native/index.js';
import { kvmBackend } from '../../../src/hv/kvm/index.js';
import { testGuest, testWaitPolicy } from '../../helpers/hardware.js';

const MS = 1e6;

function machine(cpus: number): Int32Array {
  const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(cpus)));
  Atomics.store(words, MACHINE_CTL.runState, RunState.Running);
  return words;
}

function setActivity(words: Int32Array, cpu: number, activity: VcpuActivity): void {
  Atomics.store(words, vcpuBase(cpu) + VCPU_BLOCK.activity, activity);
}

/** What a vCPU does when it takes its HV_PARK kick while runnable (park.ts, steps 2-3). */
function parkRunnable(words: Int32Array, cpu: number): void {
  Atomics.exchange(words, vcpuBase(cpu) + VCPU_BLOCK.hvPending, 0);
  markPreempted(words, cpu);
  setActivity(words, cpu, PARKED_ACTIVITY);
}

const schedStates = (words: Int32Array, cpus: number): SchedState[] => [...Array(cpus).keys()].map((c) => loadSchedState(words, c));
const kicked = (words: Int32Array, cpu: number): boolean => (Atomics.load(words, vcpuBase(cpu) + VCPU_BLOCK.hvPending) & HV_PARK) !== 0;

describe('OvercommitScheduler', () => {
  it('runs the first P vCPUs at boot and kicks the others to park', () => {
    const words = machine(4);
    const s = new OvercommitScheduler(words, 4, 2);
    s.start();
    try {
      expect(schedStates(words, 4)).toEqual([SchedState.Running, SchedState.Running, SchedState.Descheduled, SchedState.Descheduled]);
      expect([0, 1, 2, 3].map((c) => kicked(words, c))).toEqual([false, false, true, true]);
      // The scheduler never writes the preempted byte: a vCPU marks itself when it really parks.
      expect([0, 1, 2, 3].map((c) => loadPreempted(words, c))).toEqual([0, 0, 0, 0]);
    } finally {
      s.stop();
    }
    // Stopping lets every vCPU run.
    expect(schedStates(words, 4)).toEqual(new Array(4).fill(SchedState.Running));
  });

  it('rotates runnable vCPUs by slices, never more than P holding a CPU', () => {
    const words = machine(4);
    const s = new OvercommitScheduler(words, 4, 2, 3, 1000);
    s.start();
    try {
      for (const c of [0, 1, 2, 3]) setActivity(words, c, VcpuActivity.User);
      const t0 = Number(process.hrtime.bigint());
      const seen = new Set<number>();
      for (let t = 1; t <= 24; t++) {
        s.tick(t0 + t * MS);
        const running = [0, 1, 2, 3].filter((c) => loadSchedState(words, c) === SchedState.Running);
        expect(running.length).toBe(2);
        running.forEach((c) => seen.add(c));
      }
      expect([...seen].sort()).toEqual([0, 1, 2, 3]);
      expect(s.stats.preemptions).toBeGreaterThan(4);
    } finally {
      s.stop();
    }
  });

  it('charges steal time to a parked runnable vCPU, which pv_time_ops.stealClock reports', () => {
    const cpus = 2;
    const words = machine(cpus);
    const ram = new GuestRam(new SharedArrayBuffer(16 * 1024 * 1024));
    const hw = new VcpuHardware({ cpu: 1, cpus, ram, machineWords: words, counters: new VcpuCounters() });
    const guest = testGuest({ nativeFlushTlbOthers: () => {} });
    const nativeOps = buildPvOps(nativeBackend, { hw, guest, hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() });
    const kvmOps = buildPvOps(kvmBackend, { hw, guest, hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() });
    const s = new OvercommitScheduler(words, cpus, 1, 3, 1000);
    s.start();
    try {
      const t0 = Number(process.hrtime.bigint());
      setActivity(words, 0, VcpuActivity.User);
      // cpu 1 was kicked at boot; it parks while runnable.
      expect(kicked(words, 1)).toBe(true);
      parkRunnable(words, 1);
      expect(nativeOps.time.stealClock(1)).toBe(0);
      s.tick(t0 + 1 * MS);
      s.tick(t0 + 2 * MS);
      // Two ticks parked and runnable: about 2 ms of steal, whatever the first tick's base.
      const steal = new PvclockReader(words, 1).steal();
      expect(steal).toBeGreaterThanOrEqual(1 * MS);
      expect(s.stats.stealNs[1]).toBe(steal);
      expect(nativeOps.time.stealClock(1)).toBe(steal);
      expect(kvmOps.time.stealClock(1)).toBe(steal);
      // Another CPU's record, read from cpu 1 (paravirt_steal_clock(cpu)).
      expect(nativeOps.time.stealClock(0)).toBe(0);
      // The running vCPU is charged nothing.
      expect(s.stats.stealNs[0]).toBe(0);
    } finally {
      s.stop();
    }
  });

  it('charges no steal time to a halted vCPU, and gives its CPU to a waiting runnable one at once', () => {
    const words = machine(3);
    const s = new OvercommitScheduler(words, 3, 1, 3, 1000);
    s.start();
    try {
      const t0 = Number(process.hrtime.bigint());
      setActivity(words, 0, VcpuActivity.Halted);
      parkRunnable(words, 1);
      // cpu 2 parked from halt: not preempted, nothing pending.
      Atomics.exchange(words, vcpuBase(2) + VCPU_BLOCK.hvPending, 0);
      setActivity(words, 2, PARKED_ACTIVITY);
      s.tick(t0 + 1 * MS);
      expect(schedStates(words, 3)).toEqual([SchedState.Descheduled, SchedState.Running, SchedState.Descheduled]);
      expect(kicked(words, 0)).toBe(true);
      expect(s.stats.preemptions).toBe(0); // cpu 0 was idle: not a preemption
      expect(loadPreempted(words, 0)).toBe(0);
      expect(s.stats.stealNs[2]).toBe(0);
      // An interrupt for the idle-parked cpu 2 makes it runnable: it waits, and is charged steal.
      new ApicBus(words, 3).raise(2, LOCAL_TIMER_VECTOR, false);
      setActivity(words, 1, VcpuActivity.User);
      s.tick(t0 + 2 * MS);
      expect(s.stats.stealNs[2]).toBeGreaterThan(0);
      s.tick(t0 + 5 * MS);
      expect(loadSchedState(words, 2)).toBe(SchedState.Running);
      expect(loadSchedState(words, 1)).toBe(SchedState.Descheduled);
    } finally {
      s.stop();
    }
  });

  it('lets every vCPU run once the machine has shut down', () => {
    const words = machine(4);
    const s = new OvercommitScheduler(words, 4, 1, 3, 1000);
    s.start();
    try {
      expect(schedStates(words, 4).filter((x) => x === SchedState.Running)).toHaveLength(1);
      Atomics.store(words, MACHINE_CTL.runState, RunState.Shutdown);
      s.tick();
      expect(schedStates(words, 4)).toEqual(new Array(4).fill(SchedState.Running));
    } finally {
      s.stop();
    }
  });
});
