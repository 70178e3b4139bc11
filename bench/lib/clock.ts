/**
 * The cost of one performance.now() read on this host. Every latency sample here and in pvemu's
 * histograms spans about one clock read, so at sub-microsecond scale the clock is part of what
 * is measured; cases print it beside the figures. Any thread.
 */
import { performance } from 'node:perf_hooks';

/** Reads per measurement: enough that the loop's own start and end reads vanish. */
const READS = 1_000_000;
/** Best of this many: the first pass may still run unoptimised code. */
const PASSES = 3;

/** Host ns per performance.now() call, best of PASSES passes of READS calls. */
export function clockReadNs(): number {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    for (let i = 0; i < READS; i++) sink += performance.now();
    best = Math.min(best, ((performance.now() - t0) * 1e6) / READS);
  }
  // The sum is used, so the loop cannot be dropped as dead code.
  return sink > 0 ? best : Number.NaN;
}
