/**
 * Time buckets for the `soak` case's "over time" tables: a soak of any length is shown in at
 * most a dozen columns or rows. Pure functions; main thread.
 */

/** Most buckets a table shows: a long soak's minutes are grouped. */
export const MAX_BUCKETS = 12;

/**
 * Bucket length for a soak of `minutes`, in seconds: a minute (or a whole number of minutes,
 * so that at most MAX_BUCKETS cover the soak); under two minutes, a quarter of the soak, so a
 * short check still shows a trend.
 */
export function bucketSeconds(minutes: number): number {
  if (minutes < 2) return (minutes * 60) / 4;
  return 60 * Math.ceil(minutes / MAX_BUCKETS);
}

/** Buckets covering `seconds` (at least one). */
export function bucketCount(seconds: number, bucketSec: number): number {
  return Math.max(1, Math.ceil(seconds / bucketSec - 1e-9));
}

/** Index of the bucket holding time `atSeconds`; the soak's last moments join the last bucket. */
export function bucketIndex(atSeconds: number, bucketSec: number, buckets: number): number {
  return Math.min(buckets - 1, Math.max(0, Math.floor(atSeconds / bucketSec)));
}

/** "0-1 min", "5-10 min"; "0-15 s" for sub-minute buckets. */
export function bucketLabel(index: number, bucketSec: number): string {
  if (bucketSec % 60 === 0) return `${(index * bucketSec) / 60}-${((index + 1) * bucketSec) / 60} min`;
  const from = Math.round(index * bucketSec);
  const to = Math.round((index + 1) * bucketSec);
  return `${from}-${to} s`;
}

export interface SeriesPoint {
  atSeconds: number;
  /** Which series (one row of the table: a backend/workload pair). */
  key: string;
  value: number;
}

/**
 * The mean of each series in each bucket, series in order of first appearance; NaN where a
 * series has no point in a bucket.
 */
export function bucketMeans(points: readonly SeriesPoint[], bucketSec: number, buckets: number): Map<string, number[]> {
  const sums = new Map<string, { sum: number[]; n: number[] }>();
  for (const p of points) {
    let s = sums.get(p.key);
    if (s === undefined) {
      s = { sum: new Array<number>(buckets).fill(0), n: new Array<number>(buckets).fill(0) };
      sums.set(p.key, s);
    }
    const i = bucketIndex(p.atSeconds, bucketSec, buckets);
    s.sum[i] = (s.sum[i] ?? 0) + p.value;
    s.n[i] = (s.n[i] ?? 0) + 1;
  }
  const out = new Map<string, number[]>();
  for (const [key, s] of sums) out.set(key, s.sum.map((v, i) => ((s.n[i] ?? 0) > 0 ? v / (s.n[i] ?? 1) : Number.NaN)));
  return out;
}
