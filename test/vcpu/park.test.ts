/**
 * The vCPU side of overcommit: parking on VCPU_BLOCK.schedState. The test thread is the vCPU;
 * a small worker thread plays the scheduler (and a PV-flush initiator), since a parked vCPU
 * blocks its own thread in Atomics.wait.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MachineAbortedError, InternalError } from '../../src/lib/errors.js';
import { VcpuParking } from '../../src/vcpu/park.js';
import { PARKED_ACTIVITY } from '../../src/hw/sched-word.js';
import { preemptedIndex, loadPreempted } from '../../src/hw/steal-time.js';
import { ActivityPublisher } from '../../src/hw/activity.js';
import { VcpuHardware } from '../../src/hw/cpu.js';
import { MACHINE_CTL, RunState, SchedState, VCPU_BLOCK, VcpuActivity, machineBlockBytes, vcpuBase } from '../../src/hw/layout.js';
import { GuestRam } from '../../src/hw/memory.js';
import { KVM_VCPU_FLUSH_TLB, KVM_VCPU_PREEMPTED } from '../../src/hw/pvclock.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { buildPvOps } from '../../src/hv/bind.js';
import { kvmBackend } from '../../src/hv/kvm/index.js';
import { testGuest, testWaitPolicy } from '../helpers/hardware.js';
import { VcpuWait } from '../../src/hw/wait.js';

interface Rig {
  hw: VcpuHardware;
  words: Int32Array;
  activity: ActivityPublisher;
  parking: VcpuParking;
}

function rig(cpus = 2, cpu = 1): Rig {
  const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(cpus)));
  Atomics.store(words, MACHINE_CTL.runState, RunState.Running);
  const counters = new VcpuCounters();
  const hw = new VcpuHardware({ cpu, cpus, ram: new GuestRam(new SharedArrayBuffer(16 * 1024 * 1024)), machineWords: words, counters });
  const activity = hw.activity;
  const parking = new VcpuParking(hw, new VcpuWait(hw, testWaitPolicy()));
  parking.install();
  return { hw, words, activity, parking };
}

/**
 * The scheduler's side, on its own thread: wait until the vCPU has parked (its activity says
 * so; a runnable one marked itself PREEMPTED just before), hold it `holdMs`, then (mode) ask for a flush as a KVM initiator would and grant, just grant, or
 * abort the machine. Replies with the preempted byte and activity it saw while the vCPU slept.
 */
const SCHEDULER_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const { sab, schedIndex, preemptedIndex, activityIndex, runStateIndex, mode, holdMs, parked } = workerData;
const w = new Int32Array(sab);
const nap = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
parentPort.postMessage('ready');
const deadline = Date.now() + 10000;
while (Atomics.load(w, activityIndex) !== parked && Date.now() < deadline) nap(1);
nap(holdMs);
const seen = { preempted: Atomics.load(w, preemptedIndex), activity: Atomics.load(w, activityIndex) };
if (mode === 'abort') {
  Atomics.store(w, runStateIndex, 4);
} else {
  if (mode === 'flush') Atomics.compareExchange(w, preemptedIndex, seen.preempted, seen.preempted | 2);
  Atomics.store(w, schedIndex, 0);
  Atomics.notify(w, schedIndex);
}
parentPort.postMessage(seen);
`;

interface Seen {
  preempted: number;
  activity: number;
}

async function playScheduler(r: Rig, mode: 'grant' | 'flush' | 'abort', holdMs: number): Promise<{ seen: Promise<Seen>; done: () => Promise<number> }> {
  const base = vcpuBase(r.hw.cpu);
  const worker = new Worker(SCHEDULER_SCRIPT, {
    eval: true,
    workerData: {
      sab: r.words.buffer, schedIndex: base + VCPU_BLOCK.schedState, preemptedIndex: preemptedIndex(r.hw.cpu),
      activityIndex: base + VCPU_BLOCK.activity, runStateIndex: MACHINE_CTL.runState, mode, holdMs, parked: PARKED_ACTIVITY,
    },
  });
  const messages: unknown[] = [];
  let notify: (() => void) | undefined;
  worker.on('message', (m: unknown) => { messages.push(m); notify?.(); });
  const next = (): Promise<unknown> => new Promise((resolve) => {
    const take = (): void => { if (messages.length > 0) resolve(messages.shift()); else notify = take; };
    take();
  });
  await next(); // 'ready': the worker runs before this thread blocks
  return { seen: next() as Promise<Seen>, done: () => worker.terminate() };
}

describe('VcpuParking', () => {
  it('does nothing while the scheduler says Running', () => {
    const r = rig();
    r.activity.set(VcpuActivity.User);
    r.parking.parkIfDescheduled();
    expect(r.parking.preemptions).toBe(0);
    expect(r.hw.counters.vmexitPreemption).toBe(0);
    expect(loadPreempted(r.words, 1)).toBe(0);
  });

  it('parks a runnable vCPU PREEMPTED, keeps its heartbeat, and clears the byte when it runs again', async () => {
    const r = rig();
    r.activity.set(VcpuActivity.User);
    Atomics.store(r.words, vcpuBase(1) + VCPU_BLOCK.schedState, SchedState.Descheduled);
    const sched = await playScheduler(r, 'grant', 300);
    const beats0 = Atomics.load(r.words, vcpuBase(1) + VCPU_BLOCK.heartbeat);
    try {
      r.parking.parkIfDescheduled();
      const seen = await sched.seen;
      expect(seen.preempted).toBe(KVM_VCPU_PREEMPTED);
      expect(seen.activity).toBe(PARKED_ACTIVITY);
    } finally {
      await sched.done();
    }
    expect(Atomics.load(r.words, vcpuBase(1) + VCPU_BLOCK.heartbeat) - beats0).toBeGreaterThanOrEqual(2);
    expect(r.parking.preemptions).toBe(1);
    expect(r.hw.counters.vmexitPreemption).toBe(1);
    expect(loadPreempted(r.words, 1)).toBe(0);
    expect(r.activity.get()).toBe(VcpuActivity.User);
  });

  it('parks a halted vCPU without marking it preempted', async () => {
    const r = rig();
    r.activity.set(VcpuActivity.Halted);
    Atomics.store(r.words, vcpuBase(1) + VCPU_BLOCK.schedState, SchedState.Descheduled);
    const sched = await playScheduler(r, 'grant', 10);
    try {
      r.parking.parkIfDescheduled();
      const seen = await sched.seen;
      expect(seen.preempted).toBe(0);
      expect(seen.activity).toBe(PARKED_ACTIVITY);
    } finally {
      await sched.done();
    }
    expect(r.parking.preemptions).toBe(0);
    expect(r.parking.idleParks).toBe(1);
    expect(r.hw.counters.vmexitPreemption).toBe(0);
    expect(r.activity.get()).toBe(VcpuActivity.Halted);
  });

  it('runs the KVM resume hook: a FLUSH_TLB left while preempted flushes the TLB, global entries too', async () => {
    const r = rig();
    buildPvOps(kvmBackend, { hw: r.hw, guest: testGuest({ nativeFlushTlbOthers: () => {} }), hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() });
    r.hw.tlb.insert(0xc0001000, 0, 0x1234, 0x103 /* P|RW|G */, false);
    r.hw.tlb.insert(0x00401000, 0, 0x1235, 0x007, false);
    r.activity.set(VcpuActivity.Kernel);
    Atomics.store(r.words, vcpuBase(1) + VCPU_BLOCK.schedState, SchedState.Descheduled);
    const sched = await playScheduler(r, 'flush', 10);
    try {
      r.parking.parkIfDescheduled();
      expect((await sched.seen).preempted).toBe(KVM_VCPU_PREEMPTED);
    } finally {
      await sched.done();
    }
    expect(r.hw.tlb.lookup(0xc0001, 0)).toBe(-1);
    expect(r.hw.tlb.lookup(0x00401, 0)).toBe(-1);
    expect(loadPreempted(r.words, 1)).toBe(0);
  });

  it('reports a FLUSH_TLB request no backend honoured (a lost flush) instead of running on', async () => {
    const r = rig(); // no KVM resume hook installed
    r.activity.set(VcpuActivity.Kernel);
    Atomics.store(r.words, vcpuBase(1) + VCPU_BLOCK.schedState, SchedState.Descheduled);
    const sched = await playScheduler(r, 'flush', 10);
    try {
      expect(() => r.parking.parkIfDescheduled()).toThrow(InternalError);
    } finally {
      await sched.done();
    }
    expect(loadPreempted(r.words, 1) & KVM_VCPU_FLUSH_TLB).toBe(0);
  });

  it('leaves with MachineAbortedError when the machine is aborted while it is parked', async () => {
    const r = rig();
    r.activity.set(VcpuActivity.User);
    Atomics.store(r.words, vcpuBase(1) + VCPU_BLOCK.schedState, SchedState.Descheduled);
    const sched = await playScheduler(r, 'abort', 10);
    try {
      expect(() => r.parking.parkIfDescheduled()).toThrow(MachineAbortedError);
    } finally {
      await sched.done();
    }
  });

  it('parks through the HV_PARK request, taken at a boundary whatever IF says', async () => {
    const r = rig();
    r.activity.set(VcpuActivity.User);
    r.hw.interruptsEnabled = false;
    Atomics.store(r.words, vcpuBase(1) + VCPU_BLOCK.schedState, SchedState.Descheduled);
    r.hw.bus.kick(1, 1 /* HV_PARK */);
    const sched = await playScheduler(r, 'grant', 10);
    try {
      r.hw.takeInterrupts();
      expect((await sched.seen).preempted).toBe(KVM_VCPU_PREEMPTED);
    } finally {
      await sched.done();
    }
    expect(r.parking.preemptions).toBe(1);
  });
});
