/**
 * pvclock: the per-vCPU time record the hypervisor publishes and the guest reads without a
 * trap (pvclock_vcpu_time_info, arch/x86/include/asm/pvclock-abi.h), and the steal-time record (kvm_steal_time).
 *
 * Writer: the main-thread clock (`PvclockWriter`), on every tick. Reader: the owning vCPU
 * (`PvclockReader`), from pv_time_ops.schedClock. Seqlock protocol, as KVM's:
 *
 *   writer: version += 1 (odd) ; write fields ; version += 1 (even)
 *   reader: v1 = version ; read fields ; v2 = version ; retry unless v1 == v2 and v1 is even
 *
 *   time = system_time + (((tsc - tsc_timestamp) << shift or >> -shift) * mul) >> 32
 *
 * All fields use Atomics so the reader's field loads cannot move outside the two version loads.
 */
import { PVCLOCK, STEAL_TIME, VCPU_BLOCK, vcpuBase } from './layout.js';
import { hostNowNs } from '../lib/host-clock.js';
import { readTsc, TSC_KHZ } from './clock.js';
import { WatchdogError } from '../lib/errors.js';

export const PVCLOCK_TSC_STABLE_BIT = 1;
export const PVCLOCK_GUEST_STOPPED = 2;
/** KVM steal-time preempted byte (arch/x86/include/uapi/asm/kvm_para.h). */
export const KVM_VCPU_PREEMPTED = 1 << 0;
export const KVM_VCPU_FLUSH_TLB = 1 << 1;

const TWO32 = 4294967296;
/** A reader that sees an odd version this many times in a row names the stuck writer. */
const SEQLOCK_RETRY_LIMIT = 10_000_000;

/**
 * tsc_to_system_mul and tsc_shift for a TSC of `tscKhz`, as kvm_get_time_scale computes them:
 * ns = ((tsc shifted by shift) * mul) >> 32, with mul < 2^32.
 */
export function timeScale(tscKhz: number): { mul: number; shift: number } {
  // ns per cycle = 1e6 / tscKhz; find shift so that mul = ratio * 2^(32 - shift) fits in 32 bits.
  const ratio = 1e6 / tscKhz;
  let shift = 0;
  let scaled = ratio;
  while (scaled >= 1) { scaled /= 2; shift++; }
  while (scaled < 0.5) { scaled *= 2; shift--; }
  return { mul: Math.floor(scaled * TWO32), shift };
}

/** (delta * mul) >> 32 exactly for delta < 2^40 and mul < 2^32, without BigInt. */
function mulShr32(delta: number, mul: number): number {
  const hi = Math.floor(mul / 65536);
  const lo = mul % 65536;
  return Math.floor((delta * hi) / 65536 + (delta * lo) / TWO32);
}

function split(words: Int32Array, at: number, value: number): void {
  Atomics.store(words, at, value % TWO32 | 0);
  Atomics.store(words, at + 1, Math.floor(value / TWO32) | 0);
}

function join(words: Int32Array, at: number): number {
  return (Atomics.load(words, at) >>> 0) + (Atomics.load(words, at + 1) >>> 0) * TWO32;
}

/** Main thread: publishes every vCPU's pvclock and steal-time records. */
export class PvclockWriter {
  private readonly scale = timeScale(TSC_KHZ);

  constructor(
    private readonly words: Int32Array,
    /** Host ns at machine boot: guest system_time counts from here. */
    private readonly bootHostNs: number,
  ) {}

  /**
   * Refresh cpu's record from the current host time (the hypervisor's kvm_guest_time_update),
   * or from `tsc` (virtual time: 0 at the machine's start, with bootHostNs 0).
   */
  update(cpu: number, flags = PVCLOCK_TSC_STABLE_BIT, tsc = readTsc()): void {
    const at = vcpuBase(cpu) + VCPU_BLOCK.pvclock;
    const systemTime = Math.floor((tsc * 1e6) / TSC_KHZ - this.bootHostNs);
    // ORDERING: odd version first; pairs with the reader's first version load.
    Atomics.add(this.words, at + PVCLOCK.version, 1);
    split(this.words, at + PVCLOCK.tscTimestampLo, tsc);
    split(this.words, at + PVCLOCK.systemTimeLo, systemTime);
    Atomics.store(this.words, at + PVCLOCK.tscToSystemMul, this.scale.mul | 0);
    Atomics.store(this.words, at + PVCLOCK.shiftFlags, (this.scale.shift & 0xff) | ((flags & 0xff) << 8));
    // ORDERING: even version last; pairs with the reader's second version load.
    Atomics.add(this.words, at + PVCLOCK.version, 1);
  }

  /** Add `deltaNs` to cpu's steal time (steal-time seqlock, same protocol). */
  addSteal(cpu: number, deltaNs: number): void {
    const at = vcpuBase(cpu) + VCPU_BLOCK.stealTime;
    Atomics.add(this.words, at + STEAL_TIME.version, 1);
    split(this.words, at + STEAL_TIME.stealLo, join(this.words, at + STEAL_TIME.stealLo) + Math.round(deltaNs));
    Atomics.add(this.words, at + STEAL_TIME.version, 1);
  }

  /** Host ns, for callers that schedule the next update. */
  now(): number {
    return hostNowNs();
  }
}

/** Owning vCPU: reads its pvclock record (pv_time_ops.schedClock) and steal time. */
export class PvclockReader {
  private readonly at: number;
  private readonly stealAt: number;
  /** Last value returned: schedClock never goes backwards on this vCPU. */
  private last = 0;

  constructor(private readonly words: Int32Array, readonly cpu: number) {
    this.at = vcpuBase(cpu) + VCPU_BLOCK.pvclock;
    this.stealAt = vcpuBase(cpu) + VCPU_BLOCK.stealTime;
  }

  /** Guest nanoseconds since machine boot, or -1 before the clock published a record. */
  read(): number {
    const w = this.words;
    const at = this.at;
    for (let tries = 0; ; tries++) {
      // ORDERING: pairs with PvclockWriter.update's version increments (seqlock).
      const v1 = Atomics.load(w, at + PVCLOCK.version);
      if (v1 === 0) return -1;
      if ((v1 & 1) === 0) {
        const tscTs = join(w, at + PVCLOCK.tscTimestampLo);
        const sys = join(w, at + PVCLOCK.systemTimeLo);
        const mul = Atomics.load(w, at + PVCLOCK.tscToSystemMul) >>> 0;
        const shift = (Atomics.load(w, at + PVCLOCK.shiftFlags) << 24) >> 24; // s8
        const tsc = readTsc();
        const v2 = Atomics.load(w, at + PVCLOCK.version);
        if (v1 === v2) {
          let delta = Math.max(0, tsc - tscTs);
          delta = shift < 0 ? Math.floor(delta / 2 ** -shift) : delta * 2 ** shift;
          const t = sys + mulShr32(delta, mul);
          if (t > this.last) this.last = t;
          return this.last;
        }
      }
      if (tries > SEQLOCK_RETRY_LIMIT) {
        throw new WatchdogError(`cpu ${this.cpu}: pvclock record stuck at odd version ${v1}; the clock writer stopped mid-update`);
      }
    }
  }

  /** Steal time in ns (time this vCPU was runnable but not running). */
  steal(): number {
    const w = this.words;
    for (;;) {
      // ORDERING: pairs with PvclockWriter.addSteal's version increments.
      const v1 = Atomics.load(w, this.stealAt + STEAL_TIME.version);
      const steal = join(w, this.stealAt + STEAL_TIME.stealLo);
      const v2 = Atomics.load(w, this.stealAt + STEAL_TIME.version);
      if (v1 === v2 && (v1 & 1) === 0) return steal;
    }
  }
}
