import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MachineAbortedError, WatchdogError } from '../../src/lib/errors.js';
import { PartyClock, initVtime, vtimeBytes, type VtimeOptions } from '../../src/hw/vtime.js';

const dist = (path: string): string => pathToFileURL(fileURLToPath(new URL(`../../dist/src/${path}`, import.meta.url))).href;
const vtimeModule = fileURLToPath(new URL('../../dist/src/hw/vtime.js', import.meta.url));

const options = (o: Partial<VtimeOptions> = {}): VtimeOptions => ({
  quantum: 1_000,
  syncSlack: 100,
  spinMs: 0.05,
  watchdogMs: 60_000,
  watchdogNote: 'test limit',
  name: (p) => `cpu ${p}`,
  aborted: () => false,
  ...o,
});

/** The shared log the workers append to under the turn: a count, then (party, clock) pairs. */
const LOG_ENTRIES = 20_000;

/**
 * One party per worker. Scripts:
 *   steps  `steps` steps, each advancing the clock by a cost that depends on the party and the
 *          step, appending (party, clock) to the log and bumping a plain counter (lost updates
 *          would show two parties running at once); every 7th step of party 1 halts 3,000
 *          cycles, and every 11th step of party 0 wakes party 2 at its clock + 500.
 *   halt   halt until woken, then log the clock once.
 *   wake   advance 5,000 cycles, wake party 0 at clock + 700, advance 10 * quantum more.
 *   parked park until another party unparks it, then log the clock once.
 *   unpark advance 4,000 cycles, unpark party 0 at clock + 250, advance 10 * quantum more.
 *   hold   take the turn and keep it for `holdMs` of host time without a boundary.
 *   wait   begin(): wait for the turn (and report the error that ends the wait).
 */
const workerSource = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { PartyClock } = await import(${JSON.stringify(dist('hw/vtime.js'))});
  const { sab, log, flag, parties, self, script, steps, quantum, watchdogMs, holdMs } = workerData;
  const L = new Int32Array(log);
  const F = new Int32Array(flag);
  const clock = new PartyClock(sab, parties, self, {
    quantum, syncSlack: 100, spinMs: 0.05, watchdogMs, watchdogNote: 'test limit',
    name: (p) => 'cpu ' + p, aborted: () => Atomics.load(F, 0) !== 0,
  });
  const append = () => { const n = L[0]; L[1 + 2 * n] = self; L[2 + 2 * n] = clock.now; L[0] = n + 1; };
  try {
    clock.begin();
    if (script === 'steps') {
      for (let i = 0; i < steps; i++) {
        clock.advance(10 + ((self * 37 + i * 13) % 90));
        append();
        L[${2 * LOG_ENTRIES + 1}] = L[${2 * LOG_ENTRIES + 1}] + 1;
        if (self === 1 && i % 7 === 6) clock.halt(clock.now + 3000);
        if (self === 0 && i % 11 === 10 && parties > 2) clock.wake(2, clock.now + 500);
        clock.boundary();
      }
    } else if (script === 'halt') {
      clock.halt();
      append();
    } else if (script === 'wake') {
      clock.advance(5000);
      clock.wake(0, clock.now + 700);
      for (let i = 0; i < 10; i++) { clock.advance(quantum); clock.boundary(); }
    } else if (script === 'parked') {
      clock.park(Infinity);
      append();
    } else if (script === 'unpark') {
      clock.advance(4000);
      clock.unpark(0, clock.now + 250);
      for (let i = 0; i < 10; i++) { clock.advance(quantum); clock.boundary(); }
    } else if (script === 'hold') {
      const until = Date.now() + holdMs;
      while (Date.now() < until) { /* holds the turn, no boundary */ }
    }
    clock.finish();
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, name: e.name, message: e.message });
  }
})();
`;

interface Outcome { ok: boolean; name?: string; message?: string }

interface Rig { sab: SharedArrayBuffer; log: Int32Array; flag: Int32Array }

function rig(parties: number): Rig {
  if (!existsSync(vtimeModule)) throw new Error(`${vtimeModule} is missing: run npm run build first`);
  const sab = new SharedArrayBuffer(vtimeBytes(parties));
  initVtime(sab, parties);
  return { sab, log: new Int32Array(new SharedArrayBuffer((2 * LOG_ENTRIES + 2) * 4)), flag: new Int32Array(new SharedArrayBuffer(4)) };
}

function party(r: Rig, parties: number, self: number, script: string, extra: Record<string, number> = {}): { done: Promise<Outcome>; worker: Worker } {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { sab: r.sab, log: r.log.buffer, flag: r.flag.buffer, parties, self, script, steps: 0, quantum: 1_000, watchdogMs: 60_000, holdMs: 0, ...extra },
  });
  const done = new Promise<Outcome>((resolve, reject) => {
    worker.once('message', (m: Outcome) => { resolve(m); void worker.terminate(); });
    worker.once('error', reject);
  });
  return { done, worker };
}

/** Run `parties` parties of the steps script; the log as [party, clock] pairs and the plain counter. */
async function runSteps(parties: number, steps: number, quantum: number): Promise<{ log: [number, number][]; counter: number }> {
  const r = rig(parties);
  const outcomes = await Promise.all(Array.from({ length: parties }, (_, p) => party(r, parties, p, 'steps', { steps, quantum }).done));
  for (const o of outcomes) expect(o).toEqual({ ok: true });
  const n = r.log[0]!;
  const log: [number, number][] = [];
  for (let i = 0; i < n; i++) log.push([r.log[1 + 2 * i]!, r.log[2 + 2 * i]!]);
  return { log, counter: r.log[2 * LOG_ENTRIES + 1]! };
}

/** A child process that keeps one host core busy until killed. */
function cpuHog(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

describe('virtual time turn order, one thread', () => {
  it('a lone party that halts until cycle 500 resumes with its clock at 500', () => {
    const sab = new SharedArrayBuffer(vtimeBytes(1));
    initVtime(sab, 1);
    const c = new PartyClock(sab, 1, 0, options());
    c.begin();
    c.advance(120);
    c.halt(500);
    expect(c.now).toBe(500);
    expect(c.hasTurn).toBe(true);
  });

  it('halting with every party halted and nothing due is reported as a hang, not waited on', () => {
    const sab = new SharedArrayBuffer(vtimeBytes(1));
    initVtime(sab, 1);
    const c = new PartyClock(sab, 1, 0, options());
    c.begin();
    expect(() => c.halt()).toThrow(WatchdogError);
    expect(() => { const d = new PartyClock(sab, 1, 0, options()); d.advance(1); d.boundary(); }).toThrow(/without holding the turn/);
  });

  it('finish passes the turn to the party with the lowest clock, ties to the lowest number', () => {
    const sab = new SharedArrayBuffer(vtimeBytes(3));
    initVtime(sab, 3);
    const c0 = new PartyClock(sab, 3, 0, options());
    const c1 = new PartyClock(sab, 3, 1, options());
    const c2 = new PartyClock(sab, 3, 2, options());
    c0.begin();
    c0.advance(50);
    c0.finish();
    c1.begin(); // party 1 and 2 are both at 0: the turn went to 1
    expect(c1.hasTurn).toBe(true);
    c1.finish();
    c2.begin();
    expect(c2.hasTurn).toBe(true);
    c2.finish();
  });
});

describe('virtual time turn order, one worker per party', () => {
  it('runs one party at a time: 3 parties x 3,000 plain increments of one counter lose none', async () => {
    const { counter, log } = await runSteps(3, 3_000, 1_000);
    expect(counter).toBe(9_000);
    expect(log).toHaveLength(9_000);
  });

  it('keeps every clock within a quantum plus one step of the others: no log entry is followed by one more than that earlier', async () => {
    const quantum = 1_000;
    const { log } = await runSteps(3, 3_000, quantum);
    // A step costs at most 99 cycles; a halted party that wakes late only moves forward.
    let worst = 0;
    const latest = [0, 0, 0];
    for (const [p, t] of log) {
      for (let q = 0; q < 3; q++) if (q !== p) worst = Math.max(worst, latest[q]! - t);
      latest[p] = t;
    }
    expect(worst).toBeLessThanOrEqual(quantum + 99);
  });

  it('gives the same interleaving, entry for entry, on every run, also beside a process that keeps a host core busy', async () => {
    const first = await runSteps(3, 2_000, 500);
    const hog = cpuHog();
    try {
      const second = await runSteps(3, 2_000, 500);
      expect(second.log).toEqual(first.log);
    } finally {
      hog.kill();
    }
  });

  it('wakes a halted party at the time the waker gives, not at the waker\'s later clock: 5,000 + 700 cycles', async () => {
    const r = rig(2);
    const halted = party(r, 2, 0, 'halt');
    const waker = party(r, 2, 1, 'wake');
    expect(await halted.done).toEqual({ ok: true });
    expect(await waker.done).toEqual({ ok: true });
    expect(r.log[0]).toBe(1);
    expect([r.log[1], r.log[2]]).toEqual([0, 5_700]);
  });

  it('unpark schedules a parked party at the time the scheduler gives: 4,000 + 250 cycles', async () => {
    const r = rig(2);
    const parked = party(r, 2, 0, 'parked');
    const scheduler = party(r, 2, 1, 'unpark');
    expect(await parked.done).toEqual({ ok: true });
    expect(await scheduler.done).toEqual({ ok: true });
    expect(r.log[0]).toBe(1);
    expect([r.log[1], r.log[2]]).toEqual([0, 4_250]);
  });

  it('a party on the main thread waits without blocking it (timers fire meanwhile) and resumes from parkAsync at the time it parked until', async () => {
    const r = rig(2);
    const holder = party(r, 2, 0, 'hold', { holdMs: 300 });
    const keeper = new PartyClock(r.sab, 2, 1, options());
    let fired = 0;
    const timer = setInterval(() => { fired++; }, 5);
    try {
      await keeper.beginAsync(); // the holder finishes after 300 ms of host time
      expect(fired).toBeGreaterThan(0);
      await keeper.parkAsync(5_000);
      expect(keeper.now).toBe(5_000);
      expect(keeper.othersDone()).toBe(true);
      keeper.finish();
    } finally {
      clearInterval(timer);
    }
    expect(await holder.done).toEqual({ ok: true });
  });

  it('names the party that holds the turn when another waits past the watchdog limit', async () => {
    const r = rig(2);
    const holder = party(r, 2, 0, 'hold', { holdMs: 3_000 });
    const waiter = party(r, 2, 1, 'wait', { watchdogMs: 300 });
    const o = await waiter.done;
    expect(o.name).toBe(WatchdogError.name);
    expect(o.message).toMatch(/^watchdog: cpu 1 waited \d+ ms for its turn in virtual time; the turn has been with cpu 0 all that time \(test limit\)$/);
    await holder.worker.terminate();
  });

  it('leaves the wait for a turn with MachineAbortedError once the machine is aborted', async () => {
    const r = rig(2);
    const holder = party(r, 2, 0, 'hold', { holdMs: 3_000 });
    const waiter = party(r, 2, 1, 'wait');
    setTimeout(() => Atomics.store(r.flag, 0, 1), 100);
    const o = await waiter.done;
    expect(o.name).toBe(MachineAbortedError.name);
    expect(o.message).toContain('cpu 1: machine aborted while waiting for its turn in virtual time');
    await holder.worker.terminate();
  });
});
