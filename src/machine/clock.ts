/**
 * The pv_time_ops clock, main thread: publishes every vCPU's pvclock record with the seqlock
 * protocol and delivers LAPIC timer interrupts at the rate each vCPU programmed (HZ). One
 * timer on the main event loop drives it; vCPUs never wait for it except when halted.
 */
import { APIC_BUS_HZ, APIC_LVT_MASKED, APIC_LVT_TIMER_PERIODIC, ApicBus } from '../hw/apic.js';
import { hostNowNs } from '../lib/host-clock.js';
import { VCPU_BLOCK, vcpuBase } from '../hw/layout.js';
import { PvclockWriter } from '../hw/pvclock.js';

/** The finest tick Node timers keep. */
const MIN_TICK_MS = 1;

export class MachineClock {
  private readonly writer: PvclockWriter;
  private readonly bus: ApicBus;
  /** Next timer deadline per vCPU, host ns (0 = not armed). */
  private readonly deadlines: number[];
  private timer: NodeJS.Timeout | undefined;
  /** Timer interrupts delivered, per vCPU. */
  readonly ticksDelivered: number[];

  /**
   * `tickMs`: how often the clock runs — the guest's timer period (1000/HZ ms) by default, so the
   * main thread wakes no more often than the guest's own ticks; never below 1 ms.
   */
  constructor(private readonly words: Int32Array, private readonly cpus: number, private readonly tickMs = MIN_TICK_MS) {
    this.writer = new PvclockWriter(words, hostNowNs());
    this.bus = new ApicBus(words, cpus);
    this.deadlines = new Array<number>(cpus).fill(0);
    this.ticksDelivered = new Array<number>(cpus).fill(0);
  }

  /** Publish the first records (before any vCPU runs) and start ticking. */
  start(): void {
    for (let c = 0; c < this.cpus; c++) this.writer.update(c);
    this.timer = setInterval(() => this.tick(), Math.max(MIN_TICK_MS, this.tickMs));
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = hostNowNs();
    for (let c = 0; c < this.cpus; c++) {
      this.writer.update(c);
      const b = vcpuBase(c);
      // ORDERING: pairs with the owner's Atomics.store of its timer registers (LocalApic.write).
      const lvt = Atomics.load(this.words, b + VCPU_BLOCK.lvtTimer);
      const count = Atomics.load(this.words, b + VCPU_BLOCK.timerInitialCount) >>> 0;
      if ((lvt & APIC_LVT_MASKED) !== 0 || count === 0 || (lvt & 0xff) === 0) {
        this.deadlines[c] = 0;
        continue;
      }
      const divide = Math.max(1, Atomics.load(this.words, b + VCPU_BLOCK.timerDivide));
      const periodNs = (count * divide * 1e9) / APIC_BUS_HZ;
      if (this.deadlines[c] === 0) {
        this.deadlines[c] = now + periodNs;
        continue;
      }
      // Within half a clock tick counts as due: the next tick would be later still.
      if (now < this.deadlines[c]! - this.tickMs * 5e5) continue;
      this.bus.raise(c, lvt & 0xff, false);
      this.ticksDelivered[c]!++;
      // Periodic: next deadline one period on (skipping missed ones, as a late host would).
      if ((lvt & APIC_LVT_TIMER_PERIODIC) !== 0) {
        const next = this.deadlines[c]! + periodNs;
        this.deadlines[c] = next > now ? next : now + periodNs;
      } else {
        Atomics.store(this.words, b + VCPU_BLOCK.timerInitialCount, 0);
        this.deadlines[c] = 0;
      }
    }
  }
}
