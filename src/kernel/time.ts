/**
 * The guest's wall clock as the kernel reads it (ktime_get_real_ts64): pv_time_ops' wallclock
 * seconds with sched_clock's nanoseconds within the second. clock_gettime(CLOCK_REALTIME) and
 * the file system's timestamps both read it, so a file's mtime agrees with what a program reads
 * from the clock. Runs on any vCPU worker.
 */
import type { PvOps } from '../pv/ops.js';

export interface Timespec {
  sec: number;
  nsec: number;
}

/** The wall-clock time now. */
export function realtime(ops: PvOps): Timespec {
  return { sec: ops.time.getWallclock(), nsec: ops.time.schedClock() % 1e9 };
}

/** The wall-clock time now in ns (a double: exact to the microsecond, as CLOCK_REALTIME needs here). */
export function realtimeNs(ops: PvOps): number {
  const t = realtime(ops);
  return t.sec * 1e9 + t.nsec;
}
