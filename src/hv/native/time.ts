/**
 * Native pv_time_ops. sched_clock reads this vCPU's pvclock record, which the main-thread clock
 * publishes for every backend (the emulator's platform clock); steal time is this vCPU's
 * steal-time record, which the overcommit scheduler (src/machine/sched) charges for every backend —
 * it stays 0 when every vCPU has a CPU. vCPU worker.
 */
import type { BackendContext } from '../backend.js';
import type { PvTimeOps } from '../../pv/ops.js';
import { TSC_KHZ } from '../../hw/clock.js';
import { PvclockReader } from '../../hw/pvclock.js';
import type { Nanoseconds } from '../../hw/types.js';

export function nativeTime(ctx: BackendContext): PvTimeOps {
  const { hw } = ctx;
  /** Readers of other CPUs' steal-time records, made on first use. */
  const others: PvclockReader[] = [];
  const stealReader = (cpu: number): PvclockReader => (others[cpu] ??= new PvclockReader(hw.machineWords, cpu));
  /** RTC offset set by setWallclock, in seconds. */
  let rtcOffset = 0;
  /** The RTC: the host's, or in virtual time a fixed epoch plus the vCPU's modelled time. */
  const vclock = hw.vclock;
  const wall = vclock === null ? () => Math.floor(Date.now() / 1000) : () => vclock.wallSeconds;
  return {
    timeInit: () => {},
    getWallclock: () => wall() + rtcOffset,
    setWallclock: (seconds) => {
      rtcOffset = seconds - wall();
      return 0;
    },
    schedClock: () => Math.max(0, hw.pvclock.read()) as Nanoseconds,
    getCpuKhz: () => TSC_KHZ,
    // paravirt_steal_clock(cpu) reads that CPU's steal-time record, kept by the hypervisor
    // (kvm_steal_clock reads per_cpu(steal_time, cpu)).
    stealClock: (cpu) => (cpu === hw.cpu ? hw.pvclock : stealReader(cpu)).steal() as Nanoseconds,
  };
}
