/**
 * A workload's shared control block in guest user memory, and the view of it each thread holds.
 * The init task maps the block and passes its address to every thread it clones; the block is
 * in the process's (shared) address space, so every thread on every vCPU sees the same words.
 *
 *   word 0   threads        word 1  started (start barrier)   word 2  failures
 *   word 3   ops quota for the whole run (--ops; 0 = until stop)   word 4  ops counted against it
 *   words 16..16+MAX_THREADS   child tids (CLONE_CHILD_CLEARTID words, joined with futex)
 *   words 128..                the workload's own words (ctx.word(i))
 */
import type { Sys } from './sys.js';
import type { WorkloadParam } from './params.js';
import { workloadRandom, type Xorshift32 } from '../lib/prng.js';

export const CTL_THREADS = 0;
export const CTL_STARTED = 1;
export const CTL_FAILURES = 2;
export const CTL_QUOTA = 3;
export const CTL_OPS_DONE = 4;
export const CTL_TIDS = 16;
export const MAX_THREADS = 96;
export const CTL_WORKLOAD = 128;
/** Bytes of the control block (two pages). */
export const CTL_BYTES = 8192;
/** Words a workload may use: the rest of the block. */
export const CTL_WORKLOAD_WORDS = CTL_BYTES / 4 - CTL_WORKLOAD;

/** Failures printed per thread; more are only counted. */
const MAX_PRINTED_FAILURES = 3;

/** What a context needs of the run's configuration (the harness's HarnessConfig has it all). */
export interface ContextConfig {
  readonly cpus: number;
  /** --param values given; the rest take the workload's defaults. */
  readonly params: Readonly<Record<string, number>>;
  readonly workload: { readonly params: readonly WorkloadParam[] };
  /** The run's seed (--seed). */
  readonly seed: number;
}

export class WorkloadContext {
  /** The run's --ops, shared by every thread and process of the workload; 0: until stop. */
  private readonly quota: number;
  private printed = 0;

  readonly cpus: number;
  private readonly params: Readonly<Record<string, number>>;
  private readonly spec: readonly WorkloadParam[];
  private readonly seed: number;

  constructor(
    readonly sys: Sys,
    /** User address of the control block. */
    readonly base: number,
    cfg: ContextConfig,
  ) {
    this.cpus = cfg.cpus;
    this.params = cfg.params;
    this.spec = cfg.workload.params;
    this.seed = cfg.seed;
    this.quota = base === 0 ? 0 : sys.atomicLoad32(base + CTL_QUOTA * 4);
  }

  /** Thread `index`'s pseudo-random stream under the run's --seed (src/lib/prng.ts). */
  random(index: number): Xorshift32 {
    return workloadRandom(this.seed, index);
  }

  /** A workload parameter (--param name=value), or its default. */
  param(name: string): number {
    const v = this.params[name];
    if (v !== undefined) return v;
    const p = this.spec.find((s) => s.name === name);
    if (p === undefined) throw new RangeError(`workload has no parameter ${name}`);
    return p.default;
  }

  get threads(): number {
    return this.sys.atomicLoad32(this.base + CTL_THREADS * 4);
  }

  /** User address of the workload's word i. */
  word(i: number): number {
    if (i < 0 || i >= CTL_WORKLOAD_WORDS) throw new RangeError(`workload word ${i} outside the control block`);
    return this.base + (CTL_WORKLOAD + i) * 4;
  }

  /**
   * Keep going? False once the stop condition fired or the run's --ops have all been counted,
   * by whichever threads count them (some workloads count on one thread while others work).
   */
  running(): boolean {
    if (this.sys.meter.stopRequested()) return false;
    return this.quota === 0 || this.sys.atomicLoad32(this.base + CTL_OPS_DONE * 4) < this.quota;
  }

  /**
   * Count `n` completed operations (the run's throughput figure). Under --ops K only the first K
   * are counted: threads that each saw one op left may finish one more between them, and those
   * are work done past the quota, not part of the figure.
   */
  opDone(n = 1): void {
    if (this.quota === 0) {
      this.sys.meter.opsDone(n);
      return;
    }
    const before = this.sys.atomicAdd32(this.base + CTL_OPS_DONE * 4, n);
    const counted = Math.max(0, Math.min(n, this.quota - before));
    if (counted > 0) this.sys.meter.opsDone(counted);
  }

  /** Record a self-check failure: counted in the control block, printed to the console. */
  fail(message: string): void {
    this.sys.atomicAdd32(this.base + CTL_FAILURES * 4, 1);
    if (this.printed++ < MAX_PRINTED_FAILURES) this.sys.print(`FAIL: ${message}\n`);
  }

  failures(): number {
    return this.sys.atomicLoad32(this.base + CTL_FAILURES * 4);
  }
}
