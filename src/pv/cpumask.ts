/**
 * cpumask: a set of up to 64 CPU ids as two 32-bit words — worker-local values, and the same
 * two words when a mask lives in guest memory (mm_cpumask). Any thread.
 */
import type { CpuId } from '../hw/types.js';

export class CpuMask {
  constructor(public lo = 0, public hi = 0) {}

  static of(...cpus: number[]): CpuMask {
    const m = new CpuMask();
    for (const c of cpus) m.set(c);
    return m;
  }

  static all(cpus: number): CpuMask {
    const m = new CpuMask();
    for (let c = 0; c < cpus; c++) m.set(c);
    return m;
  }

  set(cpu: number): void {
    if (cpu < 32) this.lo |= 1 << cpu;
    else this.hi |= 1 << (cpu - 32);
  }

  clear(cpu: number): void {
    if (cpu < 32) this.lo &= ~(1 << cpu);
    else this.hi &= ~(1 << (cpu - 32));
  }

  has(cpu: number): boolean {
    return cpu < 32 ? ((this.lo >>> cpu) & 1) === 1 : ((this.hi >>> (cpu - 32)) & 1) === 1;
  }

  isEmpty(): boolean {
    return this.lo === 0 && this.hi === 0;
  }

  count(): number {
    return popcount(this.lo) + popcount(this.hi);
  }

  assign(lo: number, hi: number): this {
    this.lo = lo | 0;
    this.hi = hi | 0;
    return this;
  }

  copyFrom(other: CpuMask): this {
    return this.assign(other.lo, other.hi);
  }

  /** Lowest CPU id in the mask at or after `from`, or -1. Iterate: for (c = m.next(0); c >= 0; c = m.next(c + 1)). */
  next(from: number): number {
    for (let c = from; c < 64; c++) {
      const word = c < 32 ? this.lo >>> c : this.hi >>> (c - 32);
      if (word === 0) {
        if (c < 32) { c = 31; continue; }
        return -1;
      }
      if ((word & 1) === 1) return c;
    }
    return -1;
  }

  toArray(): CpuId[] {
    const out: CpuId[] = [];
    for (let c = this.next(0); c >= 0; c = this.next(c + 1)) out.push(c as CpuId);
    return out;
  }

  toString(): string {
    return `{${this.toArray().join(',')}}`;
  }
}

export function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
