/**
 * Exact percentiles of a sample array (host ns), for measurements taken in bench code rather
 * than by pvemu's HDR histograms. Any thread.
 */

export interface SampleSummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Nearest-rank percentiles, rounded to whole ns as pvemu's reports are (the clock resolves
 * no finer); sorts a copy. All fields are NaN for no samples.
 */
export function summarize(samples: Float64Array): SampleSummary {
  const n = samples.length;
  if (n === 0) return { count: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = Float64Array.from(samples).sort();
  const rank = (q: number): number => Math.round(sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] ?? Number.NaN);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i] ?? 0;
  return { count: n, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: Math.round(sorted[n - 1] ?? Number.NaN), mean: Math.round(sum / n) };
}

/** Median of a few figures (repetitions of a throughput loop). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
