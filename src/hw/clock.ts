/**
 * Host time and the emulated TSC. Any thread.
 *
 * `hostNowNs` is CLOCK_MONOTONIC in nanoseconds, comparable across worker threads: each thread
 * anchors the cheap per-thread `performance.now()` to `process.hrtime` once, at module load.
 * The TSC is that clock scaled to a nominal frequency, constant and synchronised across vCPUs
 * (an invariant TSC), so pvclock's arithmetic is the real one.
 */
import { performance } from 'node:perf_hooks';

const anchorHrtimeNs = Number(process.hrtime.bigint());
const anchorPerfMs = performance.now();

/** Monotonic host nanoseconds (fractional), consistent across threads to well under 1 µs. */
export function hostNowNs(): number {
  return anchorHrtimeNs + (performance.now() - anchorPerfMs) * 1e6;
}

/**
 * Nominal TSC frequency, 2.0 GHz: the order of the server parts whose published costs the cost
 * model uses (REFERENCE.md quotes Skylake-server VM-exit cycles). pv_time_ops.getCpuKhz reports it.
 */
export const TSC_KHZ = 2_000_000;
const TSC_PER_NS = TSC_KHZ / 1e6;

/** The emulated TSC: whole cycles since host boot. */
export function readTsc(): number {
  return Math.floor(hostNowNs() * TSC_PER_NS);
}
