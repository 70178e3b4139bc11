/**
 * How much of the host a run got. Host-time figures (elapsed, ops/s, latencies in µs) are only
 * as good as the host's attention: a vCPU thread that waits for a host core looks, to everyone
 * else, like a slow CPU. This measures that attention so a report can say when to distrust it.
 * Any thread; nothing here is on a hot path.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { hostNowNs } from './host-clock.js';

/**
 * The calling thread's scheduler statistics since it started: time on a host core and time
 * runnable but waiting for one (Linux's /proc/thread-self/schedstat, CONFIG_SCHED_INFO:
 * Documentation/scheduler/sched-stats.rst). Undefined where the kernel does not offer it.
 */
export interface ThreadSchedStat {
  onCpuNs: number;
  runqueueNs: number;
}

export function threadSchedStat(): ThreadSchedStat | undefined {
  try {
    const [onCpu, runqueue] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    if (onCpu === undefined || runqueue === undefined || !Number.isFinite(onCpu) || !Number.isFinite(runqueue)) return undefined;
    return { onCpuNs: onCpu, runqueueNs: runqueue };
  } catch {
    return undefined;
  }
}

/** What a thread's scheduler statistics grew by from `start` to `end` (undefined if either is). */
export function schedStatSince(start: ThreadSchedStat | undefined, end: ThreadSchedStat | undefined): ThreadSchedStat | undefined {
  if (start === undefined || end === undefined) return undefined;
  return { onCpuNs: end.onCpuNs - start.onCpuNs, runqueueNs: end.runqueueNs - start.runqueueNs };
}

/** The host's 1-minute load average (runnable and uninterruptible tasks, decayed); 0 where not offered. */
export function loadAverage1m(): number {
  return loadavg()[0] ?? 0;
}

/**
 * Busy time of every host CPU together since boot, ns: /proc/stat's first line (user, nice,
 * system, irq, softirq and steal, in USER_HZ ticks, which Linux fixes at 100 for user space:
 * Documentation/filesystems/proc.rst). Undefined where there is no /proc/stat.
 */
export function hostBusyNs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    const busy = [user, nice, system, irq, softirq, steal];
    if (!line.startsWith('cpu ') || busy.some((x) => x === undefined || !Number.isFinite(x))) return undefined;
    return (busy as number[]).reduce((n, x) => n + x, 0) * NS_PER_USER_HZ_TICK;
  } catch {
    return undefined;
  }
}

/** USER_HZ is 100 on Linux: one tick of /proc/stat is 10 ms. */
const NS_PER_USER_HZ_TICK = 10_000_000;

/** One measured stretch of the process's life: a run, or a bench case. */
export interface HostUsage {
  /** ISO 8601 time the stretch began. */
  startedAt: string;
  /** Its host wall time, ns. */
  wallNs: number;
  /** CPU time (user plus system) of the whole process, every thread, over the stretch, ns. */
  cpuNs: number;
  /** The host's 1-minute load average as the stretch began and as it ended. */
  loadBefore: number;
  loadAfter: number;
  /**
   * CPU time every other process on the host used over the stretch, ns (all CPUs' busy time less
   * this process's; absent without /proc/stat). Unlike the load average it leaves out this
   * process, and a run just before this one.
   */
  othersCpuNs?: number;
}

/** Starts measuring at construction; finish() ends it. */
export class HostUsageMeter {
  private readonly startedAt = new Date().toISOString();
  private readonly loadBefore = loadAverage1m();
  private readonly startNs = hostNowNs();
  private readonly cpuStart = process.cpuUsage();
  private readonly busyStart = hostBusyNs();

  finish(): HostUsage {
    const cpu = process.cpuUsage(this.cpuStart);
    const busyEnd = hostBusyNs();
    const cpuNs = (cpu.user + cpu.system) * 1000;
    const usage: HostUsage = {
      startedAt: this.startedAt,
      wallNs: Math.max(0, hostNowNs() - this.startNs),
      cpuNs,
      loadBefore: this.loadBefore,
      loadAfter: loadAverage1m(),
    };
    if (this.busyStart !== undefined && busyEnd !== undefined) usage.othersCpuNs = Math.max(0, busyEnd - this.busyStart - cpuNs);
    return usage;
  }
}
