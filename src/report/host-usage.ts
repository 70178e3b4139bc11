import type { HostUsageReport } from './types.js';
import type { HostUsage } from '../lib/host-usage.js';
import type { VcpuStatsSnapshot } from '../stats/snapshot.js';
/**
 * Whether a run's host-time figures can be trusted: what the host gave the run, and the reasons
 * to doubt it. Main thread.
 *
 * Two reasons, either enough:
 * - measured: a vCPU thread was runnable but waiting for a host core more than
 *   RUNQUEUE_SHARE_UNRELIABLE of the time it could run (schedstat). Its CPU looked that much
 *   slower to the others: a shootdown waiting for it measured the host's scheduler.
 * - crowded: the other processes' load (the cores' worth of CPU they used during the run, or
 *   without /proc/stat the load average before it; rounded to whole threads) plus the vCPU
 *   threads that may run at once (--pcpus, or every vCPU) exceed the host's cores. The load
 *   average alone would count this process too, and a run just before this one.
 */

/**
 * A vCPU thread waiting for a core more than this share of its runnable time makes host time
 * unreliable. Measured on a quiet 2-core host, 2 vCPUs on 2 cores wait 14–26% (the main thread's
 * clock and the runtime's own threads share the cores); beside one CPU-bound process, 51–53%.
 */
export const RUNQUEUE_SHARE_UNRELIABLE = 0.35;

const NS_PER_S = 1e9;

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** The host's figures over a stretch (a run, a bench case), in seconds and cores; no verdict. */
export function hostUsageFigures(usage: HostUsage): HostUsageReport {
  const report: HostUsageReport = {
    loadBefore: usage.loadBefore,
    loadAfter: usage.loadAfter,
    wallSeconds: usage.wallNs / NS_PER_S,
    cpuSeconds: usage.cpuNs / NS_PER_S,
  };
  if (usage.othersCpuNs !== undefined && usage.wallNs > 0) report.othersCores = usage.othersCpuNs / usage.wallNs;
  return report;
}

/** A run's host figures and the reasons (above) to doubt its host time. */
export function hostUsageReport(
  usage: HostUsage,
  perCpu: readonly VcpuStatsSnapshot[],
  run: { cpus: number; pcpus?: number | undefined },
  cores: number,
): HostUsageReport {
  const report = hostUsageFigures(usage);
  const reasons: string[] = [];
  const measured = perCpu.flatMap((s) => (s.sched !== undefined ? [{ cpu: s.cpu, ...s.sched }] : []));
  if (measured.length === perCpu.length && measured.length > 0) {
    const onCpu = measured.reduce((n, s) => n + s.onCpuNs, 0);
    const runqueue = measured.reduce((n, s) => n + s.runqueueNs, 0);
    report.vcpuThreads = { onCpuSeconds: onCpu / NS_PER_S, runqueueSeconds: runqueue / NS_PER_S };
    const share = (s: { onCpuNs: number; runqueueNs: number }): number => (s.onCpuNs + s.runqueueNs > 0 ? s.runqueueNs / (s.onCpuNs + s.runqueueNs) : 0);
    const worst = measured.reduce((a, b) => (share(b) > share(a) ? b : a));
    if (share(worst) > RUNQUEUE_SHARE_UNRELIABLE) {
      reasons.push(`cpu ${worst.cpu}'s thread waited for a host core ${percent(share(worst))} of the time it could run`);
    }
  }
  const threads = Math.min(run.cpus, run.pcpus ?? run.cpus);
  const load = report.othersCores ?? usage.loadBefore;
  const others = Math.round(load);
  if (others + threads > cores) {
    const what = report.othersCores !== undefined ? 'other processes using' : 'a load average of';
    reasons.push(others === 0
      ? `${threads} vCPU threads may run at once on ${cores} host cores`
      : `${what} ${load.toFixed(2)} cores plus ${threads} vCPU thread${threads === 1 ? '' : 's'} exceed${threads === 1 ? 's' : ''} ${cores} host cores`);
  }
  if (reasons.length > 0) report.unreliable = reasons;
  return report;
}

/** The report's one warning line, or undefined when there is no reason to doubt host time. */
export function unreliableWarning(usage: HostUsageReport | undefined, who = 'this run'): string | undefined {
  if (usage?.unreliable === undefined) return undefined;
  return `warning: host-time figures (elapsed, ops/s, µs) are unreliable on ${who}: ${usage.unreliable.join('; ')}`;
}

/** "load 0.02 → 1.10; CPU 3.95 s in 2.10 s wall (1.9 cores); vCPU threads waited 3% for a core". */
export function hostUsageText(u: HostUsageReport): string {
  const cores = u.wallSeconds > 0 ? u.cpuSeconds / u.wallSeconds : 0;
  const parts = [
    `load average ${u.loadBefore.toFixed(2)} before, ${u.loadAfter.toFixed(2)} after`,
    ...(u.othersCores !== undefined ? [`other processes ${u.othersCores.toFixed(2)} cores`] : []),
    `process CPU ${u.cpuSeconds.toFixed(2)} s in ${u.wallSeconds.toFixed(2)} s wall (${cores.toFixed(1)} cores)`,
  ];
  const t = u.vcpuThreads;
  if (t !== undefined) {
    const runnable = t.onCpuSeconds + t.runqueueSeconds;
    parts.push(`vCPU threads on a core ${t.onCpuSeconds.toFixed(2)} s, waiting for one ${t.runqueueSeconds.toFixed(2)} s (${percent(runnable > 0 ? t.runqueueSeconds / runnable : 0)})`);
  }
  return parts.join('; ');
}
