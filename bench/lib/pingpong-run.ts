/**
 * Main side of the raw Atomics ping-pong: start the two workers, collect the initiator's
 * samples, and terminate both if either is stuck, naming it. Main thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InternalError, WatchdogError } from '../../src/lib/errors.js';
import { PINGPONG, isPingPongMessage, type PingPongMessage, type PingPongRole, type PingPongShape, type PingPongTask } from './pingpong-protocol.js';

/**
 * The compiled worker entry, dist/bench/workers/pingpong.js: beside this file's dist/bench/lib/
 * when it runs built, or in the build output when it runs as TypeScript under the test runner
 * (workers must run compiled JavaScript).
 */
function workerPath(): string {
  for (const url of [new URL('../workers/pingpong.js', import.meta.url), new URL('../../dist/bench/workers/pingpong.js', import.meta.url)]) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new InternalError('the ping-pong worker is not built: run `npm run build` (npm install does it)');
}

export interface PingPongRun {
  /** What goes back and forth (PingPongShape): one word each way, or smp_call_function's lines. */
  shape: PingPongShape;
  warmupRoundTrips: number;
  roundTrips: number;
  /** Whole run limit in ms, and each worker's limit for one wait. */
  deadlineMs: number;
}

/** Round-trip samples in host ns, one per measured round trip. */
export async function runPingPong(run: PingPongRun): Promise<Float64Array> {
  const words = new SharedArrayBuffer(PINGPONG.WORDS * 4);
  const path = workerPath();
  const start = (role: PingPongRole): Worker => {
    const task: PingPongTask = { role, words, ...run };
    // SharedArrayBuffers go in workerData, never a transfer list: both workers share this one.
    return new Worker(path, { workerData: task });
  };
  const workers: Record<PingPongRole, Worker> = { responder: start('responder'), initiator: start('initiator') };
  const done: Record<PingPongRole, boolean> = { responder: false, initiator: false };
  let timer: NodeJS.Timeout | undefined;
  try {
    const [samples] = await Promise.race([
      Promise.all([finished(workers.initiator, 'initiator', done), finished(workers.responder, 'responder', done)]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const stuck = (['initiator', 'responder'] as const).filter((r) => !done[r]).join(' and ');
          reject(new WatchdogError(`ping-pong: the ${stuck} did not finish within ${run.deadlineMs} ms`));
        }, run.deadlineMs);
      }),
    ]);
    if (samples.kind !== 'samples') throw new InternalError(`ping-pong: the initiator posted ${samples.kind}`);
    return samples.samplesNs;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    await Promise.all([workers.initiator.terminate(), workers.responder.terminate()]);
  }
}

/** The one message a worker posts, or its error; marks it done. */
function finished(worker: Worker, role: PingPongRole, done: Record<PingPongRole, boolean>): Promise<PingPongMessage> {
  return new Promise((resolve, reject) => {
    worker.once('message', (m: unknown) => {
      done[role] = true;
      if (isPingPongMessage(m)) resolve(m);
      else reject(new InternalError(`ping-pong ${role}: unexpected message ${JSON.stringify(m)}`));
    });
    worker.once('error', (e: Error) => {
      done[role] = true;
      reject(e);
    });
    worker.once('exit', (code: number) => {
      if (!done[role]) reject(new InternalError(`ping-pong ${role}: exited with code ${code} before reporting`));
    });
  });
}
