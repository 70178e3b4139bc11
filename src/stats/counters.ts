/**
 * Exact event counts kept by one vCPU (docs/architecture.md, "Measurement"). Each vCPU worker owns one
 * `VcpuCounters` in worker-local memory and increments plain fields on its hot paths (no
 * Atomics: nobody else reads them until the worker hands a snapshot to the main thread).
 */

export class VcpuCounters {
  /** Workload operations completed by tasks on this vCPU (the throughput figure). */
  ops = 0;

  /** Shootdowns initiated here: calls of pv_mmu_ops.flushTlbOthers. */
  shootdowns = 0;
  /** CPUs named in those calls' masks, summed. */
  shootdownTargets = 0;
  /** Guest IPIs those shootdowns sent. */
  shootdownIpis = 0;
  /** Targets not interrupted because they were lazy (or, later, preempted): flushed on next switch-in. */
  shootdownDeferred = 0;

  /** IPIs this vCPU sent (ICR writes and sendIpiMask destinations). */
  ipisSent = 0;
  /**
   * IPIs this vCPU addressed to a CPU that does not exist: dropped, never sent (the local
   * APIC's ESR send-accept error; a short count from KVM's PV send-IPI).
   */
  ipiSendErrors = 0;
  /**
   * IPIs this vCPU sent that found the same vector already posted to the target and not yet
   * taken: merged into that one, as two sends of one vector before the target looks are on x86.
   */
  ipisCoalesced = 0;
  /** IPIs that reached this vCPU's IRR (and were handled from it). */
  ipisHandled = 0;
  /** Remote flush requests this vCPU served and acknowledged. */
  flushRequestsHandled = 0;
  /** smp_call_function requests this vCPU queued to others. */
  callRequestsSent = 0;
  /** smp_call_function requests this vCPU ran. */
  callRequestsHandled = 0;

  tlbHits = 0;
  tlbMisses = 0;
  tlbWalks = 0;
  tlbFlushesFull = 0;
  tlbFlushesSingle = 0;
  tlbFlushesGlobal = 0;
  /** --check: TLB hits on a translation its completed shootdown should have removed. */
  coherenceViolations = 0;

  /** Page faults taken (every kind). */
  pageFaults = 0;
  /** Faults resolved by mapping a fresh zeroed frame. */
  faultsDemandZero = 0;
  /** Faults that became a SIGSEGV for the task (bad address or protection). */
  faultsSegv = 0;
  /** User accesses whose translation named memory outside guest RAM: SIGBUS. */
  machineChecks = 0;
  /** Faults on a file mapping past the end of its file: SIGBUS. */
  faultsSigbus = 0;

  syscalls = 0;
  timerInterrupts = 0;
  contextSwitches = 0;
  /** Times this vCPU entered safeHalt with nothing to run. */
  halts = 0;
  /** Lazy-TLB switch-ins that found the mm's tlb_gen ahead and flushed. */
  lazyFlushes = 0;
  // --- hypervisor: what the backend did on this vCPU's behalf ---
  /** Trapping operations (a privileged op or a write-protected page-table write that exits). */
  traps = 0;
  /** Hypercalls issued. */
  hypercalls = 0;
  /** Entries (updates, flush targets) carried by those hypercalls. */
  hypercallEntries = 0;
  /** VM exits by reason (src/hw/cost.ts VmExitReason). */
  vmexitHypercall = 0;
  vmexitCr3 = 0;
  vmexitInvlpg = 0;
  vmexitApic = 0;
  vmexitPtWrite = 0;
  vmexitHiddenFault = 0;
  vmexitHalt = 0;
  vmexitPreemption = 0;
  /** Page-table pins and unpins the hypervisor carried out (Xen's MMUEXT_PIN_L*_TABLE / UNPIN_TABLE). */
  pins = 0;
  unpins = 0;
  /** Requests the hypervisor refused (bad frame type, foreign frame, ...). */
  rejected = 0;
  /** Flushes owed to this vCPU while it was not running, done when it next ran. */
  deferredFlushes = 0;
  /** Shadow page-table entries resynchronised from guest tables. */
  shadowSyncs = 0;
  /** Shadow misses filled from the guest tables (faults the guest never saw). */
  hiddenFaults = 0;
  /** Modelled cycles (cost table x events), all of this vCPU's. */
  modeledCycles = 0;
  /** --clock virtual: times this vCPU handed the turn to another (src/hw/vtime.ts); 0 in host time. */
  turnHandOvers = 0;

  /** Tasks killed by a fault nothing resolved (SIGSEGV not caught by the program). */
  tasksKilled = 0;
  framesAllocated = 0;
  framesFreed = 0;
}

export type CounterName = {
  [K in keyof VcpuCounters]: VcpuCounters[K] extends number ? K : never;
}[keyof VcpuCounters];

/** A plain-object copy, safe to post between threads. */
export type CounterSnapshot = Record<CounterName, number>;

export function snapshotCounters(c: VcpuCounters): CounterSnapshot {
  return { ...c };
}

export function sumCounters(all: readonly CounterSnapshot[]): CounterSnapshot {
  const total = snapshotCounters(new VcpuCounters());
  for (const one of all) {
    for (const key of Object.keys(total) as CounterName[]) total[key] += one[key];
  }
  return total;
}
