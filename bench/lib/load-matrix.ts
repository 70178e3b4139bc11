/**
 * The run matrix of the `load` and `soak` cases: which machines they boot (vCPU count ×
 * workload × backend), how many physical CPUs the hypervisor scheduler gives each, and how long
 * the whole matrix may take. Pure functions; main thread.
 */

/** One machine run of the matrix. */
export interface LoadRunSpec {
  backend: string;
  workload: string;
  cpus: number;
  /** Physical CPUs of the overcommit scheduler (absent: every vCPU thread runs at will). */
  pcpus?: number;
}

export interface LoadMatrixOptions {
  /** vCPU counts, outermost loop. */
  cpus: readonly number[];
  workloads: readonly string[];
  /** Innermost loop: a workload's backends run back to back, so their rows sit together. */
  backends: readonly string[];
  /** Physical CPUs of the overcommit scheduler for runs with more vCPUs than that; 0: never. */
  pcpus: number;
}

/**
 * The overcommit scheduler's physical CPUs for a run of `cpus` vCPUs: `pcpus` when the vCPUs
 * outnumber it, none otherwise (0: never). The load and soak cases default `pcpus` to the host's
 * cores, for two reasons. Without the scheduler, 64 vCPU threads take turns on 2 cores under the
 * host's scheduler, invisibly to the guest: no vCPU is ever PREEMPTED in its steal-time record,
 * so KVM's PV flush and Xen's deferred flush never take their preempted-target paths — the
 * paths overcommit exists to show, left untested at scale. With it, at most `pcpus` vCPUs run
 * at once in 3 ms slices and the rest park PREEMPTED, which is what a guest under a real
 * hypervisor sees. Measured with the load case at 64 vCPUs, 5 s of work, on the 2-core VM:
 * kvm tlb_flush1 273 ops/s with --pcpus 2 against 16.5 without (its PV flush skips the parked
 * targets); native tlb_flush1 76 against 72 and mprotect 5.6 against 8.2 (it waits for every
 * target either way). Conservation held in all of them.
 */
export function overcommitPcpus(cpus: number, pcpus: number): number | undefined {
  return pcpus > 0 && cpus > pcpus ? pcpus : undefined;
}

/** Every vCPU count × workload × backend, in that nesting order. */
export function expandLoadMatrix(o: LoadMatrixOptions): LoadRunSpec[] {
  const runs: LoadRunSpec[] = [];
  for (const cpus of o.cpus) {
    const pcpus = overcommitPcpus(cpus, o.pcpus);
    for (const workload of o.workloads) {
      for (const backend of o.backends) runs.push(pcpus === undefined ? { backend, workload, cpus } : { backend, workload, cpus, pcpus });
    }
  }
  return runs;
}

/**
 * Host seconds a run costs besides its --seconds of work, as the budget allows for them: the
 * workers' start-up and the guest's boot before the clock starts, the stop, and the teardown.
 * Each vCPU is a worker thread that loads the compiled emulator, and boot brings the APs up one
 * at a time, so the cost grows with the vCPUs. Measured on the 2-core VM these cases were
 * written on, with other work keeping its load average between 5 and 38: 1 to 2 s at 4 vCPUs,
 * 9 to 14 s of boot and 10 to 40 s in all at 64. Generous on purpose: a run that does not fit
 * what is left of the budget is skipped, never cut short.
 */
export const RUN_FIXED_OVERHEAD_S = 2;
export const RUN_OVERHEAD_PER_VCPU_S = 0.3;

export function runOverheadSeconds(cpus: number): number {
  return RUN_FIXED_OVERHEAD_S + RUN_OVERHEAD_PER_VCPU_S * cpus;
}

/** Seconds a run is expected to take at most: its work plus its overhead. */
export function runBudgetSeconds(spec: LoadRunSpec, seconds: number): number {
  return seconds + runOverheadSeconds(spec.cpus);
}

/** Seconds the whole matrix may take: the sum of its runs' budgets. */
export function matrixBudgetSeconds(runs: readonly LoadRunSpec[], seconds: number): number {
  return runs.reduce((t, r) => t + runBudgetSeconds(r, seconds), 0);
}

/** "native/tlb_flush1/64" (and "/64on2" under the overcommit scheduler): a run's name in messages. */
export function runLabel(spec: LoadRunSpec): string {
  return `${spec.backend}/${spec.workload}/${spec.cpus}${spec.pcpus !== undefined ? `on${spec.pcpus}` : ''}`;
}

/** Minutes and seconds, for the plan and progress lines ("9 min 36 s", "45 s"). */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m === 0 ? `${s} s` : `${m} min ${s % 60} s`;
}
