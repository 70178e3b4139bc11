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
import { HvLock, type LockCaller } from '../../src/hv/hv-lock.js';
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
  lock: HvLock;
  cpu0: LockCaller;
  cpu1: LockCaller;
}

function rig(watchdogMs = 60_000): Rig {
  const words = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  const machineWords = new Int32Array(new SharedArrayBuffer(machineBlockBytes(2)));
  return {
    words,
    machineWords,
    lock: new HvLock(words, LOCK, HOLDER, 'test lock', watchdogMs),
    cpu0: { cpu: 0, machineWords },
    cpu1: { cpu: 1, machineWords },
  };
}

describe('HvLock on one thread', () => {
  it('takes a free lock, records the holder, and clears both words on release', () => {
    const r = rig();
    expect(r.lock.holder()).toBe(-1);
    r.lock.acquire(r.cpu1);
    expect(Atomics.load(r.words, LOCK)).toBe(1);
    expect(Atomics.load(r.words, HOLDER)).toBe(2);
    expect(r.lock.holder()).toBe(1);
    r.lock.release();
    expect(Atomics.load(r.words, LOCK)).toBe(0);
    expect(Atomics.load(r.words, HOLDER)).toBe(0);
    // Another vCPU takes it next.
    r.lock.acquire(r.cpu0);
    expect(r.lock.holder()).toBe(0);
    r.lock.release();
    expect(Array.from(r.words)).toEqual([0, 0, 0, 0]);
  });

  it('refuses a second acquire by the holder at once, rather than waiting for the watchdog', () => {
    const r = rig();
    r.lock.acquire(r.cpu0);
    expect(() => r.lock.acquire(r.cpu0)).toThrow(InternalError);
    expect(() => r.lock.acquire(r.cpu0)).toThrow(/cpu 0: the test lock taken twice by the same vCPU/);
    r.lock.release();
  });

  it('refuses a release of a free lock', () => {
    const r = rig();
    expect(() => r.lock.release()).toThrow(/the test lock released while free/);
    expect(Atomics.load(r.words, LOCK)).toBe(0);
  });

  it('times out waiting for a lock another cpu holds, naming the waiter, the lock and the holder', () => {
    const r = rig(30);
    r.lock.acquire(r.cpu1);
    const start = performance.now();
    let caught: unknown;
    try {
      r.lock.acquire(r.cpu0);
    } catch (e) {
      caught = e;
    }
    const waited = performance.now() - start;
    expect(caught).toBeInstanceOf(WatchdogError);
    expect((caught as Error).message).toMatch(/^watchdog: cpu 0 waited \d+ ms for the test lock, held by cpu 1$/);
    expect(waited).toBeGreaterThanOrEqual(30);
    expect(waited).toBeLessThan(2000);
    // The waiter marked the lock contended; the holder still holds it and its release frees it.
    expect(Atomics.load(r.words, LOCK)).toBe(2);
    expect(r.lock.holder()).toBe(1);
    r.lock.release();
    expect(Atomics.load(r.words, LOCK)).toBe(0);
    expect(Atomics.load(r.words, HOLDER)).toBe(0);
    r.lock.acquire(r.cpu0);
    r.lock.release();
  });

  it('makes a waiter leave with MachineAbortedError once the machine is aborted, long before the watchdog', () => {
    const r = rig(60_000);
    r.lock.acquire(r.cpu1);
    Atomics.store(r.machineWords, MACHINE_CTL.runState, RunState.Aborted);
    const start = performance.now();
    expect(() => r.lock.acquire(r.cpu0)).toThrow(MachineAbortedError);
    expect(() => r.lock.acquire(r.cpu0)).toThrow(/cpu 0: machine aborted while waiting for the test lock/);
    expect(performance.now() - start).toBeLessThan(2000);
    expect(r.lock.holder()).toBe(1);
    r.lock.release();
    expect(Atomics.load(r.words, LOCK)).toBe(0);
  });
});

const lockModule = fileURLToPath(new URL('../../dist/src/hv/hv-lock.js', import.meta.url));
const ITERATIONS = 100_000;

/**
 * One contender: waits until both have started, then adds 1 to the counter ITERATIONS times with
 * a plain (non-atomic) read-modify-write under the lock: without mutual exclusion, updates are lost.
 */
const contenderSource = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { HvLock } = await import(${JSON.stringify(pathToFileURL(lockModule).href)});
  const { words: sab, machine, cpu, iterations, L, H, C, R } = workerData;
  const words = new Int32Array(sab);
  const caller = { cpu, machineWords: new Int32Array(machine) };
  const lock = new HvLock(words, L, H, 'counter lock', 60000);
  Atomics.add(words, R, 1);
  while (Atomics.load(words, R) < 2) Atomics.wait(words, R, 1, 1);
  for (let i = 0; i < iterations; i++) {
    lock.acquire(caller);
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
