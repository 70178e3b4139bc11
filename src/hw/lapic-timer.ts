/**
 * The LAPIC timer's deadline arithmetic, for whoever plays the timer: the main thread's clock in
 * host time (src/machine/clock.ts, every vCPU), a vCPU's own virtual clock in virtual time
 * (src/hw/virtual-clock.ts, itself only). It reads the timer registers the owning vCPU programs
 * (LVT timer, initial count, divide) from the machine block; the caller raises the vector.
 */
import { APIC_BUS_HZ, APIC_LVT_MASKED, APIC_LVT_TIMER_PERIODIC } from './apic.js';
import { VCPU_BLOCK, vcpuBase } from './layout.js';

export class LapicTimer {
  /** The next deadline, in the caller's ns (0: not armed). */
  deadlineNs = 0;
  private readonly base: number;

  constructor(private readonly words: Int32Array, readonly cpu: number) {
    this.base = vcpuBase(cpu);
  }

  /**
   * The timer at `nowNs`: the vector to raise if a deadline is due (within `slackNs` of it),
   * else -1. Arms the first deadline one period after the timer is first seen programmed;
   * periodic timers re-arm one period on (skipping missed periods, as a late host would),
   * one-shot timers disarm and clear their count.
   */
  due(nowNs: number, slackNs: number): number {
    const b = this.base;
    // ORDERING: pairs with the owner's Atomics.store of its timer registers (LocalApic.write).
    const lvt = Atomics.load(this.words, b + VCPU_BLOCK.lvtTimer);
    const count = Atomics.load(this.words, b + VCPU_BLOCK.timerInitialCount) >>> 0;
    if ((lvt & APIC_LVT_MASKED) !== 0 || count === 0 || (lvt & 0xff) === 0) {
      this.deadlineNs = 0;
      return -1;
    }
    const divide = Math.max(1, Atomics.load(this.words, b + VCPU_BLOCK.timerDivide));
    const periodNs = (count * divide * 1e9) / APIC_BUS_HZ;
    if (this.deadlineNs === 0) {
      this.deadlineNs = nowNs + periodNs;
      return -1;
    }
    if (nowNs < this.deadlineNs - slackNs) return -1;
    if ((lvt & APIC_LVT_TIMER_PERIODIC) !== 0) {
      const next = this.deadlineNs + periodNs;
      this.deadlineNs = next > nowNs ? next : nowNs + periodNs;
    } else {
      // ORDERING: pairs with the owner's Atomics.load of its count (a one-shot timer has fired).
      Atomics.store(this.words, b + VCPU_BLOCK.timerInitialCount, 0);
      this.deadlineNs = 0;
    }
    return lvt & 0xff;
  }
}
