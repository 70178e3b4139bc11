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
import { WatchdogError } from '../../src/lib/errors.js';

export const PINGPONG = Object.freeze({ READY: 0, PING: 16, PONG: 32, WORDS: 48 });
/** PING value that tells the responder to exit. */
export const PINGPONG_STOP = -1;
/** Spins between clock reads in a wait: a clock read per spin would slow the round trip itself. */
const SPINS_PER_DEADLINE_CHECK = 1 << 20;

export type PingPongRole = 'initiator' | 'responder';

/** workerData of a ping-pong worker. */
export interface PingPongTask {
  role: PingPongRole;
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
  return (t.role === 'initiator' || t.role === 'responder') && t.words instanceof SharedArrayBuffer &&
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
    case 'initiator': return { kind: 'samples', samplesNs: initiate(words, task) };
    case 'responder': return { kind: 'stopped', echoed: respond(words, task) };
    default: {
      const never: never = task.role;
      return never;
    }
  }
}

function initiate(words: Int32Array, task: PingPongTask): Float64Array {
  const { READY, PING, PONG } = PINGPONG;
  const deadline = performance.now() + task.deadlineMs;
  let spins = 0;
  // ORDERING: pairs with the responder's Atomics.store(READY, 1): it is spinning on PING now.
  while (Atomics.load(words, READY) === 0) {
    if (++spins % SPINS_PER_DEADLINE_CHECK === 0 && performance.now() > deadline) {
      throw new WatchdogError(`ping-pong initiator: the responder did not start within ${task.deadlineMs} ms`);
    }
  }
  const total = task.warmupRoundTrips + task.roundTrips;
  const samples = new Float64Array(task.roundTrips);
  let prev = performance.now();
  for (let i = 1; i <= total; i++) {
    // ORDERING: pairs with the responder's Atomics.load(PING) in its spin.
    Atomics.store(words, PING, i);
    // ORDERING: pairs with the responder's Atomics.store(PONG, i): round trip i is complete.
    while (Atomics.load(words, PONG) !== i) {
      if (++spins % SPINS_PER_DEADLINE_CHECK === 0 && performance.now() - prev > task.deadlineMs) {
        throw new WatchdogError(`ping-pong initiator: no answer from the responder to round trip ${i} within ${task.deadlineMs} ms`);
      }
    }
    const now = performance.now();
    if (i > task.warmupRoundTrips) samples[i - task.warmupRoundTrips - 1] = (now - prev) * 1e6;
    prev = now;
  }
  // ORDERING: pairs with the responder's Atomics.load(PING): it sees STOP and exits.
  Atomics.store(words, PING, PINGPONG_STOP);
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
