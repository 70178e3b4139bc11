/**
 * The hypervisor lock (src/hv/hv-lock.ts) on its own: the lock and holder words through acquire
 * and release, the watchdog naming the waiter, the lock and the holder, the machine-abort exit,
 * and mutual exclusion between two worker threads (run `npm run build` first: the workers load
 * dist/src/hv/hv-lock.js).
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InternalError, MachineAbortedError, WatchdogError } from '../../src/lib/errors.js';
import { HvLock } from '../../src/hv/hv-lock.js';
import { VcpuHardware } from '../../src/hw/cpu.js';
import { GuestRam } from '../../src/hw/memory.js';
import { VcpuWait } from '../../src/hw/wait.js';
import { VcpuCounters } from '../../src/stats/counters.js';
import { testWaitPolicy } from '../helpers/hardware.js';
import { MACHINE_CTL, RunState, machineBlockBytes } from '../../src/hw/layout.js';

/** Word indices in the test's shared words: the lock, its holder, and a counter it protects. */
const LOCK = 0;
const HOLDER = 1;
const COUNTER = 2;
/** Both workers have started (each adds 1), so they contend from the first iteration. */
const READY = 3;
const WORDS = 4;

interface Rig {
  words: Int32Array;
  machineWords: Int32Array;
  /** The lock as cpu 0 and as cpu 1 take it (one HvLock per vCPU over the same words). */
  cpu0: HvLock;
  cpu1: HvLock;
}

/** A vCPU of a two-vCPU machine whose block is `machineWords`. */
function vcpu(machineWords: Int32Array, cpu: number): VcpuHardware {
  return new VcpuHardware({ cpu, cpus: 2, ram: new GuestRam(new SharedArrayBuffer(1 << 20)), machineWords, counters: new VcpuCounters() });
}

function rig(watchdogMs = 60_000): Rig {
  const words = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  const machineWords = new Int32Array(new SharedArrayBuffer(machineBlockBytes(2)));
  const policy = testWaitPolicy(watchdogMs);
  return {
    words,
    machineWords,
    cpu0: new HvLock(words, LOCK, HOLDER, 'test lock', new VcpuWait(vcpu(machineWords, 0), policy)),
    cpu1: new HvLock(words, LOCK, HOLDER, 'test lock', new VcpuWait(vcpu(machineWords, 1), policy)),
  };
}

describe('HvLock on one thread', () => {
  it('takes a free lock, records the holder, and clears both words on release', () => {
    const r = rig();
    expect(r.cpu0.holder()).toBe(-1);
    r.cpu1.acquire();
    expect(Atomics.load(r.words, LOCK)).toBe(1);
    expect(Atomics.load(r.words, HOLDER)).toBe(2);
    expect(r.cpu0.holder()).toBe(1);
    r.cpu0.release();
    expect(Atomics.load(r.words, LOCK)).toBe(0);
    expect(Atomics.load(r.words, HOLDER)).toBe(0);
    // Another vCPU takes it next.
    r.cpu0.acquire();
    expect(r.cpu0.holder()).toBe(0);
    r.cpu0.release();
    expect(Array.from(r.words)).toEqual([0, 0, 0, 0]);
  });

  it('refuses a second acquire by the holder at once, rather than waiting for the watchdog', () => {
    const r = rig();
    r.cpu0.acquire();
    expect(() => r.cpu0.acquire()).toThrow(InternalError);
    expect(() => r.cpu0.acquire()).toThrow(/cpu 0: the test lock taken twice by the same vCPU/);
    r.cpu0.release();
  });

  it('refuses a release of a free lock', () => {
    const r = rig();
    expect(() => r.cpu0.release()).toThrow(/the test lock released while free/);
    expect(Atomics.load(r.words, LOCK)).toBe(0);
  });

  it('times out waiting for a lock another cpu holds, naming the waiter, the lock and the holder', () => {
    const r = rig(30);
    r.cpu1.acquire();
    const start = performance.now();
    let caught: unknown;
    try {
      r.cpu0.acquire();
    } catch (e) {
      caught = e;
    }
    const waited = performance.now() - start;
    expect(caught).toBeInstanceOf(WatchdogError);
    expect((caught as Error).message).toMatch(/^watchdog: cpu 0 waited \d+ ms for the test lock, held by cpu 1 \(the limit is --watchdog-ms 30\)$/);
    expect(waited).toBeGreaterThanOrEqual(30);
    expect(waited).toBeLessThan(2000);
    // The waiter marked the lock contended; the holder still holds it and its release frees it.
    expect(Atomics.load(r.words, LOCK)).toBe(2);
    expect(r.cpu0.holder()).toBe(1);
    r.cpu0.release();
    expect(Atomics.load(r.words, LOCK)).toBe(0);
    expect(Atomics.load(r.words, HOLDER)).toBe(0);
    r.cpu0.acquire();
    r.cpu0.release();
  });

  it('makes a waiter leave with MachineAbortedError once the machine is aborted, long before the watchdog', () => {
    const r = rig(60_000);
    r.cpu1.acquire();
    Atomics.store(r.machineWords, MACHINE_CTL.runState, RunState.Aborted);
    const start = performance.now();
    expect(() => r.cpu0.acquire()).toThrow(MachineAbortedError);
    expect(() => r.cpu0.acquire()).toThrow(/cpu 0: machine aborted while waiting for the test lock/);
    expect(performance.now() - start).toBeLessThan(2000);
    expect(r.cpu0.holder()).toBe(1);
    r.cpu0.release();
    expect(Atomics.load(r.words, LOCK)).toBe(0);
  });
});

const dist = (path: string): string => pathToFileURL(fileURLToPath(new URL(`../../dist/src/${path}`, import.meta.url))).href;
const lockModule = fileURLToPath(new URL('../../dist/src/hv/hv-lock.js', import.meta.url));
const ITERATIONS = 100_000;

/**
 * One contender: waits until both have started, then adds 1 to the counter ITERATIONS times with
 * a plain (non-atomic) read-modify-write under the lock: without mutual exclusion, updates are lost.
 */
const contenderSource = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { HvLock } = await import(${JSON.stringify(dist('hv/hv-lock.js'))});
  const { VcpuHardware } = await import(${JSON.stringify(dist('hw/cpu.js'))});
  const { GuestRam } = await import(${JSON.stringify(dist('hw/memory.js'))});
  const { VcpuWait, waitPolicy } = await import(${JSON.stringify(dist('hw/wait.js'))});
  const { VcpuCounters } = await import(${JSON.stringify(dist('stats/counters.js'))});
  const { words: sab, machine, cpu, iterations, L, H, C, R } = workerData;
  const words = new Int32Array(sab);
  const hw = new VcpuHardware({ cpu, cpus: 2, ram: new GuestRam(new SharedArrayBuffer(1 << 20)), machineWords: new Int32Array(machine), counters: new VcpuCounters() });
  const wait = new VcpuWait(hw, waitPolicy({ cpus: 2, pcpus: 2, hostCpus: 2, watchdogMs: 60000 }));
  const lock = new HvLock(words, L, H, 'counter lock', wait);
  Atomics.add(words, R, 1);
  while (Atomics.load(words, R) < 2) Atomics.wait(words, R, 1, 1);
  for (let i = 0; i < iterations; i++) {
    lock.acquire();
    words[C] = words[C] + 1;
    lock.release();
  }
  parentPort.postMessage('done');
})();
`;

function contender(words: Int32Array, machineWords: Int32Array, cpu: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = new Worker(contenderSource, {
      eval: true,
      workerData: {
        words: words.buffer, machine: machineWords.buffer, cpu, iterations: ITERATIONS, L: LOCK, H: HOLDER, C: COUNTER, R: READY,
      },
    });
    w.once('message', () => { resolve(); void w.terminate(); });
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`contender cpu ${cpu} exited with ${code}`)); });
  });
}

describe('HvLock across threads', () => {
  it('keeps two workers\' plain increments of a shared counter exact: 100k each ends at 200k', async () => {
    if (!existsSync(lockModule)) throw new Error(`${lockModule} is missing: run npm run build first`);
    const r = rig();
    await Promise.all([contender(r.words, r.machineWords, 0), contender(r.words, r.machineWords, 1)]);
    expect(Atomics.load(r.words, COUNTER)).toBe(2 * ITERATIONS);
    expect(Atomics.load(r.words, LOCK)).toBe(0);
    expect(Atomics.load(r.words, HOLDER)).toBe(0);
  });
});
