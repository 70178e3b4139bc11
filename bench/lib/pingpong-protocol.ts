/**
 * The raw Atomics spin round trip: the floor any emulated IPI stands on. Two worker threads
 * share one Int32Array; the initiator stores a sequence number in PING, the responder spins on
 * PING with Atomics.load and echoes the number into PONG, the initiator spins on PONG. No
 * Atomics.wait or notify anywhere: both threads burn their core, as pvemu's running vCPUs do.
 * This file is the worker side (both roles) and the shared layout; runs on the ping-pong workers.
 *
 * The shared words, one cache line each so the two written words do not share a line (the
 * lines still bounce between the cores, as an IPI's IRR and acknowledgement lines do):
 *
 *   word  0  READY   responder -> initiator: 1 once the responder is spinning
 *   word 16  PING    initiator -> responder: round-trip number 1, 2, ...; STOP to end
 *   word 32  PONG    responder -> initiator: the last PING value seen
 *
 * Timing matches pvemu's own histograms (performance.now(), converted to ns): each sample is the
 * time from the previous round trip's end to this one's, so it includes one clock read and the
 * loop's own cost, as pvemu's smp-call samples include theirs.
 */
import { performance } from 'node:perf_hooks';
import { InternalError, WatchdogError } from '../../src/lib/errors.js';

export const PINGPONG = Object.freeze({ READY: 0, PING: 16, PONG: 32, WORDS: 80 });

/**
 * The `call` shape: the cache lines pvemu's smp_call_function moves, and only those, so the
 * `ipi` case can show what the protocol itself costs apart from pvemu's code around it.
 *
 *   word 16  PENDING  the target's polled APIC word: the initiator sets a vector bit (Atomics.or),
 *                     the responder takes it (Atomics.exchange) — src/hw/apic.ts
 *   word 48  QUEUE    the target's call-queue head: empty-queue CAS, llist_del_all exchange
 *   word 64  CSD      call_single_data: flags (the lock, then the acknowledgement) and seven
 *                     fields written plainly by the initiator, read by the responder
 */
export const CALL_MODEL = Object.freeze({ PENDING: 16, QUEUE: 48, CSD_FLAGS: 64, CSD_FIELDS: 65, FIELDS: 7 });
/** The vector bit the model posts (CALL_FUNCTION_VECTOR 0xfb in pvemu's pending word), and its stop bit. */
const CALL_BIT = 1 << 11;
const CALL_STOP = 1 << 30;

/** `raw`: one word each way. `call`: smp_call_function's lines (CALL_MODEL). */
export type PingPongShape = 'raw' | 'call';
/** PING value that tells the responder to exit. */
export const PINGPONG_STOP = -1;
/** Spins between clock reads in a wait: a clock read per spin would slow the round trip itself. */
const SPINS_PER_DEADLINE_CHECK = 1 << 20;

export type PingPongRole = 'initiator' | 'responder';

/** workerData of a ping-pong worker. */
export interface PingPongTask {
  role: PingPongRole;
  shape: PingPongShape;
  words: SharedArrayBuffer;
  warmupRoundTrips: number;
  roundTrips: number;
  /** A wait longer than this (ms) names the stuck peer and ends the worker. */
  deadlineMs: number;
}

/** What a ping-pong worker posts when it is done. */
export type PingPongMessage =
  | { kind: 'samples'; samplesNs: Float64Array }
  | { kind: 'stopped'; echoed: number };

export function isPingPongTask(v: unknown): v is PingPongTask {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Record<string, unknown>;
  return (t.role === 'initiator' || t.role === 'responder') && (t.shape === 'raw' || t.shape === 'call') && t.words instanceof SharedArrayBuffer &&
    typeof t.warmupRoundTrips === 'number' && typeof t.roundTrips === 'number' && typeof t.deadlineMs === 'number';
}

export function isPingPongMessage(v: unknown): v is PingPongMessage {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  return (m.kind === 'samples' && m.samplesNs instanceof Float64Array) || (m.kind === 'stopped' && typeof m.echoed === 'number');
}

/** Runs `task.role` to completion and returns the message to post. Worker thread. */
export function runPingPongRole(task: PingPongTask): PingPongMessage {
  const words = new Int32Array(task.words);
  switch (task.role) {
    case 'initiator': return { kind: 'samples', samplesNs: task.shape === 'call' ? initiateCall(words, task) : initiate(words, task) };
    case 'responder': return { kind: 'stopped', echoed: task.shape === 'call' ? respondCall(words, task) : respond(words, task) };
    default: {
      const never: never = task.role;
      return never;
    }
  }
}

function initiate(words: Int32Array, task: PingPongTask): Float64Array {
  const { PING, PONG } = PINGPONG;
  const samples = timeRoundTrips(
    words, task, 'answer from the responder to round trip',
    // ORDERING: pairs with the responder's Atomics.load(PING) in its spin.
    (i) => Atomics.store(words, PING, i),
    // ORDERING: pairs with the responder's Atomics.store(PONG, i): round trip i is complete.
    (i) => Atomics.load(words, PONG) === i,
  );
  // ORDERING: pairs with the responder's Atomics.load(PING): it sees STOP and exits.
  Atomics.store(words, PING, PINGPONG_STOP);
  return samples;
}

/**
 * The initiator's measured loop, both shapes: once the responder is spinning, round trip i is
 * `send(i)` and then a spin until `answered(i)` (with the watchdog naming `awaited` and i).
 * Two callbacks rather than one returning a closure: nothing is allocated per round trip. Each sample is the time from the previous round trip's end
 * to this one's, so it includes one clock read, as pvemu's own samples do.
 */
function timeRoundTrips(
  words: Int32Array,
  task: PingPongTask,
  awaited: string,
  send: (i: number) => void,
  answered: (i: number) => boolean,
): Float64Array {
  awaitReady(words, task);
  const total = task.warmupRoundTrips + task.roundTrips;
  const samples = new Float64Array(task.roundTrips);
  let spins = 0;
  let prev = performance.now();
  for (let i = 1; i <= total; i++) {
    send(i);
    while (!answered(i)) {
      if (++spins % SPINS_PER_DEADLINE_CHECK === 0 && performance.now() - prev > task.deadlineMs) {
        throw new WatchdogError(`ping-pong initiator: no ${awaited} ${i} within ${task.deadlineMs} ms`);
      }
    }
    const now = performance.now();
    if (i > task.warmupRoundTrips) samples[i - task.warmupRoundTrips - 1] = (now - prev) * 1e6;
    prev = now;
  }
  return samples;
}

function respond(words: Int32Array, task: PingPongTask): number {
  const { READY, PING, PONG } = PINGPONG;
  // ORDERING: pairs with the initiator's Atomics.load(READY) before its first PING.
  Atomics.store(words, READY, 1);
  let seen = 0;
  let spins = 0;
  let since = performance.now();
  for (;;) {
    // ORDERING: pairs with the initiator's Atomics.store(PING, i).
    const ping = Atomics.load(words, PING);
    if (ping === PINGPONG_STOP) return seen;
    if (ping !== seen) {
      seen = ping;
      // ORDERING: pairs with the initiator's spin on Atomics.load(PONG).
      Atomics.store(words, PONG, ping);
      since = performance.now();
    } else if (++spins % SPINS_PER_DEADLINE_CHECK === 0 && performance.now() - since > task.deadlineMs) {
      throw new WatchdogError(`ping-pong responder: no ping from the initiator after round trip ${seen} within ${task.deadlineMs} ms`);
    }
  }
}

/** Spin until the responder says it is spinning. */
function awaitReady(words: Int32Array, task: PingPongTask): void {
  const deadline = performance.now() + task.deadlineMs;
  let spins = 0;
  // ORDERING: pairs with the responder's Atomics.store(READY, 1).
  while (Atomics.load(words, PINGPONG.READY) === 0) {
    if (++spins % SPINS_PER_DEADLINE_CHECK === 0 && performance.now() > deadline) {
      throw new WatchdogError(`ping-pong initiator: the responder did not start within ${task.deadlineMs} ms`);
    }
  }
}

/** The `call` shape's initiator: fill the CSD, queue it, post the IPI, wait for the acknowledgement. */
function initiateCall(words: Int32Array, task: PingPongTask): Float64Array {
  const { PENDING, QUEUE, CSD_FLAGS, CSD_FIELDS, FIELDS } = CALL_MODEL;
  const samples = timeRoundTrips(
    words, task, 'acknowledgement from the responder to call',
    (i) => {
      for (let f = 0; f < FIELDS; f++) words[CSD_FIELDS + f] = i + f;
      Atomics.store(words, CSD_FLAGS, 1);
      // ORDERING: the CAS publishes the CSD; pairs with the responder's exchange of QUEUE.
      Atomics.compareExchange(words, QUEUE, 0, i);
      // ORDERING: the IPI; pairs with the responder's exchange of PENDING.
      Atomics.or(words, PENDING, CALL_BIT);
    },
    // ORDERING: pairs with the responder's Atomics.store(CSD_FLAGS, 0), the acknowledgement.
    () => Atomics.load(words, CSD_FLAGS) === 0,
  );
  Atomics.or(words, PENDING, CALL_STOP);
  return samples;
}

/** The `call` shape's responder: take the IPI, take the queue, read the CSD, acknowledge. */
function respondCall(words: Int32Array, task: PingPongTask): number {
  const { PENDING, QUEUE, CSD_FLAGS, CSD_FIELDS, FIELDS } = CALL_MODEL;
  Atomics.store(words, PINGPONG.READY, 1);
  let calls = 0;
  let spins = 0;
  let since = performance.now();
  for (;;) {
    // ORDERING: the poll; pairs with the initiator's Atomics.or of PENDING.
    if (Atomics.load(words, PENDING) === 0) {
      if (++spins % SPINS_PER_DEADLINE_CHECK === 0 && performance.now() - since > task.deadlineMs) {
        throw new WatchdogError(`ping-pong responder: no call from the initiator after call ${calls} within ${task.deadlineMs} ms`);
      }
      continue;
    }
    if ((Atomics.exchange(words, PENDING, 0) & CALL_STOP) !== 0) return calls;
    // ORDERING: llist_del_all; pairs with the initiator's compareExchange of QUEUE.
    const queued = Atomics.exchange(words, QUEUE, 0);
    // The call's fields, written before the CAS that queued it, are visible now: the first is
    // the call's number, as the queue entry is.
    let fields = 0;
    for (let f = 0; f < FIELDS; f++) fields += words[CSD_FIELDS + f]! - f;
    if (queued === 0 || fields !== queued * FIELDS) {
      throw new InternalError(`ping-pong responder: call ${queued} found fields summing to ${fields}, not ${queued * FIELDS}`);
    }
    // ORDERING: the acknowledgement; pairs with the initiator's spin on CSD_FLAGS.
    Atomics.store(words, CSD_FLAGS, 0);
    calls++;
    since = performance.now();
  }
}
