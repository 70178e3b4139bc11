/**
 * The pv_time_ops clock, main thread: publishes every vCPU's pvclock record with the seqlock
 * protocol and delivers LAPIC timer interrupts at the rate each vCPU programmed (HZ). One
 * timer on the main event loop drives it; vCPUs never wait for it except when halted.
 */
import { ApicBus } from '../hw/apic.js';
import { hostNowNs } from '../lib/host-clock.js';
import { LapicTimer } from '../hw/lapic-timer.js';
import { PVCLOCK_TSC_STABLE_BIT, PvclockWriter } from '../hw/pvclock.js';

/** The finest tick Node timers keep. */
const MIN_TICK_MS = 1;

export class MachineClock {
  private readonly writer: PvclockWriter;
  private readonly bus: ApicBus;
  /** Each vCPU's LAPIC timer, played in host time. */
  private readonly timers: LapicTimer[];
  private timer: NodeJS.Timeout | undefined;
  /** Timer interrupts delivered, per vCPU. */
  readonly ticksDelivered: number[];

  /**
   * `tickMs`: how often the clock runs — the guest's timer period (1000/HZ ms) by default, so the
   * main thread wakes no more often than the guest's own ticks; never below 1 ms.
   * `virtual` (--clock virtual): the records count from cycle 0 of the machine and the clock does
   * not tick; each vCPU plays its own timer in its own time (src/hw/virtual-clock.ts).
   */
  constructor(words: Int32Array, private readonly cpus: number, private readonly tickMs = MIN_TICK_MS, private readonly virtual = false) {
    this.writer = new PvclockWriter(words, virtual ? 0 : hostNowNs());
    this.bus = new ApicBus(words, cpus);
    this.timers = Array.from({ length: cpus }, (_, c) => new LapicTimer(words, c));
    this.ticksDelivered = new Array<number>(cpus).fill(0);
  }

  /** Publish the first records (before any vCPU runs) and start ticking. */
  start(): void {
    for (let c = 0; c < this.cpus; c++) {
      if (this.virtual) this.writer.update(c, PVCLOCK_TSC_STABLE_BIT, 0);
      else this.writer.update(c);
    }
    if (!this.virtual) this.timer = setInterval(() => this.tick(), Math.max(MIN_TICK_MS, this.tickMs));
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = hostNowNs();
    for (let c = 0; c < this.cpus; c++) {
      this.writer.update(c);
      // Within half a clock tick counts as due: the next tick would be later still.
      const vector = this.timers[c]!.due(now, this.tickMs * 5e5);
      if (vector < 0) continue;
      this.bus.raise(c, vector, false);
      this.ticksDelivered[c]!++;
    }
  }
}
