/**
 * The `soak` case's memory lens: samples of the process's memory after a full garbage
 * collection, taken between machine runs, and the judgement of their growth from the second
 * minute to the end. Sampling after a forced collection measures what is retained — a finished
 * machine's 256 MiB of guest RAM is garbage the moment its workers are gone, and without the
 * collection a sample would show it or not depending on when V8 last collected. Main thread.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { median } from './samples.js';

/** process.memoryUsage() at one moment of the soak, bytes. */
export interface MemorySample {
  /** Seconds since the soak started. */
  atSeconds: number;
  rss: number;
  heapUsed: number;
  external: number;
  /**
   * ArrayBuffer and SharedArrayBuffer backing stores. Node 20 counts guest RAM (a
   * SharedArrayBuffer) here but not in `external` (measured: 260 MiB here, 6 MiB external,
   * during a run), so a retained guest RAM shows in this figure.
   */
  arrayBuffers: number;
}

export type MemoryMetric = 'rss' | 'heapUsed' | 'externalAndArrayBuffers';

/** The figures the growth target is judged on, with their labels. */
export const MEMORY_METRICS: readonly { metric: MemoryMetric; label: string }[] = [
  { metric: 'rss', label: 'rss' },
  { metric: 'heapUsed', label: 'heapUsed' },
  { metric: 'externalAndArrayBuffers', label: 'external + arrayBuffers' },
];

export function metricValue(s: MemorySample, m: MemoryMetric): number {
  switch (m) {
    case 'rss': return s.rss;
    case 'heapUsed': return s.heapUsed;
    case 'externalAndArrayBuffers': return s.external + s.arrayBuffers;
    default: {
      const never: never = m;
      return never;
    }
  }
}

/** The target: memory may grow by at most this much, in percent, from the second minute to the end. */
export const GROWTH_LIMIT_PCT = 10;
/** The baseline is taken from here on (the start of the second minute): the first minute warms up (JIT, pools, caches). */
export const BASELINE_FROM_SECONDS = 60;
/** A soak shorter than this is not judged: it has no second minute to compare with. */
export const MIN_JUDGED_SECONDS = 120;
/** Samples whose median makes each end of the comparison: one sample may catch a transient. */
export const WINDOW_SAMPLES = 3;

/** The median of each metric over a few samples, and when they were taken. */
export interface MemoryWindow {
  fromSeconds: number;
  toSeconds: number;
  samples: number;
  values: Record<MemoryMetric, number>;
}

export type MemoryJudgement =
  | { judged: false; reason: string }
  | { judged: true; baseline: MemoryWindow; final: MemoryWindow; growthPct: Record<MemoryMetric, number> };

function window(samples: readonly MemorySample[]): MemoryWindow {
  const values = {} as Record<MemoryMetric, number>;
  for (const { metric } of MEMORY_METRICS) values[metric] = median(samples.map((s) => metricValue(s, metric)));
  return { fromSeconds: samples[0]?.atSeconds ?? Number.NaN, toSeconds: samples[samples.length - 1]?.atSeconds ?? Number.NaN, samples: samples.length, values };
}

/**
 * Growth from the second minute to the end: the median of the first WINDOW_SAMPLES samples
 * taken at or after BASELINE_FROM_SECONDS against the median of the last WINDOW_SAMPLES (fewer
 * on each side when there are not enough for two disjoint windows). Not judged when the soak
 * lasted less than MIN_JUDGED_SECONDS or has fewer than two samples after its first minute.
 * Pure.
 */
export function judgeMemoryGrowth(samples: readonly MemorySample[], elapsedSeconds: number): MemoryJudgement {
  if (elapsedSeconds < MIN_JUDGED_SECONDS) {
    return { judged: false, reason: `the soak lasted ${(elapsedSeconds / 60).toFixed(2)} min; the target needs at least ${MIN_JUDGED_SECONDS / 60}` };
  }
  const later = samples.filter((s) => s.atSeconds >= BASELINE_FROM_SECONDS).sort((a, b) => a.atSeconds - b.atSeconds);
  const k = Math.min(WINDOW_SAMPLES, Math.floor(later.length / 2));
  if (k < 1) return { judged: false, reason: `${later.length} memory sample(s) after the first minute; the target needs at least 2` };
  const baseline = window(later.slice(0, k));
  const final = window(later.slice(later.length - k));
  const growthPct = {} as Record<MemoryMetric, number>;
  for (const { metric } of MEMORY_METRICS) {
    const b = baseline.values[metric];
    growthPct[metric] = b > 0 ? ((final.values[metric] - b) / b) * 100 : Number.NaN;
  }
  return { judged: true, baseline, final, growthPct };
}

/**
 * A function that runs a full garbage collection: `gc` when node runs with --expose-gc,
 * otherwise one obtained by setting the flag now and reading `gc` from a fresh context (V8
 * installs it on contexts created after the flag is set). Undefined if neither works.
 */
export function garbageCollector(): (() => void) | undefined {
  const existing: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return () => { (existing as () => void)(); };
  setFlagsFromString('--expose-gc');
  const fresh: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  return typeof fresh === 'function' ? () => { (fresh as () => void)(); } : undefined;
}

/**
 * process.memoryUsage() after collecting garbage (when `gc` is given): twice, with a turn of
 * the event loop between, so objects freed by the first pass's weak callbacks (ports,
 * handles) go in the second.
 */
export async function sampleMemory(atSeconds: number, gc: (() => void) | undefined): Promise<MemorySample> {
  if (gc !== undefined) {
    gc();
    await yieldToEventLoop();
    gc();
  }
  const m = process.memoryUsage();
  return { atSeconds, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
