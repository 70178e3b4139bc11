/**
 * Native pv_time_ops. sched_clock reads this vCPU's pvclock record, which the main-thread clock
 * publishes for every backend (the emulator's platform clock); steal time is zero natively.
 * vCPU worker.
 */
import type { BackendContext } from '../backend.js';
import type { PvTimeOps } from '../../pv/ops.js';
import { TSC_KHZ } from '../../hw/clock.js';
import type { Nanoseconds } from '../../hw/types.js';

export function nativeTime(ctx: BackendContext): PvTimeOps {
  const { hw } = ctx;
  /** RTC offset set by setWallclock, in seconds. */
  let rtcOffset = 0;
  return {
    timeInit: () => {},
    getWallclock: () => Math.floor(Date.now() / 1000) + rtcOffset,
    setWallclock: (seconds) => {
      rtcOffset = seconds - Math.floor(Date.now() / 1000);
      return 0;
    },
    schedClock: () => Math.max(0, hw.pvclock.read()) as Nanoseconds,
    getCpuKhz: () => TSC_KHZ,
    stealClock: () => 0 as Nanoseconds,
  };
}
