/**
 * Latency histograms (docs/architecture.md, "Measurement"): host nanoseconds kept in an HDR histogram,
 * 1 ns .. 60 s at 3 significant digits. Each vCPU worker records into its own histograms on its
 * hot paths (one record per shootdown and per remote flush handled); the main thread decodes the
 * workers' snapshots, merges them and reads percentiles when it builds a report.
 *
 * The storage, merge, percentiles and the compressed base64 codec are hdr-histogram-js's pure-JS
 * implementation (not its WASM one, so a worker needs no async initialisation). Only `record`
 * is ours: the library's `recordValue` finds the bucket with Math.log2 and Math.pow, about
 * 105 ns a value (Node 20, 10^7 records, on the machine this was written on), a real share of
 * an emulated shootdown. `record` computes the same counts-array index with Math.clz32 and a
 * shift and then uses the library's own public increment: about 10 ns on the same machine. The constructor checks the library's layout is the one that
 * index arithmetic assumes, and histogram.test.ts checks both paths give identical histograms.
 */
import * as hdr from 'hdr-histogram-js';
import { InternalError } from '../lib/errors.js';
import type { EncodedHistogram } from './snapshot.js';

/** Smallest recordable latency, in host ns: the clock's resolution is no better. */
export const HISTOGRAM_MIN_NS = 1;
/**
 * Largest recordable latency, in host ns: 60 s, far beyond any watchdog limit (the CLI allows
 * at most 600 s of watchdog, but a wait that long has already failed the run).
 */
export const HISTOGRAM_MAX_NS = 60_000_000_000;
/** 3 significant digits: values are resolved to within 0.1 %. */
const SIGNIFICANT_DIGITS = 3;

/*
 * The library's layout for lowest value 1 and 3 significant digits: sub-buckets of 2048 slots
 * (the power of two at or above 2 * 10^3), of which bucket 0 uses all and every later bucket
 * the upper half; bucket k covers [2^(k+10), 2^(k+11)) in steps of 2^k.
 */
const SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10;
const SUB_BUCKET_HALF_COUNT = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const TWO_POW_32 = 4_294_967_296;

/**
 * The library's `countsArrayIndex(v)` for an integer v in [1, HISTOGRAM_MAX_NS], without
 * floating-point logarithms: floor(log2 v) comes from Math.clz32 on the high or low 32 bits.
 */
function countsIndex(v: number): number {
  const msb = v < TWO_POW_32 ? 31 - Math.clz32(v) : 63 - Math.clz32(Math.floor(v / TWO_POW_32));
  const bucket = msb > SUB_BUCKET_HALF_COUNT_MAGNITUDE ? msb - SUB_BUCKET_HALF_COUNT_MAGNITUDE : 0;
  // `>>>` is exact below 2^32; above it (latencies over 4.3 s) divide instead.
  const subBucket = v < TWO_POW_32 ? v >>> bucket : Math.floor(v / 2 ** bucket);
  return ((bucket + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + (subBucket - SUB_BUCKET_HALF_COUNT);
}

/** Percentiles in host ns; every field is 0 for an empty histogram. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  count: number;
  mean: number;
}

function newHdr(): hdr.JsHistogram {
  const h = hdr.build({
    lowestDiscernibleValue: HISTOGRAM_MIN_NS,
    highestTrackableValue: HISTOGRAM_MAX_NS,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    // 64-bit (float) counts: exact to 2^53, where 32-bit ones could wrap in an hour-long run.
    bitBucketSize: 64,
    autoResize: false,
    useWebAssembly: false,
  });
  if (
    !(h instanceof hdr.JsHistogram) ||
    h.unitMagnitude !== 0 ||
    h.subBucketHalfCountMagnitude !== SUB_BUCKET_HALF_COUNT_MAGNITUDE ||
    h.countsArrayIndex(HISTOGRAM_MAX_NS) !== countsIndex(HISTOGRAM_MAX_NS) ||
    h.countsArrayLength <= countsIndex(HISTOGRAM_MAX_NS)
  ) {
    throw new InternalError('hdr-histogram-js layout differs from the one LatencyHistogram.record assumes');
  }
  return h;
}

export class LatencyHistogram {
  private readonly h: hdr.JsHistogram;

  constructor() {
    this.h = newHdr();
  }

  /**
   * Owning thread only (histograms are never shared). Records one latency in host ns, clamped
   * to [1 ns, 60 s] and rounded to a whole ns; NaN records as 1 ns rather than throwing on a
   * hot path.
   */
  record(ns: number): void {
    const v = ns >= HISTOGRAM_MIN_NS ? (ns <= HISTOGRAM_MAX_NS ? Math.round(ns) : HISTOGRAM_MAX_NS) : HISTOGRAM_MIN_NS;
    const h = this.h;
    h.incrementCountAtIndex(countsIndex(v));
    h.incrementTotalCount();
    h.updateMinAndMax(v);
  }

  /** Number of values recorded (or added). */
  get count(): number {
    return this.h.totalCount;
  }

  /** Compressed base64 (HdrHistogram V2), safe to post between threads or store in JSON. */
  encode(): EncodedHistogram {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(encoded: EncodedHistogram): LatencyHistogram {
    let decoded: hdr.Histogram;
    try {
      decoded = hdr.decodeFromCompressedBase64(encoded, 64, false);
    } catch (err) {
      throw new InternalError(`cannot decode latency histogram: ${err instanceof Error ? err.message : String(err)}`);
    }
    // Adding into a fresh histogram normalises whatever layout the encoding carried to ours.
    const out = new LatencyHistogram();
    out.addHdr(decoded);
    return out;
  }

  /** Adds every value of `other` to this histogram. */
  add(other: LatencyHistogram): void {
    this.addHdr(other.h);
  }

  private addHdr(other: hdr.Histogram): void {
    if (other.totalCount === 0) return;
    if (!(other instanceof hdr.JsHistogram)) {
      throw new InternalError('latency histogram is not a pure-JS HDR histogram');
    }
    if (other.maxValue > this.h.highestEquivalentValue(HISTOGRAM_MAX_NS)) {
      throw new InternalError(`latency histogram holds ${other.maxValue} ns, beyond the ${HISTOGRAM_MAX_NS} ns limit`);
    }
    this.h.add(other);
  }

  /** Percentiles within HDR precision (0.1 %), whole ns except `mean`. */
  percentiles(): LatencyPercentiles {
    const h = this.h;
    if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, max: 0, count: 0, mean: 0 };
    return {
      p50: h.getValueAtPercentile(50),
      p90: h.getValueAtPercentile(90),
      p99: h.getValueAtPercentile(99),
      max: h.maxValue,
      count: h.totalCount,
      mean: h.mean,
    };
  }
}
