/**
 * Host time. Any thread.
 *
 * `hostNowNs` is CLOCK_MONOTONIC in nanoseconds, comparable across worker threads: each thread
 * anchors the cheap per-thread `performance.now()` to `process.hrtime` once, at module load,
 * with the best of several bracketed readings (clockOffsetNs).
 */
import { performance } from 'node:perf_hooks';

/** Samples clockOffsetNs takes; it keeps the one read in the shortest window. */
const OFFSET_SAMPLES = 32;

/**
 * This thread's performance.now() (ms) to host monotonic ns (process.hrtime, common to all
 * threads): hrtime read between two performance.now() reads, the pair closest together of
 * OFFSET_SAMPLES tries. One pair is not enough on a busy host: a thread preempted between its
 * two reads is off by the time it lost (tens of µs were seen here), which shows as IPIs handled
 * before they were sent. It allocates (BigInt): call it once per thread, not on a hot path.
 */
export function clockOffsetNs(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < OFFSET_SAMPLES; i++) {
    const before = performance.now();
    const host = Number(process.hrtime.bigint());
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      offset = host - ((before + after) / 2) * 1e6;
    }
  }
  return offset;
}

const offsetNs = clockOffsetNs();

/** Monotonic host nanoseconds (fractional), consistent across threads to well under 1 µs. */
export function hostNowNs(): number {
  return offsetNs + performance.now() * 1e6;
}
