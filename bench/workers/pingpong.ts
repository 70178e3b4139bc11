/**
 * Worker entry of the raw Atomics ping-pong (bench/lib/pingpong-protocol.ts): read the task,
 * run the role, post the result. Runs on each ping-pong worker thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InternalError } from '../../src/lib/errors.js';
import { isPingPongTask, runPingPongRole } from '../lib/pingpong-protocol.js';

if (parentPort === null || !isPingPongTask(workerData)) {
  throw new InternalError('bench/workers/pingpong.js must be started as a worker with a PingPongTask');
}
parentPort.postMessage(runPingPongRole(workerData));
