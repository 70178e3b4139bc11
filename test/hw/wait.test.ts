/**
 * The wait primitive (src/hw/wait.ts) on one thread: the run's policy (overcommit from --pcpus
 * and the host's cores), the watchdog naming the waiter and what it waited for, the abort exit,
 * the heartbeat, published activity, which pending work a spin takes, and an outer wait's state
 * surviving a nested wait inside an interrupt handler.
 */
import { describe, expect, it } from 'vitest';
import { MachineAbortedError, WatchdogError } from '../../src/lib/errors.js';
import { LOCAL_TIMER_VECTOR } from '../../src/hw/apic.js';
import { MACHINE_CTL, RunState, VCPU_BLOCK, WaitKind, vcpuBase } from '../../src/hw/layout.js';
import {
  SPIN_BEFORE_YIELD_DEDICATED_MS, SPIN_BEFORE_YIELD_OVERCOMMITTED_MS, TakeWhileWaiting, VcpuWait, waitPolicy, type WaitSite,
} from '../../src/hw/wait.js';
import { testHardware, testWaitPolicy } from '../helpers/hardware.js';

const site = (take: TakeWhileWaiting, kind = WaitKind.CallAck): WaitSite => ({
  kind,
  take,
  describe: (target) => `for the test's word from cpu ${target}`,
});

/** Spins until `done` or `limit` pauses; returns the pauses taken. */
function spin(wait: VcpuWait, done: () => boolean, limit = 1_000_000): number {
  let n = 0;
  while (!done() && n < limit) { wait.pause(); n++; }
  return n;
}

describe('waitPolicy', () => {
  it('is overcommitted when --pcpus is below --cpus, even on a host with a core for every vCPU', () => {
    const p = waitPolicy({ cpus: 4, pcpus: 2, hostCpus: 64, watchdogMs: 1500 });
    expect(p.overcommitted).toBe(true);
    expect(p.spinBeforeYieldMs).toBe(SPIN_BEFORE_YIELD_OVERCOMMITTED_MS);
    expect(p.watchdogMs).toBe(3000); // two vCPUs per physical CPU
  });

  it('scales the watchdog with the vCPUs sharing each physical CPU, up to 16 times, and says so', () => {
    const p = waitPolicy({ cpus: 8, pcpus: 8, hostCpus: 2, watchdogMs: 5000 });
    expect(p.watchdogMs).toBe(20_000);
    expect(p.watchdogNote).toBe('the limit is 20000 ms: --watchdog-ms 5000 times 4 for 8 vCPUs on 2 physical CPUs');
    expect(waitPolicy({ cpus: 64, pcpus: 64, hostCpus: 2, watchdogMs: 5000 }).watchdogMs).toBe(80_000);
    expect(waitPolicy({ cpus: 6, pcpus: 2, hostCpus: 64, watchdogMs: 1000 }).watchdogMs).toBe(3000);
    const dedicated = waitPolicy({ cpus: 2, pcpus: 2, hostCpus: 2, watchdogMs: 1500 });
    expect(dedicated.watchdogMs).toBe(1500);
    expect(dedicated.watchdogNote).toBe('the limit is --watchdog-ms 1500');
  });

  it('is overcommitted when vCPUs outnumber the host cores, and dedicated when neither holds', () => {
    expect(waitPolicy({ cpus: 4, pcpus: 4, hostCpus: 2, watchdogMs: 5000 }).overcommitted).toBe(true);
    const dedicated = waitPolicy({ cpus: 2, pcpus: 2, hostCpus: 2, watchdogMs: 5000 });
    expect(dedicated.overcommitted).toBe(false);
    expect(dedicated.spinBeforeYieldMs).toBe(SPIN_BEFORE_YIELD_DEDICATED_MS);
  });
});

describe('VcpuWait', () => {
  it('throws a WatchdogError past the policy limit naming the waiter and what it waited for', () => {
    const hw = testHardware(2, 1);
    const wait = new VcpuWait(hw, testWaitPolicy(30));
    const start = performance.now();
    wait.begin(site(TakeWhileWaiting.Nothing), 0);
    let caught: unknown;
    try {
      spin(wait, () => false, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(WatchdogError);
    expect((caught as Error).message).toMatch(/^watchdog: cpu 1 waited \d+ ms for the test's word from cpu 0 \(the limit is --watchdog-ms 30\)$/);
    expect(performance.now() - start).toBeGreaterThanOrEqual(30);
  });

  it('leaves a sleep with MachineAbortedError once the machine is aborted, long before its watchdog', () => {
    const hw = testHardware(2, 0);
    const wait = new VcpuWait(hw, testWaitPolicy(60_000));
    const word = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(hw.machineWords, MACHINE_CTL.runState, RunState.Aborted);
    wait.begin(site(TakeWhileWaiting.Nothing), 1);
    const start = performance.now();
    expect(() => { for (;;) wait.sleep(word, 0, 0, 1); }).toThrow(MachineAbortedError);
    expect(performance.now() - start).toBeLessThan(10_000);
  });

  it('publishes the wait once it lasts, keeps the heartbeat going, and clears the wait at end()', () => {
    const hw = testHardware(2, 0);
    const wait = new VcpuWait(hw, testWaitPolicy());
    const b = vcpuBase(0);
    const word = new Int32Array(new SharedArrayBuffer(4));
    wait.begin(site(TakeWhileWaiting.Nothing, WaitKind.HvLock), 7);
    wait.sleep(word, 0, 0, 1); // the first look starts the clock and publishes
    expect(Atomics.load(hw.machineWords, b + VCPU_BLOCK.waitKind)).toBe(WaitKind.HvLock);
    expect(Atomics.load(hw.machineWords, b + VCPU_BLOCK.waitTarget)).toBe(7);
    const beats = Atomics.load(hw.machineWords, b + VCPU_BLOCK.heartbeat);
    wait.sleep(word, 0, 0, 1);
    wait.sleep(word, 0, 0, 1);
    expect(Atomics.load(hw.machineWords, b + VCPU_BLOCK.heartbeat)).toBe(beats + 2);
    wait.end();
    expect(Atomics.load(hw.machineWords, b + VCPU_BLOCK.waitKind)).toBe(WaitKind.None);
  });

  it('takes guest interrupts while spinning only if IF is set at an IfEnabled site, and always at an Always site', () => {
    const hw = testHardware(2, 0);
    let taken = 0;
    const idt = [];
    idt[LOCAL_TIMER_VECTOR] = () => { taken++; };
    hw.loadIdt(idt);
    const wait = new VcpuWait(hw, testWaitPolicy());
    hw.bus.raise(0, LOCAL_TIMER_VECTOR, false);

    hw.interruptsEnabled = false;
    wait.begin(site(TakeWhileWaiting.IfEnabled), 1);
    spin(wait, () => false, 10);
    wait.end();
    expect(taken).toBe(0);

    hw.interruptsEnabled = true;
    wait.begin(site(TakeWhileWaiting.Nothing), 1);
    spin(wait, () => false, 10);
    wait.end();
    expect(taken).toBe(0);

    wait.begin(site(TakeWhileWaiting.IfEnabled), 1);
    spin(wait, () => taken > 0, 10);
    wait.end();
    expect(taken).toBe(1);
  });

  it('restores an outer wait when an interrupt handler waits on the same VcpuWait', () => {
    const hw = testHardware(2, 0);
    const wait = new VcpuWait(hw, testWaitPolicy(60_000));
    const inner = site(TakeWhileWaiting.Nothing, WaitKind.Lock);
    const word = new Int32Array(new SharedArrayBuffer(4));
    const idt = [];
    idt[LOCAL_TIMER_VECTOR] = () => {
      wait.begin(inner, 0x1000);
      wait.sleep(word, 0, 0, 0);
      wait.end();
    };
    hw.loadIdt(idt);
    hw.interruptsEnabled = true;
    const outer = site(TakeWhileWaiting.IfEnabled, WaitKind.CallAck);
    wait.begin(outer, 1);
    // Start the outer wait's clock (published), then take the interrupt inside it.
    spin(wait, () => false, 64);
    hw.bus.raise(0, LOCAL_TIMER_VECTOR, false);
    wait.pause();
    // The outer wait is still the one published, with its target.
    expect(Atomics.load(hw.machineWords, vcpuBase(0) + VCPU_BLOCK.waitKind)).toBe(WaitKind.CallAck);
    expect(Atomics.load(hw.machineWords, vcpuBase(0) + VCPU_BLOCK.waitTarget)).toBe(1);
    wait.end();
  });
});
